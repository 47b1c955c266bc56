"""Entity-relationship diagrams generated from models: Mermaid or Graphviz DOT.

    from store.erd import erd, write_erd_docs
    print(erd(MODELS))                                  # Mermaid erDiagram
    print(erd(MODELS, format="dot", title="dental"))    # Graphviz digraph
    write_erd_docs({"dental": dental.MODELS}, "docs/ERD.md")

The diagram describes the models, not a live database, so it is the same for
SQLite and PostgreSQL and needs no connection. Column types are store's
portable names, one per field kind:

* ``UUIDField``: ``uuid``; ``JSONField``: ``json``; ``TextField``: ``text``
* ``CharField(max_length=n)``: ``varchar(n)``
* ``EnumField(E)``: the enum class name (``UserRole``), values in the comment
* ``DecimalField(p, s)``: ``decimal(p,s)``; ``DateTimeTZField``: ``timestamptz``
* integers: ``integer``, ``bigint``, ``smallint``; auto keys ``serial``/``bigserial``
* others: ``boolean``, ``real``, ``double``, ``date``, ``timestamp``, ...
* ``ForeignKeyField``: the referenced column's type (``integer`` for a serial key)

Markers: ``PK`` primary key (each column of a composite key), ``FK`` foreign
key, ``UK`` unique on its own (``unique=True`` or a one-column unique index
without WHERE); a column in a multi-column unique key says so in its comment.
``NOT NULL`` is written in the comment of every non-nullable column (Mermaid
has no nullability syntax), with ``references <table>.<col>`` (and the
ON DELETE/ON UPDATE action when one is declared) for a foreign key.

One relationship per foreign key, from the referenced (parent) table to the
referencing (child) table, labelled with the FK column. Parent side: exactly
one (``||``) when the FK is NOT NULL, zero or one (``|o``) when it is
nullable. Child side: zero or more (``o{``), or zero or one (``o|``) when the
FK is unique (one-to-one). The line is solid (identifying) when the FK
column is part of the child's primary key, dashed otherwise. DOT draws the
same with crow's-foot arrows (``tee``, ``odot``, ``crow``).

Output is deterministic: tables sorted by name, columns in model order,
relationships sorted by (parent, child, column), so a checked-in file can be
compared with a fresh rendering. A table referenced from outside the model
set is drawn without columns. Mermaid entity names that its lexer reads as
syntax (``class``, ``end``, ``one``, ...) or that are not plain identifiers
are double-quoted.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import peewee

from .errors import ConfigError
from .fields import DecimalField, EnumField

__all__ = ["erd", "render_erd_docs", "write_erd_docs", "column_type", "describe",
           "ErdColumn", "ErdTable", "ErdRelation", "FORMATS"]

FORMATS = ("mermaid", "dot")


# --- the neutral description --------------------------------------------------------

@dataclass(frozen=True)
class ErdColumn:
    name: str
    type: str
    nullable: bool
    primary_key: bool = False
    foreign_key: bool = False
    unique: bool = False
    notes: tuple = ()          # comment parts after NOT NULL

    @property
    def markers(self) -> tuple:
        return tuple(m for m, on in (("PK", self.primary_key), ("FK", self.foreign_key),
                                     ("UK", self.unique)) if on)

    @property
    def comment(self) -> str:
        parts = (() if self.nullable else ("NOT NULL",)) + self.notes
        return "; ".join(parts)


@dataclass(frozen=True)
class ErdTable:
    name: str
    columns: tuple


@dataclass(frozen=True)
class ErdRelation:
    parent: str
    child: str
    column: str            # the FK column in ``child``
    ref_column: str        # the referenced column in ``parent``
    nullable: bool         # parent side: zero or one instead of exactly one
    unique: bool           # child side: zero or one (one-to-one) instead of many
    identifying: bool      # the FK column is part of the child's primary key

    def sort_key(self):
        return (self.parent, self.child, self.column)


_TYPE_NAMES = {
    "INT": "integer", "BIGINT": "bigint",
    "SMALLINT": "smallint", "BOOL": "boolean", "FLOAT": "real", "DOUBLE": "double",
    "TEXT": "text", "UUID": "uuid", "UUIDB": "uuid", "TIMESTAMPTZ": "timestamptz",
    "DATETIME": "timestamp", "DATE": "date", "TIME": "time", "JSON": "json",
    "BLOB": "blob", "BINARY": "blob", "IP": "bigint", "BITFIELD": "bigint",
}
_KEY_TYPES = {"serial": "integer", "bigserial": "bigint"}


def column_type(field) -> str:
    """The portable type name of ``field`` (see the module docstring)."""
    if isinstance(field, peewee.ForeignKeyField):
        target = column_type(field.rel_field)
        return _KEY_TYPES.get(target, target)
    if isinstance(field, EnumField):
        return field.enum_class.__name__
    if isinstance(field, peewee.BigAutoField):
        return "bigserial"
    if isinstance(field, peewee.AutoField):        # also IdentityField
        return "serial"
    if isinstance(field, (DecimalField, peewee.DecimalField)):
        return f"decimal({field.max_digits},{field.decimal_places})"
    if isinstance(field, peewee.CharField) and field.max_length:
        return f"varchar({int(field.max_length)})"
    if isinstance(field, peewee.CharField):
        return "varchar"
    kind = str(field.field_type or "").upper()
    if kind in _TYPE_NAMES:
        return _TYPE_NAMES[kind]
    name = re.sub(r"[^a-z0-9_(),]+", "_", kind.lower()).strip("_")
    return name or "unknown"


def _unique_keys(meta):
    """(single unique columns, [multi-column unique keys]) of a model."""
    single, multi = set(), []
    for index in meta.fields_to_index():
        if not isinstance(index, peewee.Index) or not index._unique or \
                index._where is not None:
            continue
        exprs = [e.node if isinstance(e, peewee.Ordering) else e
                 for e in index._expressions]
        if not all(isinstance(e, peewee.Field) for e in exprs):
            continue                       # an expression index: not a column key
        cols = tuple(e.column_name for e in exprs)
        if len(cols) == 1:
            single.add(cols[0])
        else:
            multi.append(cols)
    return single, multi


def _primary_key_columns(meta):
    pk = meta.primary_key
    if isinstance(pk, peewee.CompositeKey):
        return tuple(meta.fields[name].column_name for name in pk.field_names)
    if isinstance(pk, peewee.Field):
        return (pk.column_name,)
    return ()


def _fk_note(field):
    note = f"references {field.rel_model._meta.table_name}.{field.rel_field.column_name}"
    for action, value in (("ON DELETE", field.on_delete), ("ON UPDATE", field.on_update)):
        if value:
            note += f" {action} {str(value).upper()}"
    return note


def describe(models):
    """``(tables, relations)``: the models as sorted ``ErdTable``s and
    ``ErdRelation``s, the one structure both formats render."""
    tables, relations = {}, []
    for model in models:
        meta = model._meta
        if getattr(meta, "abstract", False):
            raise ConfigError(f"erd: {model.__name__} is abstract: it has no table")
        name = meta.table_name
        if name in tables:
            raise ConfigError(f"erd: two models share the table name {name!r}")
        pk_cols = _primary_key_columns(meta)
        unique_cols, multi_unique = _unique_keys(meta)
        only_pk = len(pk_cols) == 1
        columns = []
        for field in meta.sorted_fields:
            col = field.column_name
            is_fk = isinstance(field, peewee.ForeignKeyField)
            in_pk = col in pk_cols
            unique = col in unique_cols or bool(field.unique)
            notes = []
            if is_fk:
                notes.append(_fk_note(field))
            if isinstance(field, EnumField):
                notes.append("values: " + ", ".join(m.value for m in field.enum_class))
            for key in multi_unique:
                if col in key:
                    notes.append("unique (" + ", ".join(key) + ")")
            columns.append(ErdColumn(col, column_type(field),
                                     nullable=bool(field.null) and not in_pk,
                                     primary_key=in_pk, foreign_key=is_fk,
                                     unique=unique and not (in_pk and only_pk),
                                     notes=tuple(notes)))
            if is_fk:
                relations.append(ErdRelation(
                    parent=field.rel_model._meta.table_name, child=name, column=col,
                    ref_column=field.rel_field.column_name,
                    nullable=bool(field.null) and not in_pk,
                    unique=unique or (in_pk and only_pk), identifying=in_pk))
        tables[name] = ErdTable(name, tuple(columns))
    return ([tables[n] for n in sorted(tables)],
            sorted(relations, key=ErdRelation.sort_key))


# --- Mermaid ---------------------------------------------------------------------

_MERMAID_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: words Mermaid's erDiagram lexer reads as syntax, not as an entity name
_MERMAID_WORDS = frozenset({"erdiagram", "style", "classdef", "class", "subgraph", "end",
                            "one", "many", "to", "only", "zero", "or", "optionally",
                            "direction", "title", "acctitle", "accdescr"})


def _mermaid_name(name: str) -> str:
    if _MERMAID_NAME.match(name) and name.lower() not in _MERMAID_WORDS:
        return name
    return '"%s"' % name.replace('"', "'")


def _mermaid_text(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")


def mermaid(tables, relations, title=None) -> str:
    lines = []
    if title:
        lines += ["---", f"title: {_mermaid_text(title)}", "---"]
    lines.append("erDiagram")
    for table in tables:
        lines.append(f"    {_mermaid_name(table.name)} {{")
        for col in table.columns:
            line = f"        {col.type} {col.name}"
            if col.markers:
                line += " " + ", ".join(col.markers)
            if col.comment:
                line += f' "{_mermaid_text(col.comment)}"'
            lines.append(line)
        lines.append("    }")
    for rel in relations:
        left = "|o" if rel.nullable else "||"
        right = "o|" if rel.unique else "o{"
        line = "--" if rel.identifying else ".."
        lines.append(f"    {_mermaid_name(rel.parent)} {left}{line}{right} "
                     f'{_mermaid_name(rel.child)} : "{_mermaid_text(rel.column)}"')
    return "\n".join(lines) + "\n"


# --- Graphviz DOT ----------------------------------------------------------------

def _dot_id(text: str) -> str:
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def _html(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def dot(tables, relations, title=None) -> str:
    lines = ["digraph erd {"]
    graph = 'rankdir=LR, fontname="Helvetica"'
    if title:
        graph += f", label={_dot_id(title)}, labelloc=t"
    lines += [f"    graph [{graph}];",
              '    node [shape=plain, fontname="Helvetica", fontsize=10];',
              '    edge [dir=both, fontname="Helvetica", fontsize=9];']
    known = {t.name for t in tables}
    for table in tables:
        rows = [f'<tr><td colspan="4" bgcolor="lightgrey"><b>{_html(table.name)}</b></td></tr>']
        for col in table.columns:
            rows.append(
                f'<tr><td port={_dot_id(col.name)} align="left">{_html(col.name)}</td>'
                f'<td align="left">{_html(col.type)}</td>'
                f'<td align="left">{_html(" ".join(col.markers))}</td>'
                f'<td align="left">{"" if col.nullable else "NOT NULL"}</td></tr>')
        body = "\n        ".join(rows)
        lines.append(f"    {_dot_id(table.name)} [label=<\n"
                     f'      <table border="0" cellborder="1" cellspacing="0" cellpadding="3">\n'
                     f"        {body}\n      </table>>];")
    for name in sorted({r.parent for r in relations} - known):
        lines.append(f"    {_dot_id(name)} [shape=box, style=dashed];")
    for rel in relations:
        head = _dot_id(rel.parent) + (f":{_dot_id(rel.ref_column)}" if rel.parent in known else "")
        tail = _dot_id(rel.child) + f":{_dot_id(rel.column)}"
        attrs = [f"label={_dot_id(rel.column)}",
                 f"arrowhead={'teeodot' if rel.nullable else 'teetee'}",
                 f"arrowtail={'teeodot' if rel.unique else 'crowodot'}"]
        if not rel.identifying:
            attrs.append("style=dashed")
        lines.append(f"    {tail} -> {head} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- entry points ----------------------------------------------------------------

def erd(models, format: str = "mermaid", title: str | None = None) -> str:  # noqa: A002
    """The ERD of ``models`` as Mermaid ``erDiagram`` or Graphviz DOT text."""
    if format not in FORMATS:
        raise ConfigError(f"erd format {format!r} is not one of {', '.join(FORMATS)}")
    from .namespaces import unscoped
    with unscoped(models):      # the declared table names, whatever the binding
        tables, relations = describe(models)
    render = mermaid if format == "mermaid" else dot
    return render(tables, relations, title=title)


DOCS_HEADER = """\
# Entity-relationship diagrams

Generated from the models by `store.erd` (the `erd` command); do not edit by
hand, regenerate. One diagram per app. Types are store's portable names (the
same on SQLite and PostgreSQL); `PK`/`FK`/`UK` mark primary, foreign and
unique keys; the comment says `NOT NULL` and what a foreign key references.
A relationship's parent side is `||` (exactly one) for a NOT NULL foreign key
and `|o` (zero or one) for a nullable one; its child side is `o{` (many), or
`o|` for a unique foreign key (one-to-one). Each is labelled with the FK column.
"""


def render_erd_docs(apps_to_models: dict) -> str:
    """Markdown with one ```mermaid block per app, apps sorted by name."""
    parts = [DOCS_HEADER]
    for app in sorted(apps_to_models):
        parts.append(f"## {app}\n\n```mermaid\n"
                     f"{erd(apps_to_models[app], 'mermaid', title=app)}```\n")
    return "\n".join(parts)


def write_erd_docs(apps_to_models: dict, path) -> bool:
    """Write ``render_erd_docs(apps_to_models)`` to ``path`` (parent folders
    made); returns True when the file changed, False when it was up to date.
    A checker compares ``render_erd_docs(...)`` with the file's text."""
    text = render_erd_docs(apps_to_models)
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return False
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return True
