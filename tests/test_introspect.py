"""store.introspect: the live schema read back exactly, on SQLite and PostgreSQL."""
from __future__ import annotations

import dataclasses
import enum
import json
import uuid
from urllib.parse import quote

import psycopg
import pytest
from peewee import SQL

import store
from store import Check
from store.introspect import (Column, Index, Schema, SchemaDiff, Table, Trigger,
                              read_schema)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Owner(store.Model):
    id = store.UUIDField(primary_key=True)
    email = store.CharField(max_length=120, unique=True)
    name = store.TextField(default="anon", constraints=[SQL("DEFAULT 'anon'")])


class Item(store.Model):
    owner = store.ForeignKeyField(Owner, on_delete="CASCADE", on_update="CASCADE",
                                  backref="items")
    sku = store.CharField(max_length=20)
    title = store.TextField(null=True)
    qty = store.IntegerField(default=0, index=True, constraints=[SQL("DEFAULT 0")])
    big = store.BigIntegerField(null=True)
    active = store.BooleanField(default=True)
    weight = store.FloatField(null=True)
    price = store.DecimalField(10, 2)
    seen_at = store.DateTimeTZField(null=True)
    data = store.JSONField(null=True)
    color = store.EnumField(Color, default=Color.RED)

    class Meta:
        indexes = ((("owner", "sku"), True),)
        checks = [Check("qty_nonneg", "qty >= 0")]


Item.add_index(Item.index(Item.qty.desc(), Item.sku, name="ix_item_qty_desc"))
Item.add_index(Item.index(Item.sku, name="ix_item_sku_stocked").where(Item.qty > 0))

MODELS = (Owner, Item)


def make_schema(database):
    """Create the models and a trigger on ``database``."""
    database.bind_models(MODELS)
    database.create_tables(MODELS)
    if database.features.name == "postgresql":
        database.execute_sql(
            "CREATE FUNCTION item_touch() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN NEW.qty := NEW.qty; RETURN NEW; END $$")
        database.execute_sql("CREATE TRIGGER trg_item_touch BEFORE UPDATE ON item "
                             "FOR EACH ROW EXECUTE FUNCTION item_touch()")
    else:
        database.execute_sql("CREATE TRIGGER trg_item_touch AFTER UPDATE OF qty ON item\n"
                             "BEGIN\n  UPDATE item SET qty = qty WHERE id = NEW.id;\nEND")


@pytest.fixture
def other_db(db, tmp_path, request):
    """A second, empty database on the same backend: (database, pg schema or None)."""
    if db.features.name == "sqlite":
        database, schema = store.connect(f"sqlite:///{tmp_path / 'other.db'}"), None
    else:
        base = request.getfixturevalue("pg_database")
        schema = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        database = store.connect(f"{base}?options=" + quote(f"-csearch_path={schema}"))
    yield database, schema
    database.close()
    if schema:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_reads_every_field_type_exactly(db):
    make_schema(db)
    pg = db.features.name == "postgresql"
    schema = read_schema(db)
    assert schema.names() == ["item", "owner"]

    owner, item = schema.table("owner"), schema.table("item")
    assert owner.primary_key == ("id",)
    assert owner.column("id") == Column("id", "uuid" if pg else "text", nullable=False,
                                        primary_key=True, autoincrement=False)
    assert owner.column("name").default == ("'anon'::text" if pg else "'anon'")
    assert [c.name for c in item.columns] == [
        "id", "owner_id", "sku", "title", "qty", "big", "active", "weight", "price",
        "seen_at", "data", "color"]
    assert item.column("id") == Column("id", "integer", nullable=False, default=None,
                                       primary_key=True, autoincrement=True)
    assert item.column("qty").default == "0"
    assert not item.column("qty").nullable
    assert item.column("title").nullable and item.column("big").nullable
    assert item.column("sku").type == ("character varying(20)" if pg else "varchar(20)")
    expected_types = ({"big": "bigint", "active": "boolean", "price": "numeric(10,2)",
                       "seen_at": "timestamp with time zone", "data": "jsonb",
                       "weight": "double precision"} if pg else
                      {"big": "integer", "active": "integer", "price": "numeric(10, 2)",
                       "seen_at": "text", "data": "text", "weight": "real"})
    assert {k: item.column(k).type for k in expected_types} == expected_types
    assert sum(c.primary_key for c in item.columns) == 1

    checks = {c.name: c.sql for c in item.checks}
    common = {"ck_item_color_enum", "ck_item_qty_nonneg", "ck_item_sku_max_length"}
    assert set(checks) == (common if pg else common | {"ck_item_data_json"})
    assert "qty >= 0" in checks["ck_item_qty_nonneg"]
    assert "'red'" in checks["ck_item_color_enum"] and "'blue'" in checks["ck_item_color_enum"]
    assert "<= 20" in checks["ck_item_sku_max_length"]
    assert [c.name for c in item.checks] == sorted(checks)
    assert {c.name for c in owner.checks} == (
        {"ck_owner_email_max_length"} if pg else
        {"ck_owner_email_max_length", "ck_owner_id_uuid"})

    (fk,) = item.foreign_keys
    assert (fk.name, fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete, fk.on_update) == (
        "fk_item_owner_id_owner", ("owner_id",), "owner", ("id",), "CASCADE", "CASCADE")

    indexes = {i.name: i for i in item.indexes}
    assert set(indexes) == {"ix_item_owner_id", "ix_item_qty", "ix_item_qty_desc",
                            "ix_item_sku_stocked", "uq_item_owner_id_sku"}
    assert indexes["uq_item_owner_id_sku"] == Index("uq_item_owner_id_sku",
                                                    ("owner_id", "sku"), unique=True)
    assert indexes["ix_item_qty_desc"].columns == ("qty DESC", "sku")
    assert not indexes["ix_item_qty_desc"].unique
    assert indexes["ix_item_sku_stocked"].where == ('qty > 0' if pg else '"qty" > 0')
    assert indexes["ix_item_qty"].where is None
    assert all(i.method == "btree" for i in item.indexes)
    assert owner.indexes == (Index("uq_owner_email", ("email",), unique=True),)

    (trigger,) = item.triggers
    assert trigger.name == "trg_item_touch"
    assert trigger.sql.startswith("CREATE TRIGGER trg_item_touch")
    assert "\n" not in trigger.sql and "  " not in trigger.sql
    assert owner.triggers == ()


