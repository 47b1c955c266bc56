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
