"""Connecting: per-connection SQLite settings, URL-relative files, version
check, password-free connection errors, store.open, re-binding the same
models across backends, pooling, features."""
from __future__ import annotations

import datetime as dt
import decimal
import os
import sqlite3
import threading
import traceback
import uuid

import peewee
import pytest
from playhouse.pool import MaxConnectionsExceeded

import store
import store.database

PW = "S3cr3t-pw"


class Note(store.Model):
    text = store.TextField()


def sqlite_pragma(db, name):
    return db.execute_sql(f"PRAGMA {name}").fetchone()[0]


# --- SQLite connection settings ----------------------------------------------------

def assert_sqlite_settings(db, journal):
    assert sqlite_pragma(db, "foreign_keys") == 1
    assert sqlite_pragma(db, "journal_mode") == journal
    assert sqlite_pragma(db, "busy_timeout") > 0
    # raw SQL LIKE is SQLite's own (ASCII case folded): store leaves
    # case_sensitive_like off, which would bar LIKE from indexes and CHECKs;
    # the ORM's like() is case-sensitive by another road (tests/test_like.py)
    assert db.execute_sql("SELECT 'abc' LIKE 'ABC', 'abc' LIKE 'a%'").fetchone() == (1, 1)
    assert db.execute_sql("""SELECT json_extract('{"a": [1, 2]}', '$.a[1]'), """
                          """'{"b": "x"}' ->> '$.b', json_valid('{')""").fetchone() == (2, "x", 0)


def test_sqlite_file_connection_settings(sqlite_url):
    db = store.connect(sqlite_url)
    try:
        assert type(db) is store.database.SqliteStore
        assert_sqlite_settings(db, "wal")
        db.close()
        db.connect()                      # a new connection gets them too
        assert_sqlite_settings(db, "wal")
        seen = []

        def other_thread():               # peewee: one connection per thread
            try:
                assert_sqlite_settings(db, "wal")
                seen.append(True)
            finally:
                db.close()
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
        assert seen == [True]
    finally:
        db.close()


