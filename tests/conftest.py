"""One ``db`` fixture, two backends: every database test runs on SQLite (a
file in tmp_path) and on PostgreSQL (a schema of its own in a database made
for this test run).

PostgreSQL is found from ``STORE_TEST_POSTGRES_URL``, else 127.0.0.1:5432 if
it answers, else an embedded server from ``pgserver``. Under ``CI=true`` a
PostgreSQL that cannot be had fails the run (never a skip), and so does a run
in which no PostgreSQL test passed.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from urllib.parse import quote

import psycopg
import pytest

import store

BACKENDS = ("sqlite", "postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_state = {"pg_passed": 0}


def _answers(conninfo: str) -> bool:
    try:
        psycopg.connect(conninfo, connect_timeout=3).close()
        return True
    except Exception:
        return False


def _admin_url(tmp_factory) -> str:
    url = os.environ.get("STORE_TEST_POSTGRES_URL")
    if url:
        return url
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if _answers(local):
        return local
    import pgserver  # dev extra: embedded PostgreSQL for machines without one
    server = pgserver.get_server(str(tmp_factory.mktemp("pgdata")), cleanup_mode="stop")
    return server.get_uri("postgres")


@pytest.fixture(scope="session")
def pg_database(tmp_path_factory):
    """A database made for this run (dropped at the end); yields its URL."""
    try:
        admin = _admin_url(tmp_path_factory)
        name = "store_test_" + uuid.uuid4().hex[:10]
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - reported below, never leaks credentials
        message = f"PostgreSQL unavailable: {type(exc).__name__}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)", pytrace=False)
        pytest.skip(message)
    base = admin.rsplit("/", 1)[0].split("?", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _fresh_schema(pg_database):
    """A URL whose connections live in a new schema, dropped at the end."""
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{pg_database}?options=" + quote(f"-csearch_path={schema}")
    finally:
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_url(pg_database):
    """A URL whose connections live in a fresh schema, dropped after the test."""
    with _fresh_schema(pg_database) as url:
        yield url


@pytest.fixture
def fresh_url(db, tmp_path, request):
    """A second, empty database on ``db``'s backend (the target of a copy or
    load on the same backend)."""
    if db.features.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    with _fresh_schema(request.getfixturevalue("pg_database")) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=BACKENDS)
def backend_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def db(backend_url):
    """A connected store database on the parametrized backend."""
    database = store.connect(backend_url)
    yield database
    if not database.is_closed():
        if database.in_transaction():
            database.rollback()
        database.close()


@pytest.fixture
def tables(db):
    """``tables(M1, M2, ...)``: bind the models to ``db`` and create them."""
    def make(*models):
        from store.namespaces import scope_model
        for model in models:           # a namespace bound by an earlier test is set aside
            scope_model(model, db.features.name, None)
        db.bind_models(models)
        db.create_tables(models)
        return models
    return make


@pytest.fixture(autouse=True)
def _declared_table_names():
    """Any model bound in a SQLite namespace during a test (its table renamed
    ``<ns>__<table>``) gets its declared name back afterwards, so a later test
    may create it with the ``tables`` fixture."""
    yield
    import peewee

    from store.namespaces import scope_model
    todo = list(peewee.Model.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if "store_base_table" in model._meta.__dict__:
            scope_model(model, "postgresql", None)


@pytest.fixture(autouse=True)
def _app_model_bindings():
    """Give every model of the shipped apps back its database and namespace
    after each test (``bind_app`` sets ``Meta.schema`` for the class)."""
    import importlib
    models = []
    for name in ("forecast", "pricing", "backlog", "dental", "inventory"):
        try:
            models += importlib.import_module(f"store.apps.{name}").MODELS
        except ImportError:
            pass
    from store.namespaces import set_table
    saved = [(m, m._meta.database, m._meta.table_name, m._meta.schema) for m in models]
    yield
    for model, database, name, schema in saved:
        set_table(model, name, schema)     # SQLite: a namespace prefixes the table name
        if model._meta.database is not database:
            model.bind(database, bind_refs=False, bind_backrefs=False)


def pytest_runtest_logreport(report):
    if "[postgres" not in report.nodeid:
        return
    if report.when == "call" and report.passed:
        _state["pg_passed"] += 1
    elif report.skipped and "PostgreSQL unavailable" in str(report.longrepr):
        _state["pg_unavailable"] = _state.get("pg_unavailable", 0) + 1


def pytest_sessionfinish(session, exitstatus):
    collected = getattr(session, "testscollected", 0)
    if IN_CI and collected and _state["pg_passed"] == 0 and exitstatus == 0:
        print("\nCI=true but no PostgreSQL test passed: failing the run")
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    """Outside CI an unreachable PostgreSQL skips half the suite: say so last,
    where it cannot be missed (under CI=true it fails the run instead)."""
    skipped = _state.get("pg_unavailable", 0)
    if skipped:
        terminalreporter.write_sep("!", f"{skipped} PostgreSQL tests SKIPPED: no PostgreSQL "
                                        f"could be reached or started; parity is NOT tested",
                                   red=True, bold=True)
