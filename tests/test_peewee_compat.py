"""store's database classes take what peewee's take, for code that mixes
plain peewee with store: ``SqliteStore(path, pragmas=..., timeout=...)``,
``PostgresStore(dbname, host=..., user=...)``, ``db.timeout`` that survives
a reconnect, and the model module pwiz writes for a store database (which
needs one import line added: the README's documented deviation)."""
from __future__ import annotations

import subprocess
import sys

import peewee
import pytest
from playhouse.reflection import Introspector

import store
from store.database import PostgresStore, SqliteStore


def busy_timeout(db):
    return db.execute_sql("PRAGMA busy_timeout").fetchone()[0]


def test_sqlite_store_takes_a_path_like_peewee(tmp_path):
    path = str(tmp_path / "plain.db")
    db = SqliteStore(path)
    db.execute_sql("CREATE TABLE t (x INTEGER)")
    assert db.url.database == path and db.url.backend == "sqlite"
    assert (tmp_path / "plain.db").exists()
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1   # store's pragmas kept
    db.close()


def test_sqlite_store_takes_pragmas_and_timeout(tmp_path):
    db = SqliteStore(str(tmp_path / "p.db"), pragmas={"cache_size": -4000, "foreign_keys": 1},
                     timeout=2.5)
    assert db.execute_sql("PRAGMA cache_size").fetchone()[0] == -4000
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute_sql("PRAGMA recursive_triggers").fetchone()[0] == 1
    assert busy_timeout(db) == 2500 and db.timeout == 2.5
    db.close()
    listed = SqliteStore(str(tmp_path / "p.db"), pragmas=[("cache_size", -1000)])
    assert listed.execute_sql("PRAGMA cache_size").fetchone()[0] == -1000
    listed.close()


def test_a_timeout_set_by_the_user_survives_a_reconnect(tmp_path):
    db = store.connect(f"sqlite:///{tmp_path / 't.db'}")
    db.connect(reuse_if_open=True)
    db.timeout = 3
    assert busy_timeout(db) == 3000
    db.close()
    db.connect()
    assert busy_timeout(db) == 3000
    db.close()


def test_url_timeout_still_sets_the_busy_timeout(tmp_path):
    db = store.connect(f"sqlite:///{tmp_path / 't.db'}?timeout=1.5")
    assert busy_timeout(db) == 1500
    db.close()


def test_postgres_store_takes_a_database_name_like_peewee(pg_database):
    url = store.parse_url(pg_database)
    db = PostgresStore(url.database, host=url.host or "127.0.0.1", port=url.port or 5432,
                       user=url.user or "postgres", prefer_psycopg3=True)
    assert db.execute_sql("SELECT current_database()").fetchone()[0] == url.database
    assert db.url.host == (url.host or "127.0.0.1") and db.url.user == (url.user or "postgres")
    assert "postgres" in db.url.masked()
    db.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_pwiz_output_for_a_store_database_runs(backend, tmp_path, request):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'w.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    db = store.connect(url)
    db.execute_sql("CREATE TABLE gadget (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL)")
    db.execute_sql("INSERT INTO gadget (id, name) VALUES (1, 'one')")
    module = tmp_path / "generated.py"
    with module.open("w") as out:
        code = ("import sys, pwiz, store\n"
                "from playhouse.reflection import Introspector\n"
                f"db = store.connect({url!r})\n"
                "pwiz.print_models(Introspector.from_database(db))\n")
        subprocess.run([sys.executable, "-c", code], stdout=out, check=True, cwd=tmp_path)
    text = module.read_text()
    # pwiz names the database's class and imports only peewee: the one line
    # the README tells users to add (a documented deviation)
    assert f"database = {type(db).__name__}(" in text
    module.write_text(text.replace("from peewee import *",
                                   "from peewee import *\nfrom store import SqliteStore, "
                                   "PostgresStore", 1))
    ran = subprocess.run(
        [sys.executable, "-c", "import generated; print(generated.Gadget.get_by_id(1).name)"],
        cwd=tmp_path, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr[-800:]
    assert ran.stdout.strip() == "one"
    db.close()


def test_introspector_reads_a_store_database(db):
    db.execute_sql("CREATE TABLE gizmo (id INTEGER PRIMARY KEY, label VARCHAR(10))")
    models = Introspector.from_database(db).generate_models(table_names=["gizmo"])
    assert isinstance(models["gizmo"].label, peewee.CharField)