def test_same_models_twice_read_equal(db, other_db):
    other, other_schema = other_db
    make_schema(db)
    make_schema(other)
    first, second = read_schema(db), read_schema(other)
    assert first.diff(second) == []
    assert not first.diff(second)
    assert first == second and hash(first) == hash(second)
    if other_schema:       # the same schema read from another connection's search_path
        assert read_schema(db, schema=other_schema) == first


def test_diff_names_a_dropped_index_and_an_added_column(db, other_db):
    other, _ = other_db
    make_schema(db)
    make_schema(other)
    other.execute_sql('DROP INDEX "ix_item_qty"')
    other.execute_sql('ALTER TABLE "item" ADD COLUMN "note" TEXT')
    other.execute_sql('DROP TRIGGER "trg_item_touch"' +
                      (' ON "item"' if other.features.name == "postgresql" else ""))
    diff = read_schema(db).diff(read_schema(other))
    assert isinstance(diff, SchemaDiff) and diff
    assert diff == ["table item: column note added",
                    "table item: index ix_item_qty removed",
                    "table item: trigger trg_item_touch removed"]
    assert read_schema(other).table("item").columns[-1] == Column("note", "text", True)


def test_diff_wording_for_changed_attributes():
    col = Column("qty", "integer", nullable=True)
    before = Schema({"t": Table("t", (col,), checks=(), indexes=(Index("ix_t_qty", ("qty",)),))})
    after = Schema({
        "t": Table("t", (dataclasses.replace(col, nullable=False),),
                   checks=(store.introspect.Check("ck_t_qty", "qty > 0"),),
                   indexes=(Index("ix_t_qty", ("qty DESC",)),)),
        "u": Table("u")})
    assert before.diff(after) == [
        "table t: column qty: nullable True -> False",
        "table t: check ck_t_qty added",
        "table t: index ix_t_qty: columns ('qty',) -> ('qty DESC',)",
        "table u added"]
    assert after.diff(before)[-1] == "table u removed"
    assert before.diff(before) == []


def test_to_dict_is_json_and_round_trips(db):
    make_schema(db)
    schema = read_schema(db)
    text = json.dumps(schema.to_dict(), sort_keys=True)
    data = json.loads(text)
    assert data["tables"]["item"]["columns"][0]["name"] == "id"
    assert Schema.from_dict(data) == schema
    assert "item" in repr(schema)


def test_tables_and_exclude_filter(db):
    make_schema(db)
    assert read_schema(db, tables=["owner"]).names() == ["owner"]
    assert read_schema(db, exclude=("owner",)).names() == ["item"]
    assert read_schema(db, tables=["nope"]).names() == []
    with pytest.raises(KeyError, match="nope"):
        read_schema(db).table("nope")


