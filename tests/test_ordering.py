"""Query results the same on both backends: ORDER BY places NULLs as
PostgreSQL does (last ascending, first descending), so LIMIT/OFFSET pages
hold the same rows; date parts are ints."""
from __future__ import annotations

import peewee
import pytest
from peewee import fn

import store


class Ranked(store.Model):
    name = store.CharField(max_length=10)
    score = store.IntegerField(null=True)
    bonus = store.IntegerField(null=True)


ROWS = [("a", 3, None), ("b", None, 1), ("c", 1, None), ("d", None, None), ("e", 2, 5)]


@pytest.fixture
def ranked(db, tables):
    tables(Ranked)
    Ranked.insert_many([dict(zip(("name", "score", "bonus"), r)) for r in ROWS]).execute()
    return db


def names(query):
    return [r.name for r in query]


def test_plain_order_by_puts_nulls_last(ranked):
    assert names(Ranked.select().order_by(Ranked.score, Ranked.name)) == ["c", "e", "a", "b", "d"]
    assert names(Ranked.select().order_by(Ranked.score.asc(), Ranked.name)) == \
        ["c", "e", "a", "b", "d"]


def test_descending_puts_nulls_first(ranked):
    assert names(Ranked.select().order_by(Ranked.score.desc(), Ranked.name)) == \
        ["b", "d", "a", "e", "c"]


def test_pages_hold_the_same_rows(ranked):
    query = Ranked.select().order_by(Ranked.score, Ranked.name)
    assert [names(query.paginate(page, 2)) for page in (1, 2, 3)] == \
        [["c", "e"], ["a", "b"], ["d"]]


def test_expressions_and_explicit_nulls(ranked):
    total = fn.COALESCE(Ranked.score, 0) + Ranked.bonus           # NULL where bonus is
    assert names(Ranked.select().order_by(total, Ranked.name)) == ["b", "e", "a", "c", "d"]
    assert names(Ranked.select().order_by(Ranked.score.asc(nulls="FIRST"), Ranked.name)) == \
        ["b", "d", "c", "e", "a"]
    # a NOT NULL column is left as written
    assert names(Ranked.select().order_by(Ranked.name.desc())) == ["e", "d", "c", "b", "a"]


def test_subquery_and_union_order(ranked):
    inner = Ranked.select(Ranked.name, Ranked.score).order_by(Ranked.score).limit(3)
    assert [r.name for r in inner] == ["c", "e", "a"]
    union = (Ranked.select(Ranked.name, Ranked.score).where(Ranked.score.is_null())
             | Ranked.select(Ranked.name, Ranked.score).where(Ranked.score > 1))
    ordered = union.order_by(peewee.SQL("score"), peewee.SQL("name"))
    assert len(list(ordered)) == 4


class Dated(store.Model):
    day = store.DateField(null=True)


def test_date_parts_are_ints_on_both(db, tables):
    """PostgreSQL's date_part returns numeric (a Decimal through psycopg)."""
    import datetime as dt
    tables(Dated)
    Dated.create(day=dt.date(2024, 3, 5))
    Dated.create(day=None)
    rows = list(Dated.select(Dated.day.year, Dated.day.month, Dated.day.day)
                .order_by(Dated.id).tuples())
    assert rows == [(2024, 3, 5), (None, None, None)]
    assert [type(v) for v in rows[0]] == [int, int, int]
    assert Dated.select().where(Dated.day.year == 2024).count() == 1


# --- text order is code-point order on both, whatever the database's collation ------
#
# An ICU en-US PostgreSQL database orders a, B, é, Z; SQLite (BINARY) orders
# B, Z, a, é. store renders text ORDER BY, <, <=, >, >=, BETWEEN and MIN/MAX
# with COLLATE "C" on PostgreSQL (USING ~<~ in a SELECT DISTINCT), so both
# give the code-point order. Each test runs on SQLite and on an ICU database.

from parity import queries as _parity    # noqa: E402

WORDS = ["a", "B", "é", "Z", "b", "É", None]
CODE_POINT = sorted(w for w in WORDS if w is not None)       # Python: code-point order


class Worded(store.Model):
    word = store.CharField(max_length=10, null=True)
    grp = store.CharField(max_length=2)


@pytest.fixture(scope="module")
def icu_url(pg_database):
    with _parity.icu_database(pg_database) as url:
        if url is None:
            pytest.skip("the PostgreSQL server has no ICU")
        yield url


