"""store: one set of Peewee models on SQLite (default) or PostgreSQL, by URL.

    import store

    db = store.connect()                       # URL: argument > DATABASE_URL >
                                               # setup.cfg [store] > sqlite:///store.db
    db = store.connect("postgresql://me@localhost/app", models=[Forecast])

    with store.open("sqlite:///notes.db", models=[Note]) as db:
        Note.create(text="hello")

    db = store.connect(apps=["forecast"], migrate=True)    # a notebook cell
    store.table(Forecast.select())             # HTML in Jupyter, text in a terminal
    df = store.to_frame(Forecast.select())     # pandas (the ``pandas`` extra)

The public API is what this module exports; everything else may change.
"""
from __future__ import annotations

import os
import threading
import weakref
from contextlib import contextmanager

from .errors import (AppendOnlyViolation, CheckViolation, ConfigError, ConstraintViolation,
                     ForeignKeyViolation, MigrationError, NotNullViolation,
                     StoreError, TransactionLost, UniqueViolation, ValidationError)
from .fields import (AutoField, BigAutoField, BigIntegerField, BooleanField,
                     CharField, CompositeKey, DateField, DateTimeTZField,
                     DecimalField, DoubleField, EnumField, FloatField,
                     ForeignKeyField, IntegerField, JSONField,
                     SmallIntegerField, TextField, UUIDField, NOW, utcnow)
from .model import Check, Model, TimestampedModel
from .repository import MultipleRowsFound, Repository
from .url import DatabaseURL, parse_url
from .display import Table, table
from .frames import from_frame, to_frame

__all__ = [
    "connect", "open", "features", "parse_url", "DatabaseURL", "SqliteStore", "PostgresStore",
    "bind_app",
    "table", "Table", "to_frame", "from_frame",
    "Model", "TimestampedModel", "Check", "Repository", "MultipleRowsFound",
    "AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField",
    "CompositeKey", "DateField", "DateTimeTZField", "DecimalField", "DoubleField",
    "EnumField", "FloatField", "ForeignKeyField", "IntegerField", "JSONField",
    "SmallIntegerField", "TextField", "UUIDField", "NOW", "utcnow",
    "StoreError", "ConfigError", "ValidationError", "MigrationError",
    "ConstraintViolation", "CheckViolation", "UniqueViolation",
    "ForeignKeyViolation", "NotNullViolation", "AppendOnlyViolation", "TransactionLost",
]

# Databases returned by connect(), per database (see _key): when the same
# database is connected again, the earlier handles' connections of this
# thread are closed, so re-running a notebook cell leaks nothing.
_opened: dict = {}
_opened_lock = threading.Lock()


def _key(url: DatabaseURL):
    """Two URLs that reach the same database: the same SQLite file (however
    it is spelled), the same PostgreSQL URL (options included: another
    ``search_path`` or ``application_name`` is another connection setup)."""
    if url.backend == "sqlite":
        return ("sqlite", os.path.abspath(url.database))
    return url


def _close_earlier(url: DatabaseURL) -> None:
    """Close this thread's connection of every earlier handle of ``url``
    that is idle (a handle inside a transaction is left alone). A closed
    handle still works: peewee reconnects it on its next query. In-memory
    SQLite is never closed (its data would be lost)."""
    if url.is_memory:
        return
    with _opened_lock:
        earlier = list(_opened.get(_key(url), ()))
    for db in earlier:
        if db.in_transaction():
            continue
        db.close()
        close_idle = getattr(db, "close_idle", None)       # a pool: its idle connections
        if close_idle is not None:
            close_idle()


def _remember(db) -> None:
    if db.url.is_memory:
        return
    with _opened_lock:
        _opened.setdefault(_key(db.url), weakref.WeakSet()).add(db)


def _load_apps(apps, migrations):
    """App objects for ``apps`` (names or ``store.migrate.App``), resolved as
    the CLI resolves them (``store.project``): the project's package or a
    seed app, migrations in ``migrations/<app>/`` if given, else the
    project's ``migrations/<app>/``, else (a seed app) those shipped with store."""
    from .project import resolve_apps
    return resolve_apps(apps, migrations=migrations)