def test_sqlite_raw_create_table_sql(sqlite_url):
    db = store.connect(sqlite_url)
    db.execute_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT)")
    db.execute_sql("""
        CREATE TABLE "odd, table" (
            "id" INTEGER PRIMARY KEY,
            n INT DEFAULT (1 +  2) CHECK (n > 0) CHECK (n < 1000),
            label TEXT CONSTRAINT ck_label_short CHECK (length(label) < 10)
                  DEFAULT 'a, (b)' UNIQUE,
            code TEXT CONSTRAINT uq_odd_code UNIQUE,
            parent_id INTEGER REFERENCES parent ON DELETE SET NULL,
            other_id INTEGER CONSTRAINT fk_named REFERENCES parent (id) ON UPDATE RESTRICT,
            -- a comment, with a comma
            CONSTRAINT ck_odd_pair CHECK (n <> parent_id),
            CHECK (label <> 'x, y'),
            UNIQUE (n, label)
        )""")
    db.execute_sql('CREATE UNIQUE INDEX ix_odd_expr ON "odd, table" '
                   '(lower(label) DESC, n ASC) WHERE n  >  1')
    schema = read_schema(db)
    assert schema.names() == ["odd, table", "parent"]       # sqlite_sequence skipped

    parent = schema.table("parent")
    assert parent.column("id").autoincrement and not parent.column("id").nullable
    odd = schema.table("odd, table")
    assert odd.column("n") == Column("n", "int", nullable=True, default="1 + 2")
    assert odd.column("label").default == "'a, (b)'"
    assert {c.name: c.sql for c in odd.checks} == {
        "odd, table_n_check": "n > 0",
        "odd, table_n_check1": "n < 1000",
        "ck_label_short": "length(label) < 10",
        "ck_odd_pair": "n <> parent_id",
        "odd, table_check": "label <> 'x, y'",
    }
    fks = {fk.name: fk for fk in odd.foreign_keys}
    assert fks["fk_named"].on_update == "RESTRICT" and fks["fk_named"].on_delete == "NO ACTION"
    unnamed = fks["fk_odd, table_parent_id_parent"]   # as store's FK error translation names it
    assert unnamed.ref_columns == ("id",) and unnamed.on_delete == "SET NULL"
    indexes = {i.name: i for i in odd.indexes}
    assert indexes["uq_odd_code"] == Index("uq_odd_code", ("code",), unique=True)
    auto = {i.columns: i for i in odd.indexes if i.name.startswith("sqlite_autoindex_")}
    assert set(auto) == {("label",), ("n", "label")}
    assert all(i.unique for i in auto.values())
    assert indexes["ix_odd_expr"] == Index("ix_odd_expr", ("lower(label) DESC", "n"),
                                           unique=True, where="n > 1")
    db.close()


def test_postgres_constraints_expressions_and_methods(pg_url):
    db = store.connect(pg_url)
    db.execute_sql("""
        CREATE TABLE doc (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            serial_no serial,
            body jsonb NOT NULL DEFAULT '{}',
            email text CONSTRAINT uq_doc_email UNIQUE,
            n int CHECK (n > 0)
        )""")
    db.execute_sql("CREATE INDEX ix_doc_body ON doc USING gin (body)")
    db.execute_sql("CREATE INDEX ix_doc_lower ON doc (lower(email) DESC NULLS LAST)")
    doc = read_schema(db).table("doc")
    assert doc.column("id").autoincrement and doc.column("id").default is None
    assert doc.column("serial_no").autoincrement and doc.column("serial_no").default is None
    assert doc.column("body").default == "'{}'::jsonb"
    assert not doc.column("n").autoincrement
    assert {c.name for c in doc.checks} == {"doc_n_check"}
    indexes = {i.name: i for i in doc.indexes}
    assert "doc_pkey" not in indexes
    assert indexes["ix_doc_body"].method == "gin"
    assert indexes["ix_doc_lower"].columns == ("lower(email) DESC",)
    assert indexes["uq_doc_email"].unique
    db.close()


def test_names_match_across_backends(sqlite_url, pg_url):
    schemas = {}
    for url in (sqlite_url, pg_url):
        database = store.connect(url)
        make_schema(database)
        schemas[database.features.name] = read_schema(database)
        database.close()
    lite, pg = schemas["sqlite"], schemas["postgresql"]
    assert lite.names() == pg.names()
    sqlite_only = {"ck_item_data_json", "ck_owner_id_uuid"}     # JSONB / uuid types do it
    for name in lite.names():
        a, b = lite.table(name), pg.table(name)
        assert [c.name for c in a.columns] == [c.name for c in b.columns]
        assert [(c.name, c.nullable, c.primary_key, c.autoincrement) for c in a.columns] == \
               [(c.name, c.nullable, c.primary_key, c.autoincrement) for c in b.columns]
        assert a.primary_key == b.primary_key
        assert {c.name for c in a.checks} - sqlite_only == {c.name for c in b.checks}
        assert a.foreign_keys == b.foreign_keys
        assert [(i.name, i.unique, i.columns) for i in a.indexes] == \
               [(i.name, i.unique, i.columns) for i in b.indexes]
        assert [t.name for t in a.triggers] == [t.name for t in b.triggers]


def test_structures_are_frozen_and_hashable():
    trig = Trigger("t", "CREATE TRIGGER t")
    with pytest.raises(dataclasses.FrozenInstanceError):
        trig.name = "u"
    assert len({Table("a"), Table("a")}) == 1
    assert "Column(name='id'" in repr(Column("id", "integer", False))