@pytest.fixture(params=["sqlite", "postgres_icu"])
def worded(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'words.db'}"
    else:
        url = request.getfixturevalue("icu_url")
    database = store.connect(url)
    Worded._meta.schema = None
    database.bind_models([Worded])
    database.drop_tables([Worded], safe=True)
    database.create_tables([Worded])
    Worded.insert_many([{"word": w, "grp": "x" if i % 2 else "y"}
                        for i, w in enumerate(WORDS)]).execute()
    yield database
    database.drop_tables([Worded], safe=True)
    database.close()


def words(query):
    return [r[0] for r in query.tuples()]


def test_text_order_by_is_code_point_order(worded):
    assert words(Worded.select(Worded.word).order_by(Worded.word)) == CODE_POINT + [None]
    assert words(Worded.select(Worded.word).order_by(Worded.word.desc())) == \
        [None] + CODE_POINT[::-1]
    assert words(Worded.select(Worded.word).order_by(fn.lower(Worded.word), Worded.word)
                 .where(Worded.word.is_null(False))) == ["a", "B", "b", "Z", "É", "é"]


def test_text_comparisons_are_code_point_comparisons(worded):
    assert sorted(words(Worded.select(Worded.word).where(Worded.word < "a"))) == ["B", "Z"]
    assert sorted(words(Worded.select(Worded.word).where(Worded.word > "Z"))) == \
        ["a", "b", "É", "é"]
    assert sorted(words(Worded.select(Worded.word).where(Worded.word.between("B", "a")))) == \
        ["B", "Z", "a"]


def test_text_min_max_distinct_and_group_order(worded):
    assert words(Worded.select(fn.MIN(Worded.word))) == ["B"]
    assert words(Worded.select(fn.MAX(Worded.word))) == ["é"]
    assert words(Worded.select(Worded.word).distinct().order_by(Worded.word)) == \
        CODE_POINT + [None]
    assert words(Worded.select(Worded.word).group_by(Worded.word)
                 .order_by(Worded.word.desc())) == [None] + CODE_POINT[::-1]


def test_keyset_row_comparison_follows_the_order(worded):
    """(a, b) > (x, y) compares text as ORDER BY a, b orders it, so keyset
    pages neither skip nor repeat rows."""
    ordered = Worded.select(Worded.grp, Worded.word).where(Worded.word.is_null(False)) \
        .order_by(Worded.grp, Worded.word)
    rows = [tuple(r) for r in ordered.tuples()]
    after = [tuple(r) for r in ordered.where(
        peewee.Tuple(Worded.grp, Worded.word) > peewee.Tuple(*rows[1])).tuples()]
    assert after == rows[2:]


def test_window_order_is_the_select_order(worded):
    """OVER (ORDER BY ...) orders text by code point and places NULLs as
    PostgreSQL does, like the SELECT's ORDER BY."""
    ranked = (Worded.select(Worded.word, fn.ROW_NUMBER().over(order_by=[Worded.word]))
              .tuples())
    assert sorted(ranked, key=lambda r: r[1]) == \
        [(w, i) for i, w in enumerate(CODE_POINT + [None], 1)]
    desc = Worded.select(Worded.word, fn.RANK().over(order_by=[Worded.word.desc()])).tuples()
    assert sorted(desc, key=lambda r: r[1])[0] == (None, 1)


def test_aggregates_over_a_window(ranked):
    """AVG/SUM as window functions: the result types store fixes (AVG a
    float, SUM of integers an int) must not break ``OVER``."""
    rows = (Ranked.select(Ranked.name,
                          fn.AVG(Ranked.score).over(partition_by=[Ranked.name]).alias("avg"),
                          fn.SUM(Ranked.score).over(order_by=[Ranked.name]).alias("running"))
            .order_by(Ranked.name).tuples())
    assert [tuple(r) for r in rows] == [("a", 3.0, 3), ("b", None, 3), ("c", 1.0, 4),
                                        ("d", None, 4), ("e", 2.0, 6)]
    window = peewee.Window(partition_by=[Ranked.score > 1])
    named = (Ranked.select(Ranked.name, fn.AVG(Ranked.score).over(window).alias("avg"))
             .window(window)
             .order_by(Ranked.name).tuples())
    assert [r[1] for r in named] == [2.5, None, 1.0, None, 2.5]


