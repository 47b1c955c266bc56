"""Namespaces: one app's tables apart from another's, the same way on both.

Two apps may use the same table name (``models`` in pricing and dental,
``users`` in dental and inventory); an app declares ``NAMESPACE = "dental"``
in its module and its tables live there:

* PostgreSQL: the schema ``dental`` (created by ``migrate``).
* SQLite: the database file ``<main stem>.dental<suffix>`` next to the main
  file (``store.dental.db`` beside ``store.db``), ATTACHed as ``dental`` to
  every connection store opens, so queries say ``"dental"."models"`` on both.

Migrations of a namespaced app run *inside* the namespace, as if it were the
whole database: on PostgreSQL with ``search_path`` set to the schema, on
SQLite on the namespace's own file. Generated migrations therefore name no
schema, and the same app can be migrated into several namespaces, each with
its own history table: pricing's shared tables in the default schema and a
copy per tenant (``migrate pricing --namespace user_42``).

Known limits, by design of the backends: a foreign key cannot cross from one
SQLite file to another, so an app's foreign keys stay inside its namespace
(store's apps do); a model class is bound to one namespace at a time
(``bind_app`` re-binds it, as it re-binds the database).
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from .errors import ConfigError

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_name(namespace: str) -> str:
    if not isinstance(namespace, str) or not _NAME.match(namespace) \
            or namespace in ("main", "temp", "pg_catalog", "information_schema"):
        raise ConfigError(f"namespace {namespace!r} must be a lower-case identifier "
                          f"(letters, digits, underscores; not main/temp/pg_catalog)")
    return namespace


#: Namespaces no app may be moved into with ``--namespace``: PostgreSQL's
#: default schema (``reset --namespace public`` would drop it) and the
#: system schemas.
RESERVED = ("public", "main", "temp", "pg_catalog", "information_schema", "pg_toast")


def check_tenant_namespace(namespace: str, others: dict | None = None) -> str:
    """A namespace given on the command line (``--namespace``): a valid name,
    not reserved, not the namespace of another app (``others``: ns -> app)."""
    check_name(namespace)
    if namespace in RESERVED or namespace.startswith("pg_"):
        raise ConfigError(f"--namespace {namespace!r} is reserved (public, main, temp and "
                          f"system schemas cannot hold an app's tables); choose another name")
    if others and namespace in others:
        raise ConfigError(f"--namespace {namespace!r} is the namespace of app "
                          f"{others[namespace]!r}; choose another name")
    return namespace


def sqlite_path(db, namespace: str) -> str:
    """The file of ``namespace`` beside the main SQLite file."""
    main = db.url.database
    if main == ":memory:":
        return ":memory:"
    path = Path(main)
    return str(path.with_name(f"{path.stem}.{namespace}{path.suffix or '.db'}"))


def _pg_url(url, namespace):
    options = dict(url.options)
    flags = [f for f in options.get("options", "").split() if "search_path" not in f]
    flags.append(f"-csearch_path={namespace}")
    options["options"] = " ".join(flags)
    return dataclasses.replace(url, options=tuple(sorted(options.items())))


def open_namespace(db, namespace: str | None):
    """A connected store database whose default schema is ``namespace`` (a
    new connection; close it when done). ``None``: ``db`` itself."""
    if namespace is None:
        return db
    check_name(namespace)
    from .database import open_database
    if db.features.name == "sqlite":
        if db.url.is_memory:
            raise ConfigError(f"namespace {namespace!r}: an in-memory SQLite database "
                              f"cannot be shared with a migration connection; use a file")
        scoped = open_database(dataclasses.replace(db.url, database=sqlite_path(db, namespace)))
    else:
        create_schema(db, namespace)
        scoped = open_database(_pg_url(db.url, namespace))
    scoped.connect(reuse_if_open=True)
    return scoped


def create_schema(db, namespace: str) -> None:
    """PostgreSQL: create the schema ``namespace`` unless it exists, safe
    against concurrent ``migrate`` processes (two ``CREATE SCHEMA IF NOT
    EXISTS`` at once can fail on pg_namespace's unique index): under a
    transaction-scoped advisory lock per namespace, committed at once."""
    import hashlib
    exists = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
    if db.execute_sql(exists, (namespace,)).fetchone():
        return
    key = int.from_bytes(hashlib.sha256(f"store:schema:{namespace}".encode()).digest()[:8],
                         "big", signed=True)
    with db.atomic():
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))
        if not db.execute_sql(exists, (namespace,)).fetchone():
            db.execute_sql(f'CREATE SCHEMA "{namespace}"')


def sqlite_names(db, namespace: str):
    """The names in ``sqlite_master`` of a SQLite namespace's file, read
    without attaching or creating it; None when the file does not exist."""
    path = Path(sqlite_path(db, namespace))
    if db.url.is_memory or not path.exists():
        return None
    import sqlite3
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()


def attach(db, namespace: str) -> None:
    """Make ``"namespace".table`` resolvable on ``db`` (SQLite: ATTACH the
    namespace file on this and every later connection; PostgreSQL: the
    schema is already there)."""
    check_name(namespace)
    if db.features.name == "sqlite":
        db.attach(sqlite_path(db, namespace), namespace)


def bind_app(db, app, namespace: str | None = None):
    """Bind ``app``'s models to ``db`` in ``namespace`` (default: the app's
    own, ``None`` for the default schema). Returns the models."""
    namespace = namespace if namespace is not None else getattr(app, "namespace", None)
    if namespace is not None:
        attach(db, namespace)
    for model in app.models:
        model._meta.schema = namespace
    db.bind_models(app.models)
    return app.models


def drop_if_empty(db, namespace: str) -> bool:
    """Remove an empty namespace (``reset`` leaves nothing behind): the
    PostgreSQL schema if nothing is in it, the SQLite file if it has no table.
    Returns whether it was removed."""
    check_name(namespace)
    if db.features.name == "postgresql":
        left = db.execute_sql(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s", (namespace,)).fetchone()[0]
        left += db.execute_sql(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = %s", (namespace,)).fetchone()[0]
        if left:
            return False
        db.execute_sql(f'DROP SCHEMA IF EXISTS "{namespace}"')
        return True
    names = sqlite_names(db, namespace)
    if names is None or names:
        return False
    path = Path(sqlite_path(db, namespace))
    if namespace in getattr(db, "_attached", {}):
        db.detach(namespace)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return True
