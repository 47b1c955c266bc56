"""Embedding store in scripts and notebooks: ``store.connect`` run again (a
notebook cell) leaks no connection, migrating is explicit, ``with`` closes;
and the ``shell`` command, driven through stdin."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import peewee
import pytest

import store
from store.apps.forecast import Category, Forecast
from store.apps.pricing import BrandGroup

ROOT = Path(__file__).resolve().parents[1]


class Memo(store.Model):
    text = store.CharField(max_length=20)

    class Meta:
        checks = [store.Check("text_not_empty", "length(text) > 0")]


@pytest.fixture(autouse=True)
def keep_app_bindings():
    """Tests here bind the apps' models (``connect(apps=...)`` binds for good,
    as a notebook wants): give them back their database and namespace."""
    from store.migrate import load_app
    saved = [(m, m._meta.database, m._meta.schema)
             for app in ("forecast", "pricing", "backlog", "dental", "inventory")
             for m in load_app(app).models]
    yield
    for model, database, schema in saved:
        model._meta.schema = schema
        model.bind(database)


def tables_of(db):
    """Tables of the default schema (a fresh one per test on PostgreSQL)."""
    return sorted(db.get_tables())


def pg_connections(db, name, expect=None):
    """Open connections named ``name``; a closed one can linger a moment in
    pg_stat_activity, so wait (up to 2 s) for ``expect`` when given."""
    deadline = time.monotonic() + 2
    while True:
        count = db.execute_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = %s", (name,)).fetchone()[0]
        if expect is None or count == expect or time.monotonic() > deadline:
            return count
        time.sleep(0.01)


def with_app_name(url, name):
    return url + ("&" if "?" in url else "?") + f"application_name={name}"


def drop_namespaces(db, *names):
    if db.features.name == "postgresql":
        for ns in names:
            db.execute_sql(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')


# --- re-running connect ------------------------------------------------------------

def test_connect_again_closes_the_earlier_connection(db, backend_url):
    """A notebook cell ``db = store.connect(url, ...)`` run N times leaves one
    open connection, not N."""
    name = "store_embed_" + uuid.uuid4().hex[:8]
    url = with_app_name(backend_url, name) if db.features.name == "postgresql" else backend_url
    handles, raw = [], []
    for _ in range(5):
        handle = store.connect(url, models=[Memo], migrate=True)
        handles.append(handle)
        raw.append(handle.connection())
        Memo.create(text=f"run {len(handles)}")
    try:
        assert [h.is_closed() for h in handles] == [True] * 4 + [False]
        if db.features.name == "postgresql":
            assert pg_connections(db, name, expect=1) == 1
            assert [c.closed for c in raw] == [True] * 4 + [False]
        else:
            for conn in raw[:-1]:                 # the driver's connection itself is closed
                with pytest.raises(sqlite3.ProgrammingError, match="closed"):
                    conn.execute("SELECT 1")
            assert raw[-1].execute("SELECT count(*) FROM memo").fetchone() == (5,)
        assert Memo._meta.database is handles[-1]
        # an earlier handle still works (peewee reconnects it) ...
        assert handles[0].execute_sql("SELECT count(*) FROM memo").fetchone()[0] == 5
        # ... and the next connect closes it again
        handles.append(store.connect(url, models=[Memo]))
        assert handles[0].is_closed() and handles[-2].is_closed()
        if db.features.name == "postgresql":
            assert pg_connections(db, name, expect=1) == 1
    finally:
        for handle in handles:
            handle.close()
    if db.features.name == "postgresql":
        assert pg_connections(db, name, expect=0) == 0


def test_connect_leaves_a_handle_inside_a_transaction_alone(db, backend_url, tables):
    tables(Memo)
    first = store.connect(backend_url, models=[Memo])
    try:
        with first.atomic():
            Memo.create(text="pending")
            second = store.connect(backend_url)          # same database, while in a transaction
            assert not first.is_closed() and first.in_transaction()
            assert second.execute_sql("SELECT count(*) FROM memo").fetchone()[0] == 0
        assert second.execute_sql("SELECT count(*) FROM memo").fetchone()[0] == 1
        second.close()
    finally:
        first.close()


def test_other_databases_are_not_closed(db, backend_url, tmp_path):
    other = store.connect(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        again = store.connect(backend_url)
        assert not other.is_closed() and not again.is_closed()
        again.close()
    finally:
        other.close()


def test_in_memory_sqlite_is_never_closed_by_a_new_connect():
    """Closing an in-memory database would lose its data: left alone (SQLite only)."""
    first = store.connect("sqlite:///:memory:", models=[Memo], migrate=True)
    Memo.create(text="kept")
    second = store.connect("sqlite:///:memory:")
    try:
        assert not first.is_closed()
        assert first.execute_sql("SELECT text FROM memo").fetchall() == [("kept",)]
        assert second.get_tables() == []                  # another database
    finally:
        first.close()
        second.close()


# --- migrating is explicit ---------------------------------------------------------

def test_connect_creates_nothing_without_migrate(db, backend_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                   # no migrations/ here: none is needed
    before = tables_of(db)
    plain = store.connect(backend_url, apps=["forecast"], models=[Memo])
    try:
        assert tables_of(plain) == before == []
        assert Forecast._meta.database is plain and Memo._meta.database is plain
        with pytest.raises((peewee.OperationalError, peewee.ProgrammingError)):
            Forecast.select().count()
    finally:
        plain.close()


def test_migrate_true_applies_the_apps_migrations_once(db, backend_url, tmp_path,
                                                       monkeypatch):
    """Re-running a cell with migrate=True: migrated once, no error, from any
    working directory (the checkout's migrations are found)."""
    monkeypatch.chdir(tmp_path)
    for _ in range(3):
        cell = store.connect(backend_url, apps=["pricing"], models=[Memo], migrate=True)
    try:
        assert {"brand_groups", "models", "pricing_migrate_history", "memo"} <= set(tables_of(db))
        assert db.execute_sql("SELECT name FROM pricing_migrate_history ORDER BY id").fetchall() \
            == [("001_initial",), ("002_decimal_storage",)]
        BrandGroup.create(brand="Levi's", group_name="jeans", base_price="45")
        with pytest.raises(store.CheckViolation) as refused:
            BrandGroup.create(brand="Nike", group_name="shoes", base_price="4.99")
        assert refused.value.constraint == "ck_brand_groups_base_price"
        assert BrandGroup._meta.database is cell
    finally:
        cell.close()


def test_migrate_true_with_a_namespaced_app(db, backend_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        for _ in range(2):
            cell = store.connect(backend_url, apps=["dental"], migrate=True)
        from store.apps.dental import User
        User.create(username="ana", email="ana@example.org", hashed_password="x")
        assert User.select().count() == 1
        assert "users" not in tables_of(db)            # in the namespace, not the default one
        cell.close()
    finally:
        drop_namespaces(db, "dental")


def test_unknown_app_is_refused_before_connecting(backend_url):
    with pytest.raises(store.ConfigError, match="no_such_app"):
        store.connect(backend_url, apps=["no_such_app"])


# --- context managers ----------------------------------------------------------------

def test_with_connect_is_one_transaction_and_closes(db, backend_url):
    with store.connect(backend_url, models=[Memo], migrate=True) as cell:
        Memo.create(text="kept")
    assert cell.is_closed()
    with pytest.raises(store.CheckViolation) as refused:
        with store.connect(backend_url, models=[Memo]) as cell:
            Memo.create(text="rolled back")
            Memo.create(text="")
    assert refused.value.constraint == "ck_memo_text_not_empty"
    assert cell.is_closed()
    assert db.execute_sql("SELECT text FROM memo").fetchall() == [("kept",)]


def test_open_migrates_when_asked_closes_and_restores_binding(db, backend_url):
    before = Memo._meta.database
    with store.open(backend_url, models=[Memo], migrate=True) as opened:
        Memo.create(text="one")
        Memo.create(text="two")                    # autocommit: no transaction
    assert opened.is_closed() and Memo._meta.database is before
    assert db.execute_sql("SELECT count(*) FROM memo").fetchone()[0] == 2


def test_open_gives_the_apps_models_their_namespace_back(db, backend_url):
    from store.apps.dental import Case
    before = Case._meta.database, Case._meta.schema, Case._meta.table_name
    try:
        with store.open(backend_url, apps=["dental"], migrate=True) as opened:
            assert Case._meta.database is opened
            assert (Case._meta.schema, Case._meta.table_name) == (
                (None, "dental__cases") if opened.features.name == "sqlite"
                else ("dental", "cases"))
            assert Case.select().count() == 0
        assert (Case._meta.database, Case._meta.schema, Case._meta.table_name) == before
    finally:
        drop_namespaces(db, "dental")


# --- the shell command ---------------------------------------------------------------

def run_shell(url, stdin, *args, scratch, env=None):
    """``python cli.py shell ARGS`` with ``stdin``; IPython keeps its profile
    in ``scratch``."""
    from store.project import SEED_APPS
    project = scratch / "project"                    # the seed apps, not ROOT's setup.cfg
    project.mkdir(exist_ok=True)
    (project / "setup.cfg").write_text(f"[store]\napps = {' '.join(SEED_APPS)}\n")
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
                   "DATABASE_URL": url, "IPYTHONDIR": str(scratch / "ipython"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "store", "shell", *args], input=stdin,
                          cwd=project,
                          capture_output=True, text=True, timeout=60, env=environment)


@pytest.fixture
def forecast_db(db, backend_url, tmp_path, monkeypatch):
    """The forecast app migrated, with two categories and their forecasts."""
    import datetime as dt
    monkeypatch.chdir(tmp_path)
    app_db = store.connect(backend_url, apps=["forecast"], migrate=True)
    for n in (1, 2):
        Category.create(category_id=f"C{n}", category_name=f"cat {n}",
                        season_start_date=dt.date(2026, 1, 1),
                        season_end_date=dt.date(2026, 3, 1), season_length_weeks=8)
    for n in range(3):
        Forecast.create(forecast_id=f"F{n}", category="C1", season="SS26",
                        forecast_horizon_weeks=8, total_season_demand=100 * n,
                        weekly_demand_curve=[{"week_number": 1, "demand_units": n}],
                        peak_week=1, models_used=["arima"])
    yield app_db
    app_db.close()
    drop_namespaces(db, "dental", "inventory")


@pytest.mark.parametrize("how", ["--plain", "env"])
def test_shell_plain_console_has_the_models(forecast_db, backend_url, how, tmp_path):
    code = ("print('count', Forecast.select().count(), Category.select().count())\n"
            "print('week 1 of F2:', Forecast.get_by_id('F2').weekly_demand_curve[0])\n"
            "from store.namespaces import split_name\n"
            "print('bound', Forecast._meta.database is db,\n"
            "      dental.User._meta.schema or split_name(dental.User._meta.table_name)[0])\n"
            "User\n")
    args, env = (["--plain"], None) if how == "--plain" else ([], {"STORE_SHELL_PLAIN": "1"})
    result = run_shell(backend_url, code, *args, env=env, scratch=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "count 3 2" in result.stdout
    assert "week 1 of F2: {'week_number': 1, 'demand_units': 2}" in result.stdout
    assert "bound True dental" in result.stdout
    assert "User is in several apps: use dental.User, inventory.User" in result.stderr
    assert "NameError: name 'User' is not defined" in result.stderr     # not bound bare
    assert result.stdout.startswith(">>> ") and "In [1]" not in result.stdout   # code.interact


def test_shell_uses_ipython_when_installed(forecast_db, backend_url, tmp_path):
    pytest.importorskip("IPython")
    result = run_shell(backend_url, "Forecast.select().count() + 40\n", scratch=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "IPython" in result.stdout and "Out[1]: 43" in result.stdout


def test_shell_command_option_and_errors(forecast_db, backend_url, tmp_path):
    ok = run_shell(backend_url, "", "-c",
                   "print(table(Forecast.select(Forecast.forecast_id, "
                   "Forecast.total_season_demand).order_by(Forecast.forecast_id)))",
                   scratch=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "F2          |                 200" in ok.stdout and "(3 rows)" in ok.stdout
    failed = run_shell(backend_url, "", "-c", "Forecast.get_by_id('nope')", scratch=tmp_path)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1].startswith("Error: ForecastDoesNotExist")
