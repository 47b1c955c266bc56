"""A % in SQL text means itself on both backends, with or without
parameters (psycopg reads % as a placeholder; store escapes the text it
renders for PostgreSQL)."""
from __future__ import annotations

import peewee
import pytest
from peewee import SQL

import store


class Percent(store.Model):
    label = store.CharField(max_length=20)
    email = store.CharField(max_length=40, null=True)

    class Meta:
        table_name = "per%cent"
        checks = [store.Check("ck_per_cent_email", "email IS NULL OR email LIKE '%@%'")]


@pytest.fixture
def percent(db, tables):
    tables(Percent)
    Percent.create(label="50%", email="a@b")
    Percent.create(label="plain")
    return db


def test_literal_percent_in_rendered_queries(percent):
    assert Percent.select(SQL("'100%'")).where(Percent.label == "50%").scalar() == "100%"
    assert Percent.select(SQL("'100%'")).scalar() == "100%"           # LIMIT 1: a parameter
    rows = (Percent.select(Percent.label, SQL("'%'").alias("sign"))
            .where(SQL("label LIKE '%\\%' ESCAPE '\\'")).order_by(Percent.id).tuples())
    assert list(rows) == [("50%", "%")]
    assert peewee.Select(columns=[SQL("'a%%b'")]).bind(percent).scalar() == "a%%b"
    assert Percent.select().where(Percent.label.contains("%")).count() == 1


def test_raw_execute_sql_without_parameters(percent):
    assert percent.execute_sql("SELECT '100%'").fetchone() == ("100%",)
    assert percent.execute_sql('SELECT count(*) FROM "per%cent"').fetchone() == (2,)


def test_check_with_percent_is_enforced(percent):
    with pytest.raises(store.CheckViolation) as info:
        Percent.create(label="x", email="no-at-sign")
    assert info.value.constraint == "ck_per_cent_email"
    assert Percent.select().count() == 2
