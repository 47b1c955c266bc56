"""``server_default``: the column DEFAULT in the database itself, used by rows
written with raw SQL, rendered per backend the way each field stores values."""
from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid

import peewee
import pytest

import store


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


FIXED_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


class Defaults(store.Model):
    name = store.CharField(max_length=20)
    tags = store.JSONField(default=list, server_default=[])
    meta = store.JSONField(default=dict, server_default={"v": 1, "s": "it's"})
    price = store.DecimalField(10, 2, server_default=decimal.Decimal("1.5"))
    qty = store.IntegerField(server_default=3)
    ratio = store.FloatField(server_default=0.25)
    active = store.BooleanField(server_default=True)
    mood = store.EnumField(Mood, server_default=Mood.SAD)
    ref = store.UUIDField(server_default=FIXED_ID)
    label = store.TextField(server_default="it's")
    created_at = store.DateTimeTZField(server_default=store.NOW)
    score = store.IntegerField(server_default=peewee.SQL("(1 + 1)"))

    class Meta:
        table_name = "defaults_t"


def test_raw_insert_takes_every_server_default(db, tables):
    tables(Defaults)
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    db.execute_sql("INSERT INTO defaults_t (name) VALUES ('raw')")
    row = Defaults.get()
    assert row.tags == [] and row.meta == {"v": 1, "s": "it's"}
    assert row.price == decimal.Decimal("1.50") and str(row.price) == "1.50"
    assert (row.qty, row.ratio, row.active, row.mood) == (3, 0.25, True, Mood.SAD)
    assert row.ref == FIXED_ID and row.label == "it's" and row.score == 2
    after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    assert row.created_at.tzinfo is not None and before <= row.created_at <= after
    # the ORM path and the DEFAULT path store the same thing
    Defaults.create(name="orm", tags=[], meta={"v": 1, "s": "it's"},
                    price=decimal.Decimal("1.5"), qty=3, ratio=0.25, active=True,
                    mood=Mood.SAD, ref=FIXED_ID, label="it's", created_at=row.created_at,
                    score=2)
    raw, orm = (db.execute_sql("SELECT tags, meta, price, qty, active, mood, ref, label "
                               "FROM defaults_t ORDER BY id").fetchall())
    assert raw == orm


def test_server_default_in_ddl_per_backend(db, tables):
    tables(Defaults)
    ddl = " ".join(db.get_sql_context().sql(Defaults._schema._create_table()).query()[0].split())
    if db.features.name == "postgresql":
        assert """DEFAULT '[]'::jsonb""" in ddl and "DEFAULT 1.50" in ddl
        assert "DEFAULT CURRENT_TIMESTAMP" in ddl
    else:
        assert """DEFAULT (json('[]'))""" in ddl and "DEFAULT 1.50" in ddl
        assert "strftime" in ddl


def test_invalid_server_default_names_the_field(db):
    class Bad(store.Model):
        qty = store.IntegerField(server_default="lots")

        class Meta:
            table_name = "bad_default"
            database = db
    with pytest.raises(store.ValidationError) as info:
        Bad.create_table()
    assert "bad_default.qty" in str(info.value)
    assert not db.table_exists("bad_default")


def test_now_needs_an_aware_timestamp_field(db):
    class Bad(store.Model):
        label = store.TextField(server_default=store.NOW)

        class Meta:
            table_name = "bad_now"
            database = db
    with pytest.raises(store.ConfigError, match="bad_now.label"):
        Bad.create_table()