def connect(url: str | None = None, *, models=(), apps=(), migrate: bool = False,
            migrations=None, replicas=(), **options):
    """Open the database for ``url``, bind models, return the connected
    peewee Database. Safe to run again (a notebook cell): the connection of
    an earlier ``connect`` to the same database is closed first.

    * ``url``: from, in order, this argument, ``DATABASE_URL``,
      ``setup.cfg [store] database_url``, then ``sqlite:///store.db``.
    * ``models``: bound to the returned database (re-binding is fine).
    * ``apps``: names (``"forecast"``) or ``store.migrate.App`` objects;
      every model of each is bound, in the app's namespace.
    * ``migrate=True``: first apply the apps' pending migrations and create
      the missing tables of ``models`` (``CREATE TABLE IF NOT EXISTS``:
      plain models have no migrations). Without it nothing is created or
      changed. ``migrations``: a folder holding ``<app>/`` migration
      folders, looked at first (then the project's ``migrations/``, then,
      for a seed app, the migrations shipped with store; see
      ``store.project``). An app without migrations is a ``ConfigError``.
    * ``replicas``: streaming read replicas of a PostgreSQL ``url`` (URLs;
      or ``?replica=host:port`` in the URL): reads made outside a
      transaction go to them, the rest to the primary; ``?pooler=pgbouncer``:
      the URL goes through a transaction pooler. See ``store.replicas`` and
      docs/scale.md. Migrating (``migrate=True``) runs on the primary.
    * Extra keyword options go to the peewee Database class.

    Re-running: earlier handles of the same database (same SQLite file, same
    PostgreSQL URL) returned by ``connect``/``open`` have this thread's
    connection closed unless they are inside a transaction; they still work
    (peewee reconnects on the next query). An in-memory SQLite database is
    never closed that way.

    ``with store.connect(...) as db:`` is peewee's ``with db:``: the block is
    one transaction (rolled back on an exception), and the connection is
    closed at the end. ``store.open`` is the same without the transaction.
    """
    from .config import resolve_url
    from .database import open_database

    resolved, _source = resolve_url(url)
    parsed = parse_url(resolved)
    app_objects = _load_apps(apps, migrations) if apps else []
    if replicas and parsed.backend != "postgresql":
        raise ConfigError(f"replicas= needs a PostgreSQL primary, not {parsed.masked()!r}")
    _close_earlier(parsed)
    from contextlib import nullcontext
    from .replicas import needs_scaling, open_scaled
    if needs_scaling(parsed, replicas):
        db = open_scaled(parsed, replicas=replicas, **options)
    else:
        db = open_database(parsed, **options)
    db.connect(reuse_if_open=True)
    _remember(db)
    on_primary = getattr(db, "primary", None)       # a replicated database: no replica
    try:
        if models:
            db.bind_models(models)
            if migrate:
                with (on_primary() if on_primary else nullcontext()):
                    db.create_tables(models, safe=True)
        if app_objects:
            if migrate:
                from . import migrate as runner
                with (on_primary() if on_primary else nullcontext()):
                    runner.migrate(db, app_objects)
            from .legacy import refuse_scaled_decimals
            from .namespaces import bind_app
            for app in app_objects:
                bind_app(db, app)
                refuse_scaled_decimals(db, app.models, app.name)
    except BaseException:
        db.close()
        raise
    return db


@contextmanager
def open(url: str | None = None, *, models=(), apps=(), migrate: bool = False,  # noqa: A001
         migrations=None, replicas=(), **options):
    """``with store.open(url, apps=["forecast"]) as db:`` -- ``connect`` (same
    arguments), and on exit close the connection and give ``models`` and the
    apps' models back the database (and namespace) they had before. No
    transaction is opened: each statement commits as it runs (use
    ``db.atomic()`` inside for one)."""
    bound = list(models)
    if apps:
        bound += [m for app in _load_apps(apps, migrations) for m in app.models]
    previous = [(m, m._meta.database, m._meta.table_name, m._meta.schema) for m in bound]
    db = connect(url, models=models, apps=apps, migrate=migrate, migrations=migrations,
                 replicas=replicas, **options)
    try:
        yield db
    finally:
        if not db.is_closed():
            db.close()
        from .namespaces import set_table
        for model, database, name, schema in previous:
            set_table(model, name, schema)     # SQLite: a namespace prefixes the table name
            model.bind(database)


def features(db):
    """What the backend of ``db`` can do (a ``store.database.Features``)."""
    return db.features


def _register_display() -> None:
    """In an IPython kernel (Jupyter), show peewee queries as HTML tables;
    nothing happens elsewhere (``%load_ext store.display`` when store was
    imported before IPython)."""
    import sys
    if "IPython" in sys.modules:
        from .display import register_ipython
        register_ipython()


_register_display()


#: Submodules the README documents as ``store.<name>`` (``store.fast.bulk_insert``):
#: imported on first use, so that ``import store`` stays light.
_LAZY_MODULES = ("fast", "transfer", "namespaces", "partitions", "replicas", "migrate")
#: Names imported on first use: the database classes (for code that builds
#: one as peewee does: ``SqliteStore(path)``, pwiz's output) and bind_app.
_LAZY_NAMES = {"SqliteStore": "database", "PostgresStore": "database",
               "bind_app": "namespaces"}


def __getattr__(name):
    import importlib
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'store' has no attribute {name!r}")