def test_concurrent_first_connections_switch_to_wal(tmp_path):
    """Connections racing to switch a rollback-journal file to WAL all succeed
    (SQLite can refuse the switch at once, without waiting: store retries)."""
    failures = []
    for trial in range(30):
        path = tmp_path / f"race{trial}.db"
        plain = sqlite3.connect(path)
        plain.execute("CREATE TABLE t (x)")
        plain.commit()
        plain.close()
        dbs = [store.database.open_database(f"sqlite:///{path}") for _ in range(6)]
        barrier = threading.Barrier(len(dbs))

        def work(db):
            barrier.wait()
            try:
                db.connect()
                assert sqlite_pragma(db, "journal_mode") == "wal"
                db.close()
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(repr(exc))
        threads = [threading.Thread(target=work, args=(db,)) for db in dbs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []


def test_sqlite_timeout_option_sets_busy_timeout(tmp_path):
    db = store.connect(f"sqlite:///{tmp_path / 't.db'}?timeout=2.5")
    try:
        assert sqlite_pragma(db, "busy_timeout") == 2500
    finally:
        db.close()


def test_sqlite_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for url in ("sqlite:///:memory:", "sqlite://"):
        db = store.connect(url, models=[Note])
        try:
            assert_sqlite_settings(db, "memory")
            db.create_tables([Note])
            Note.create(text="hi")
            assert [n.text for n in Note.select()] == ["hi"]
        finally:
            db.close()
    assert os.listdir(tmp_path) == []     # nothing written to disk


def test_sqlite_foreign_keys_enforced(tmp_path):
    class Parent(store.Model):
        pass

    class Child(store.Model):
        parent = store.ForeignKeyField(Parent)

    db = store.connect(f"sqlite:///{tmp_path / 'fk.db'}", models=[Parent, Child])
    try:
        db.create_tables([Parent, Child])
        with pytest.raises(store.ForeignKeyViolation):
            Child.create(parent=12345)
        assert Child.select().count() == 0
    finally:
        db.close()


def test_relative_sqlite_url_is_relative_to_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = store.connect("sqlite:///rel.db", models=[Note])
    try:
        db.create_tables([Note])
        Note.create(text="here")
    finally:
        db.close()
    assert (tmp_path / "rel.db").is_file()
    # the path was fixed when the database was opened: a later chdir does not move it
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    db.connect()
    try:
        assert [n.text for n in Note.select()] == ["here"]
    finally:
        db.close()
    assert not (elsewhere / "rel.db").exists()


def test_relative_sqlite_url_in_subdirectory(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    db = store.connect("sqlite:///data/app.db")
    try:
        db.execute_sql("CREATE TABLE t (x)")
    finally:
        db.close()
    assert (tmp_path / "data" / "app.db").is_file()


def test_sqlite_too_old_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(store.database, "sqlite_version_info", (3, 37, 0))
    with pytest.raises(store.ConfigError) as info:
        store.connect(f"sqlite:///{tmp_path / 'old.db'}")
    assert "3.38.0" in str(info.value)
    assert "3.37.0" in str(info.value)
    assert not (tmp_path / "old.db").exists()


def test_sqlite_new_enough_is_accepted(monkeypatch):
    monkeypatch.setattr(store.database, "sqlite_version_info", (3, 38, 0))
    db = store.connect("sqlite:///:memory:")
    db.close()


# --- PostgreSQL connection errors never show the password --------------------------

@pytest.mark.parametrize("suffix", ["", "&pool=true"])
def test_pg_connection_failure_hides_password(suffix):
    url = f"postgresql://postgres:{PW}@127.0.0.1:1/nope?connect_timeout=1{suffix}"
    with pytest.raises(peewee.OperationalError) as info:
        store.connect(url)
    exc = info.value
    assert PW not in str(exc)
    assert PW not in repr(exc)
    assert PW not in "".join(traceback.format_exception(exc))
    assert "***" in str(exc)                       # says where, masked


def test_pg_connect_error_from_open_database_connect():
    db = store.database.open_database(
        f"postgresql://postgres:{PW}@127.0.0.1:1/nope?connect_timeout=1")
    with pytest.raises(peewee.OperationalError) as info:
        db.connect()
    assert PW not in str(info.value)
    assert db.is_closed()


# --- store.open ---------------------------------------------------------------------

def test_open_context_manager(backend_url):
    previous = peewee.SqliteDatabase(":memory:")
    Note.bind(previous)
    with store.open(backend_url, models=[Note]) as db:
        assert not db.is_closed()
        assert Note._meta.database is db
        db.create_tables([Note])
        Note.create(text="inside")
        assert Note.select().count() == 1
    assert db.is_closed()
    assert Note._meta.database is previous


def test_open_restores_binding_after_error(backend_url):
    previous = peewee.SqliteDatabase(":memory:")
    Note.bind(previous)
    with pytest.raises(RuntimeError):
        with store.open(backend_url, models=[Note]) as db:
            db.create_tables([Note])
            raise RuntimeError("boom")
    assert db.is_closed()
    assert Note._meta.database is previous
    # the DDL done before the error was committed
    with store.open(backend_url, models=[Note]) as db2:
        assert Note.select().count() == 0
        assert db2.table_exists("note")


# --- one set of models on SQLite, PostgreSQL, SQLite again -----------------------

class Kind(store.Model):
    name = store.CharField(max_length=20, unique=True)


class Item(store.Model):
    ref = store.UUIDField(unique=True)
    kind = store.ForeignKeyField(Kind, backref="items")
    price = store.DecimalField(12, 2)
    data = store.JSONField(null=True)
    at = store.DateTimeTZField()


def exercise(url, expected_backend, tag):
    with store.open(url, models=[Kind, Item]) as db:
        assert db.features.name == expected_backend
        assert Item.price.backend == expected_backend
        db.create_tables([Kind, Item])
        kind = Kind.create(name=f"k-{tag}")
        ref = uuid.uuid4()
        at = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        Item.create(ref=ref, kind=kind, price=decimal.Decimal("1234.5"),
                    data={"tag": tag, "sizes": [1, 5, 10], "deep": {"ok": True}}, at=at)
        Item.create(ref=uuid.uuid4(), kind=kind, price="0.10",
                    data={"tag": "other", "sizes": [2]}, at=at)
        item = Item.get(Item.ref == ref)
        assert item.ref == ref and isinstance(item.ref, uuid.UUID)
        assert item.price == decimal.Decimal("1234.50")
        assert str(item.price) == "1234.50"
        assert item.data == {"tag": tag, "sizes": [1, 5, 10], "deep": {"ok": True}}
        assert item.at == at and item.at.tzinfo == dt.timezone.utc
        assert item.kind.name == f"k-{tag}"
        # JSON path queries
        assert [i.ref for i in Item.select().where(Item.data["tag"] == tag)] == [ref]
        assert [i.ref for i in Item.select().where(Item.data["sizes"][2] > 9)] == [ref]
        assert [i.ref for i in Item.select().where(Item.data["deep"]["ok"] == True)] == [ref]  # noqa: E712
        assert Item.select().where(Item.price > decimal.Decimal("1")).count() == 1
        total = Item.select(Item.price.sum()).scalar()
        assert total == decimal.Decimal("1234.60")
        assert [i.ref for i in kind.items.order_by(Item.price.desc())][0] == ref
        with pytest.raises(store.UniqueViolation):
            Item.create(ref=ref, kind=kind, price=1, at=at)
        return db


def test_same_models_sqlite_postgres_sqlite(sqlite_url, pg_url, tmp_path):
    first = exercise(sqlite_url, "sqlite", "one")
    second = exercise(pg_url, "postgresql", "two")
    third = exercise(f"sqlite:///{tmp_path / 'again.db'}", "sqlite", "three")
    assert len({id(first), id(second), id(third)}) == 3
    # the first file still holds only its own rows
    with store.open(sqlite_url, models=[Kind, Item]):
        assert [k.name for k in Kind.select()] == ["k-one"]
        assert Item.select().count() == 2


# --- pooling -------------------------------------------------------------------------

def test_pooled_postgres(pg_url):
    url = pg_url + "&pool=true&max_connections=2"
    db = store.connect(url, models=[Note])
    try:
        assert type(db) is store.database.PooledPostgresStore
        assert db.features.name == "postgresql"
        db.create_tables([Note])
        Note.create(text="pooled")
        raw = db.connection()
        db.close()                          # back to the pool, not closed
        db.connect()
        assert db.connection() is raw
        assert [n.text for n in Note.select()] == ["pooled"]

        results = {}
        second_in = threading.Event()
        release = threading.Event()

        def hold():
            db.connect()
            results["hold"] = Note.select().count()
            second_in.set()
            release.wait(10)
            db.close()

        def third():
            try:
                db.connect()
                results["third"] = "connected"
                db.close()
            except MaxConnectionsExceeded:
                results["third"] = "refused"

        t1 = threading.Thread(target=hold)
        t1.start()
        assert second_in.wait(10)
        t2 = threading.Thread(target=third)
        t2.start()
        t2.join(10)
        release.set()
        t1.join(10)
        assert results == {"hold": 1, "third": "refused"}
    finally:
        if not db.is_closed():
            db.close()
        db.close_all()


# --- features -------------------------------------------------------------------------

def test_features(db):
    name = db.features.name
    assert name in ("sqlite", "postgresql")
    assert store.features(db) is db.features
    if name == "sqlite":
        assert isinstance(db, store.database.SqliteStore)
        assert not db.features.native_json and not db.features.native_uuid
    else:
        assert isinstance(db, store.database.PostgresStore)
        assert db.features.native_json and db.features.advisory_locks
    assert db.execute_sql("SELECT 1").fetchone()[0] == 1


def test_an_unopenable_sqlite_path_is_named(tmp_path):
    missing = tmp_path / "no" / "such" / "folder" / "app.db"
    with pytest.raises(peewee.OperationalError) as info:
        store.connect(f"sqlite:///{missing}")
    assert str(missing) in str(info.value) and "folder does not exist" in str(info.value)
    assert not missing.parent.exists()
