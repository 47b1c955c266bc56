"""Looking at rows: an HTML table in Jupyter, a text table in a terminal.

    store.table(Forecast.select().where(...))   # a query (runs it, first rows)
    store.table(Forecast)                       # a model: its table's first rows
    store.table(list_of_rows)                   # model instances, dicts, tuples
    store.table(rows, columns=["week", "units"], max_rows=50, max_width=60)

``table()`` returns a ``Table``: ``repr()``/``str()`` is a text table (psql
style), ``_repr_html_()`` an HTML table, so a notebook cell or a terminal
shows it well either way. In IPython (Jupyter, ``python cli.py shell``) a
query on its own also displays as an HTML table: ``import store`` registers
an HTML formatter for peewee queries (``register_ipython``; ``%load_ext
store.display`` does it when store was imported before IPython). Their text
``repr`` stays peewee's (the SQL).

Rows and values:

* A query is run with a LIMIT of ``max_rows + 1`` (never more than its own
  LIMIT): the first ``max_rows`` rows are shown and the footer says when
  there are more, without counting them. A list is shown whole up to
  ``max_rows`` and the footer gives the total.
* Columns are the query's (field names, aliases) or, for model instances,
  the model's fields (a foreign key shows the referenced key).
* Values are shown as the model reads them, the same on both backends:
  JSON columns as JSON with sorted keys (``{"kg": 1.2, "sizes": ["S"]}``;
  PostgreSQL's JSONB does not keep key order, so sorting makes both show
  the same text; a JSON string keeps its quotes, so ``"900"`` and ``900``
  differ), decimals exact
  (``45.00``, never a float, never an exponent), timestamps ISO-8601 with
  their offset, UUIDs canonical, enums by value, SQL NULL as ``NULL``.
* A value longer than ``max_width`` characters is cut with ``…`` (in HTML
  the full text, up to 2,000 characters, is in the cell's tooltip); a
  line break shows as ``↵``. Numbers are right-aligned.
* HTML is escaped (``html.escape``) in cells, tooltips, headers and the
  caption: a value holding ``<script>`` is shown, never run.
"""
from __future__ import annotations

import datetime as dt
import decimal
import enum
import html
import json
import uuid

import peewee

from .rows import Rows, _is_json_field, collect

__all__ = ["Table", "table", "collect", "format_value", "register_ipython",
           "load_ipython_extension", "MAX_ROWS", "MAX_WIDTH"]

MAX_ROWS = 20
MAX_WIDTH = 40
TOOLTIP_CHARS = 2000
NULL = "NULL"
ELLIPSIS = "…"


# --- values ------------------------------------------------------------------------

def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=_json_default)


def _json_default(value):
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def format_value(value, field=None) -> str:
    """``value`` as one line of text, exact and the same on both backends
    (see the module docstring); ``field`` tells a JSON column."""
    if value is None:
        return NULL
    if _is_json_field(field):
        text = _json(value)
    elif isinstance(value, bool):
        text = str(value)
    elif isinstance(value, decimal.Decimal):
        text = format(value, "f")
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, (dt.date, dt.time)):
        text = value.isoformat()
    elif isinstance(value, enum.Enum):
        text = str(value.value)
    elif isinstance(value, uuid.UUID):
        text = str(value)
    elif isinstance(value, (dict, list)):
        text = _json(value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        text = "\\x" + raw.hex()
    elif isinstance(value, peewee.Model):
        text = format_value(value._pk)
    else:
        text = str(value)
    return text.replace("\r\n", "↵").replace("\n", "↵").replace("\r", "↵")


def _clip(text: str, width: int) -> str:
    if width and len(text) > width:
        return text[:max(width - 1, 0)] + ELLIPSIS
    return text


def _numeric(value) -> bool:
    return isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)


# --- the table ---------------------------------------------------------------------

