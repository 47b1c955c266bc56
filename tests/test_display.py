"""store.table: the same text and HTML for the same rows on both backends;
exact decimals, readable JSON, escaped HTML, truncation of long values and
many rows; peewee queries shown as HTML tables in IPython."""
from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections import namedtuple
from decimal import Decimal

import pytest

import store
from store.display import Table, collect, format_value, register_ipython


class Mood(enum.Enum):
    CALM = "calm"
    LOUD = "loud"


class Shelf(store.Model):
    name = store.CharField(max_length=50)


class Entry(store.Model):
    shelf = store.ForeignKeyField(Shelf, backref="entries")
    label = store.TextField()
    price = store.DecimalField(15, 2, null=True)
    doc = store.JSONField(null=True)
    mood = store.EnumField(Mood, null=True)
    ref = store.UUIDField(null=True)
    at = store.DateTimeTZField(null=True)
    qty = store.IntegerField(null=True)


REF = uuid.UUID("12345678-1234-5678-1234-567812345678")
AT = dt.datetime(2026, 1, 5, 10, 30, 0, 250000, tzinfo=dt.timezone(dt.timedelta(hours=2)))


@pytest.fixture
def entries(tables):
    tables(Shelf, Entry)
    shelf = Shelf.create(name="top")
    Entry.create(shelf=shelf, label="full", price=Decimal("1234567890123.5"),
                 doc={"z": 1, "a": [True, None, "x"], "n": "900"}, mood=Mood.LOUD, ref=REF,
                 at=AT, qty=7)
    Entry.create(shelf=shelf, label="number", doc=900)
    Entry.create(shelf=shelf, label="string", doc="900")
    Entry.create(shelf=shelf, label="<script>alert('x')</script> & more", qty=-3)
    Entry.create(shelf=shelf, label="two\nlines " + "y" * 80, price=Decimal("0.1"))
    return shelf


def query():
    return Entry.select(Entry.label, Entry.price, Entry.doc, Entry.mood, Entry.ref,
                        Entry.at, Entry.qty).order_by(Entry.id)


def test_text_table_of_a_query(entries):
    """The same text on both backends: columns padded, numbers right-aligned,
    JSON with sorted keys (a JSON string keeps its quotes), NULL, cut values."""
    text = str(store.table(query()))
    assert text.splitlines() == [
        'entry',
        'label                                    | price            | doc                                      | mood | ref                                  | at                               | qty',
        '-----------------------------------------+------------------+------------------------------------------+------+--------------------------------------+----------------------------------+-----',
        'full                                     | 1234567890123.50 | {"a": [true, null, "x"], "n": "900", "z… | loud | 12345678-1234-5678-1234-567812345678 | 2026-01-05 08:30:00.250000+00:00 |    7',
        'number                                   |             NULL | 900                                      | NULL | NULL                                 | NULL                             | NULL',
        'string                                   |             NULL | "900"                                    | NULL | NULL                                 | NULL                             | NULL',
        "<script>alert('x')</script> & more       |             NULL | NULL                                     | NULL | NULL                                 | NULL                             |   -3",
        'two↵lines yyyyyyyyyyyyyyyyyyyyyyyyyyyyy… |             0.10 | NULL                                     | NULL | NULL                                 | NULL                             | NULL',
        '(5 rows)',
    ]
    assert repr(store.table(query())) == text


def test_values_are_exact_and_readable(entries):
    got = collect(query())
    row = dict(zip(got.columns, got.rows[0]))
    fields = dict(zip(got.columns, got.fields))
    assert format_value(row["price"], fields["price"]) == "1234567890123.50"   # no float, no 1E+12
    assert format_value(Decimal("1E+2")) == "100"
    assert format_value(row["doc"], fields["doc"]) == '{"a": [true, null, "x"], "n": "900", "z": 1}'
    assert format_value(row["at"]) == "2026-01-05 08:30:00.250000+00:00"
    assert format_value(row["mood"]) == "loud" and format_value(row["ref"]) == str(REF)
    assert format_value(None) == "NULL" and format_value(b"\x00\xff") == "\\x00ff"
    assert format_value(dt.date(2026, 2, 3)) == "2026-02-03" and format_value(0.2) == "0.2"