def test_union_ordered_by_a_text_field(ranked):
    """The ORDER BY of a UNION names output columns only (PostgreSQL
    refuses an expression there, COLLATE included)."""
    low = Ranked.select(Ranked.name).where(Ranked.score < 2)
    high = Ranked.select(Ranked.name).where(Ranked.score >= 2)
    top = Ranked.select(Ranked.name).where(Ranked.score > 0).order_by(Ranked.name.desc()).limit(2)
    assert [r.name for r in (low | high).order_by(Ranked.name)] == ["a", "c", "e"]
    assert sorted(r.name for r in (top | low)) == ["c", "e"]


def test_union_order_follows_the_database_collation_on_postgresql(worded, request):
    """Documented difference: the ORDER BY of a UNION/INTERSECT/EXCEPT may
    only name output columns, so store cannot add ``COLLATE "C"`` there; on
    PostgreSQL it follows the database's collation (ICU en-US here), on
    SQLite code-point order. Order inside each member, or in an outer
    query, is code-point order on both."""
    a = Worded.select(Worded.word).where(Worded.grp == "x")
    b = Worded.select(Worded.word).where(Worded.grp == "y")
    got = [w for w in words((a | b).order_by(Worded.word)) if w is not None]
    if "sqlite" in request.node.callspec.id:
        assert got == CODE_POINT
    else:
        assert got == ["a", "b", "B", "é", "É", "Z"]       # ICU en-US


class Indexed(store.Model):
    word = store.CharField(max_length=12, index=True)


@pytest.mark.parametrize("locale", ["c", "icu"])
def test_collate_only_where_the_database_needs_it(pg_database, locale):
    """On a database whose collation already is code-point order (libc C,
    POSIX, C.UTF-8) store adds no COLLATE "C", so a text index serves ORDER
    BY and ranges; on an ICU database it adds it (the order is the same)."""
    options = _parity.C_LOCALE if locale == "c" else _parity.ICU_EN_US
    with _parity.scratch_database(pg_database, options, "UTC") as url:
        if url is None:
            pytest.skip("the PostgreSQL server cannot create this database (no ICU?)")
        database = store.connect(url)
        try:
            Indexed._meta.schema = None
            database.bind_models([Indexed])
            database.create_tables([Indexed])
            Indexed.insert_many([{"word": f"w{i:05d}"} for i in range(3000)]
                                + [{"word": w} for w in ("a", "B", "é", "Z")]).execute()
            database.execute_sql("ANALYZE indexed")
            query = Indexed.select(Indexed.word).order_by(Indexed.word).limit(3)
            sql, _ = database.get_sql_context().sql(query).query()
            plan = " ".join(r[0] for r in database.execute_sql("EXPLAIN " + sql.replace(
                "%s", "3")).fetchall())
            assert [r.word for r in query] == ["B", "Z", "a"]
            if locale == "c":
                assert "COLLATE" not in sql and "Index" in plan
            else:
                assert 'COLLATE "C"' in sql
            ranged = Indexed.select(Indexed.word).where(Indexed.word > "Z").order_by(Indexed.word)
            assert [r.word for r in ranged][:2] == ["a", "w00000"]
        finally:
            database.close()


def test_unaliased_expressions_get_postgresql_output_names(ranked):
    """A SELECT's unaliased function, window or expression column is named as
    PostgreSQL names it (``count``, ``max``, ``avg``, ``?column?``) on both
    backends: the same dict keys and attributes, and no column taken for a
    model field (SQLite's own names made ``fn.AVG(x).over(...)`` read back
    through a CharField as text)."""
    got = list(Ranked.select(fn.COUNT(Ranked.id), fn.MAX(Ranked.score)).dicts())
    assert got == [{"count": 5, "max": 3}]
    rows = (Ranked.select(Ranked.name, fn.AVG(Ranked.score).over(partition_by=[Ranked.name]))
            .where(Ranked.score.is_null(False)).order_by(Ranked.name).dicts())
    assert [r["avg"] for r in rows] == [3.0, 1.0, 2.0] and rows[0]["name"] == "a"
    assert list(Ranked.select(Ranked.score + 1).where(Ranked.name == "a").dicts()) == \
        [{"?column?": 4}]
    first = Ranked.select(Ranked.name, fn.MAX(Ranked.score)).group_by(Ranked.name) \
        .order_by(Ranked.name).first()
    assert (first.name, first.max) == ("a", 3)