class Table:
    """Rows to look at. ``columns``, ``rows`` (tuples of Python values),
    ``more`` (rows were left out), ``total`` (all rows, None when unknown),
    ``title``; ``str()``/``repr()`` is the text table, ``_repr_html_()``
    (what Jupyter shows) the HTML one."""

    def __init__(self, columns, rows, *, fields=None, more=False, total=None, title=None,
                 max_width: int = MAX_WIDTH):
        self.columns = list(columns)
        self.rows = [tuple(r) for r in rows]
        self.fields = list(fields) if fields is not None else [None] * len(self.columns)
        self.more = more
        self.total = total
        self.title = title
        self.max_width = max_width

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def _cells(self):
        return [[format_value(v, f) for v, f in zip(row, self.fields)] for row in self.rows]

    def footer(self) -> str:
        shown = len(self.rows)
        rows = "row" if shown == 1 else "rows"
        if self.more and self.total is None:
            return f"first {shown} {rows} shown; more not shown"
        if self.more:
            return f"{shown} of {self.total} rows shown"
        return f"{shown} {rows}"

    # text ------------------------------------------------------------------------
    def to_text(self) -> str:
        cells = [[_clip(c, self.max_width) for c in row] for row in self._cells()]
        heads = [_clip(str(c), self.max_width) for c in self.columns]
        widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(heads)]
        right = [any(_numeric(r[i]) for r in self.rows)
                 and all(_numeric(r[i]) or r[i] is None for r in self.rows)
                 for i in range(len(heads))]
        lines = []
        if self.title:
            lines.append(self.title)
        lines.append(" | ".join(h.ljust(w) for h, w in zip(heads, widths)).rstrip())
        lines.append("-+-".join("-" * w for w in widths))
        for row in cells:
            lines.append(" | ".join(c.rjust(w) if r else c.ljust(w)
                                    for c, w, r in zip(row, widths, right)).rstrip())
        lines.append(f"({self.footer()})")
        return "\n".join(lines)

    __str__ = to_text

    def __repr__(self):
        return self.to_text()

    # HTML ------------------------------------------------------------------------
    def to_html(self) -> str:
        esc = html.escape
        out = ['<table class="store-table">']
        caption = esc(self.title + " — " if self.title else "") + esc(self.footer())
        out.append(f"<caption>{caption}</caption>")
        out.append("<thead><tr>" + "".join(f"<th>{esc(str(c))}</th>" for c in self.columns)
                   + "</tr></thead>")
        out.append("<tbody>")
        for row, cells in zip(self.rows, self._cells()):
            tds = []
            for value, text in zip(row, cells):
                attrs = []
                if _numeric(value):
                    attrs.append('style="text-align: right"')
                if value is None:
                    attrs.append('class="store-null"')
                shown = _clip(text, self.max_width)
                if shown != text:
                    attrs.append(f'title="{esc(text[:TOOLTIP_CHARS])}"')
                tds.append(f"<td{' ' if attrs else ''}{' '.join(attrs)}>{esc(shown)}</td>")
            out.append("<tr>" + "".join(tds) + "</tr>")
        out.append("</tbody></table>")
        return "".join(out)

    def _repr_html_(self):
        return self.to_html()

    def to_frame(self, **options):
        """These rows as a pandas DataFrame (see ``store.frames.frame_of``)."""
        from .frames import frame_of
        return frame_of(Rows(self.columns, self.fields, self.rows), **options)


def table(source, *, columns=None, max_rows: int = MAX_ROWS, max_width: int = MAX_WIDTH,
          title: str | None = None) -> Table:
    """A ``Table`` of ``source``'s rows (a query, a model class, a model
    instance, or an iterable of instances/dicts/tuples), at most
    ``max_rows`` of them (``None``: all), values cut at ``max_width``
    characters (``None`` or 0: never). ``columns`` renames the columns
    (required names for plain tuples, else ``1``, ``2``, ...)."""
    if max_rows is not None and (not isinstance(max_rows, int) or max_rows < 0):
        raise ValueError(f"max_rows must be a non-negative integer or None, got {max_rows!r}")
    got = collect(source, limit=max_rows, columns=columns)
    return Table(got.columns, got.rows, fields=got.fields, more=got.more, total=got.total,
                 title=title if title is not None else got.title, max_width=max_width or 0)


# --- IPython ---------------------------------------------------------------------------

def _query_html(query):
    return table(query).to_html()


def register_ipython(shell=None) -> bool:
    """Show peewee queries as HTML tables in this IPython session (or
    ``shell``). Returns False outside IPython. Idempotent."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
        if shell is None:
            return False
    formatter = shell.display_formatter.formatters["text/html"]
    for kind in (peewee.SelectBase, peewee.RawQuery):
        formatter.for_type(kind, _query_html)
    return True


def load_ipython_extension(shell) -> None:
    """``%load_ext store.display``."""
    register_ipython(shell)