def test_many_rows_and_long_values_are_cut(entries):
    first_two = store.table(query(), max_rows=2)
    assert len(first_two) == 2 and first_two.more and first_two.total is None
    assert str(first_two).endswith("(first 2 rows shown; more not shown)")
    assert "first 2 rows shown; more not shown" in first_two._repr_html_()
    exact = store.table(query().limit(2), max_rows=2)        # the query's own LIMIT: no "more"
    assert not exact.more and str(exact).endswith("(2 rows)")
    one = store.table(query(), max_rows=1)
    assert str(one).endswith("(first 1 row shown; more not shown)")
    raw = store.table(Entry.raw("SELECT label, qty FROM entry ORDER BY id"), max_rows=2)
    assert raw.columns == ["label", "qty"] and raw.more          # no LIMIT: stops reading
    assert raw.rows == [("full", 7), ("number", None)]
    listed = store.table(list(Entry.select().order_by(Entry.id)), max_rows=3)
    assert listed.total == 5 and str(listed).endswith("(3 of 5 rows shown)")
    everything = store.table(query(), max_rows=None, max_width=None)
    assert len(everything) == 5 and "y" * 80 in str(everything)
    with pytest.raises(ValueError, match="max_rows"):
        store.table(query(), max_rows=-1)


def test_html_is_escaped_and_keeps_the_full_value_in_a_tooltip(entries):
    page = store.table(query(), max_width=20)._repr_html_()
    assert "<script>" not in page
    assert ">&lt;script&gt;alert(&#x27;x&#x27;)&lt;…</td>" in page         # 19 characters + …
    assert "title=\"&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more\"" in page
    assert '<td style="text-align: right">1234567890123.50</td>' in page
    assert '<td class="store-null">NULL</td>' in page
    assert "<caption>entry — 5 rows</caption>" in page
    assert "<th>label</th><th>price</th><th>doc</th>" in page
    assert page.count("<tr>") == 6                           # header + 5 rows


def test_model_instances_dicts_and_tuples(entries):
    rows = store.table(list(Entry.select().where(Entry.qty.is_null(False)).order_by(Entry.id)))
    assert rows.columns == ["id", "shelf", "label", "price", "doc", "mood", "ref", "at", "qty"]
    assert rows.rows[0][1] == entries.id                      # a foreign key shows its key
    assert "| loud |" in str(rows) and str(rows).endswith("(2 rows)")
    single = store.table(Entry.get(Entry.label == "number"))
    assert len(single) == 1 and "| 900 |" in str(single)      # a JSON number, no quotes
    whole = store.table(Shelf)                                 # a model: its table
    assert whole.columns == ["id", "name"] and whole.rows == [(entries.id, "top")]
    dicts = store.table([{"a": 1}, {"b": Decimal("2.50")}])
    assert dicts.columns == ["a", "b"] and dicts.rows == [(1, None), (None, Decimal("2.50"))]
    Pair = namedtuple("Pair", "week units")
    assert store.table([Pair(1, 5)]).columns == ["week", "units"]
    plain = store.table([(1, "x"), (2, "y")], columns=["n", "s"])
    assert str(plain).splitlines()[:3] == ["n | s", "--+--", "1 | x"]
    assert store.table([3, 4]).columns == ["value"]
    with pytest.raises(ValueError, match="columns= names 1 columns"):
        store.table([(1, "x")], columns=["n"])
    with pytest.raises(TypeError, match="expected a query"):
        store.table(42)


def test_empty_query_still_shows_its_columns(entries):
    empty = store.table(query().where(Entry.qty > 100))
    assert empty.columns[:3] == ["label", "price", "doc"]
    assert str(empty).endswith("(0 rows)") and len(empty) == 0


def test_aggregates_and_aliases(entries):
    totals = store.table(Entry.select(Entry.shelf, Entry.price.sum().alias("total"),
                                      Entry.doc["n"].alias("n")).where(Entry.label == "full")
                         .group_by(Entry.shelf, Entry.doc["n"]))
    assert totals.columns == ["shelf", "total", "n"]
    assert totals.rows == [(entries.id, Decimal("1234567890123.50"), "900")]


def test_ipython_shows_queries_as_html_tables(entries):
    formatters = pytest.importorskip("IPython.core.formatters")

    class Shell:                                   # what register_ipython uses of a shell
        display_formatter = formatters.DisplayFormatter()

    assert register_ipython(Shell) is True
    data, _ = Shell.display_formatter.format(query())
    assert data["text/html"] == store.table(query()).to_html()
    assert data["text/plain"].startswith("<peewee.ModelSelect")    # the text repr stays peewee's
    data, _ = Shell.display_formatter.format(store.table(query()))
    assert data["text/plain"] == str(store.table(query()))


def test_table_is_a_plain_object_without_a_database():
    table = Table(["a"], [(1,), (None,)], title="t")
    assert str(table) == "t\na\n----\n   1\nNULL\n(2 rows)"
