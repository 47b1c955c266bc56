"""Namespaces: one app's tables apart from another's, the same way on both.

Two apps may use the same table name (``models`` in pricing and dental,
``users`` in dental and inventory); an app declares ``NAMESPACE = "dental"``
in its module and its tables live there:

* PostgreSQL: the schema ``dental`` (created by ``migrate``); SQL says
  ``"dental"."models"``.
* SQLite: the main file itself (``store.db``: one file holds every app, so a
  copy of it is a whole backup and a transaction over several apps is one
  SQLite transaction), each table under a prefixed name: namespace, two
  underscores, table (``dental__models``). Index and trigger names get the
  same prefix (they are unique per file on SQLite). A namespace name has no
  ``__`` and does not end with ``_``, and a table of the default namespace has
  no ``__`` in its name, so a name splits one way only (``split_name``).

Bound models (``bind_app``) carry the right name for their backend: schema
``dental`` and table ``models`` on PostgreSQL, no schema and table
``dental__models`` on SQLite (``base_table`` gives back ``models``).
``qualified(db, "dental", "models")`` writes the table portably in raw SQL.

Migrations of a namespaced app run *inside* the namespace, as if it were the
whole database: on PostgreSQL with ``search_path`` set to the schema, on
SQLite on a view of the main file (``open_namespace``) whose migrator adds the
prefix to the tables, indexes and triggers it creates, alters or drops, whose
history table is ``dental__dental_migrate_history`` and whose introspection
lists only the namespace's tables, prefix stripped. Generated migrations
therefore name no schema or prefix, and the same app can be migrated into
several namespaces, each with its own history table: pricing's shared tables
in the default schema and a copy per tenant (``migrate pricing --namespace
user_42``). Raw SQL in a namespaced migration must name its tables with
``migrator.table_name("models")`` (``models`` on PostgreSQL,
``dental__models`` on SQLite); on SQLite ``migrator.sql()`` refuses SQL that
names a table of the namespace without its prefix after FROM, INTO, UPDATE,
JOIN, TABLE, ON or REFERENCES (it would be another namespace's table).

Before store kept namespaces in one file each (``store.dental.db`` beside
``store.db``, ATTACHed). Such a file is never ignored: ``migrate`` (and every
command that runs migrations: ``open_namespace`` calls ``merge_legacy``)
merges it into the main file in one transaction (tables, rows, indexes,
triggers, AUTOINCREMENT counters, history) and renames it to
``store.dental.db.merged-into-store.db.bak`` (never deleted); ``bind_app`` and
``read_history`` (so ``store.connect(apps=...)``, ``status``, ``history``,
``check``, a copy or dump from it) refuse while it is there, naming the file
and ``python cli.py migrate``.

Known limits: on SQLite a namespace's CHECK names are made from the
prefixed table name (``ck_dental__models_x``); introspection and constraint
errors report them without the prefix, as PostgreSQL names them, except a
name longer than 63 characters, cut with a hash (``ck_..._1a2b3c4``) that
then differs (the live-schema check compares such CHECKs by their SQL). A
model class is bound to one namespace at a time
(``bind_app`` re-binds it, as it re-binds the database); store's apps keep
their foreign keys inside their namespace (one across namespaces would work
on both backends, but copy/dump order apps one by one).
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from .errors import ConfigError
from .names import (SEPARATOR, _NAME, _rename, base_table, base_tables,  # noqa: F401
                    check_name, scope_model, scoped, set_table, split_name, strip, unscoped)

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


# --- names ------------------------------------------------------------------------------

def _sqlite(db) -> bool:
    return db.features.name == "sqlite"


def view_namespace(db):
    """The namespace a SQLite database object is a view of (``open_namespace``),
    else None."""
    return getattr(db, "store_namespace", None)


def prefix(db, namespace: str | None = None) -> str:
    """``"dental__"`` on SQLite for ``namespace`` (default: the namespace
    ``db`` is a view of); ``""`` on PostgreSQL and without a namespace."""
    namespace = namespace if namespace is not None else view_namespace(db)
    if namespace is None or not _sqlite(db):
        return ""
    return f"{namespace}{SEPARATOR}"


def table_name(db, table: str, namespace: str | None = None) -> str:
    """The name of ``table`` of ``namespace`` (default: the view's) as SQL
    on ``db`` must write it unqualified: ``dental__models`` on SQLite,
    ``models`` on PostgreSQL (where the schema or search_path places it)."""
    return prefix(db, namespace) + table


def qualified(db, namespace: str | None, table: str) -> str:
    """``table`` of ``namespace`` quoted for raw SQL on ``db``:
    ``"dental"."models"`` on PostgreSQL, ``"dental__models"`` on SQLite."""
    from .fields import quote_ident
    if namespace is None:
        return quote_ident(table)
    if _sqlite(db):
        return quote_ident(f"{namespace}{SEPARATOR}{table}")
    return f"{quote_ident(namespace)}.{quote_ident(table)}"


def namespace_tables(db, namespace: str) -> list:
    """SQLite: the tables of ``namespace`` in the main file, prefix stripped."""
    head = f"{namespace}{SEPARATOR}"
    rows = db.execute_sql("SELECT name FROM main.sqlite_master WHERE type = 'table' "
                          "AND substr(name, 1, ?) = ? ORDER BY name",
                          (len(head), head)).fetchall()
    return [r[0][len(head):] for r in rows]


# --- the old layout: one file per namespace ----------------------------------------------

def legacy_path(db, namespace: str) -> str:
    """The file ``store.<namespace>.db`` beside the main SQLite file, where
    store kept a namespace before (merged by ``migrate``)."""
    main = db.url.database
    if main == ":memory:":
        return ":memory:"
    path = Path(main)
    return str(path.with_name(f"{path.stem}.{namespace}{path.suffix or '.db'}"))


def legacy_file(db, namespace: str | None):
    """The old-layout file of ``namespace`` when it exists, else None."""
    if namespace is None or not _sqlite(db) or db.url.is_memory:
        return None
    path = Path(legacy_path(db, namespace))
    return path if path.exists() else None


def backup_path(db, legacy: Path) -> Path:
    return legacy.with_name(f"{legacy.name}.merged-into-{Path(db.url.database).name}.bak")


def check_legacy(db, namespace: str | None) -> None:
    """Refuse to work on ``namespace`` while its old-layout file exists (its
    data would look lost)."""
    found = legacy_file(db, namespace)
    if found is not None:
        raise ConfigError(
            f"namespace {namespace!r}: {found} holds its tables in store's old layout (one "
            f"file per namespace); run `python cli.py migrate` to merge it into "
            f"{db.url.database} (the old file is kept as {backup_path(db, found).name})")


def _sqlite_quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_HEAD = {
    "table": re.compile(r'^(\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?)'
                        r'("(?:[^"]|"")+"|\[[^\]]+\]|`[^`]+`|\w+)', re.I),
    "index": re.compile(r'^(\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?)'
                        r'("(?:[^"]|"")+"|\[[^\]]+\]|`[^`]+`|\w+)(\s+ON\s+)'
                        r'("(?:[^"]|"")+"|\[[^\]]+\]|`[^`]+`|\w+)', re.I),
    "trigger": re.compile(r'^(\s*CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TRIGGER\s+'
                          r'(?:IF\s+NOT\s+EXISTS\s+)?)'
                          r'("(?:[^"]|"")+"|\[[^\]]+\]|`[^`]+`|\w+)', re.I),
}
_IDENT = re.compile(r'"((?:[^"]|"")+)"|\[([^\]]+)\]|`([^`]+)`|\b([A-Za-z_]\w*)\b')
_STRING = re.compile(r"'(?:[^']|'')*'")


def _unquote(token: str) -> str:
    if token[0] == '"':
        return token[1:-1].replace('""', '"')
    if token[0] in "[`":
        return token[1:-1]
    return token


def rename_in_sql(sql: str, names: dict, kind: str, *, seen=None) -> str:
    """``sql`` of ``sqlite_master`` (a table, index or trigger) with the
    object's own name and every reference to the tables of ``names`` (old ->
    new) renamed: the head, ``REFERENCES t``, ``ON t``, ``FROM``/``INTO``/
    ``UPDATE``/``JOIN t``; string literals are left alone."""
    def head(m):
        groups = list(m.groups())
        for i, g in enumerate(groups):
            if i % 2 == 1 and g is not None:
                groups[i] = _sqlite_quoted(names.get(_unquote(g), _unquote(g)))
        return "".join(groups)
    if kind in _HEAD:
        sql = _HEAD[kind].sub(head, sql, count=1)
    out, last = [], 0
    for s in _STRING.finditer(sql):
        out.append(_rename_refs(sql[last:s.start()], names, seen))
        out.append(s.group(0))
        last = s.end()
    out.append(_rename_refs(sql[last:], names, seen))
    return "".join(out)


_TOKEN = re.compile(r'"(?:[^"]|"")+"|\[[^\]]+\]|`[^`]+`|[A-Za-z_]\w*|\S')
_BEFORE_TABLE = {"REFERENCES", "ON", "FROM", "INTO", "UPDATE", "JOIN", "TABLE"}


def _rename_refs(text, names, seen):
    """Identifiers right after a keyword of ``_BEFORE_TABLE`` renamed."""
    out, last, previous = [], 0, None
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        if previous in _BEFORE_TABLE and token[0] in '"[`' or (
                previous in _BEFORE_TABLE and (token[0].isalpha() or token[0] == "_")
                and token.upper() not in _KEYWORDS):
            name = _unquote(token)
            if name in names:
                if seen is not None:
                    seen.append(name)
                out.append(text[last:m.start()])
                out.append(_sqlite_quoted(names[name]))
                last = m.end()
        previous = token.upper() if token[0].isalpha() else None
    out.append(text[last:])
    return "".join(out)


_KEYWORDS = {"ON", "OF", "OR", "SET", "SELECT", "WHERE", "VALUES", "DEFAULT", "DELETE",
             "INSERT", "UPDATE", "CONFLICT", "NOT", "NULL", "EACH", "ROW", "BEGIN", "END"}


def tables_named(sql: str, names) -> list:
    """The names among ``names`` that ``sql`` uses as a table (after FROM,
    INTO, UPDATE, JOIN, TABLE, ON or REFERENCES; string literals aside)."""
    seen = []
    rename_in_sql(sql, {n: n for n in names}, "none", seen=seen)
    return seen


def merge_legacy(db, namespace: str):
    """Move the old-layout file of ``namespace`` into the main SQLite file in
    one transaction (tables, rows, indexes, triggers, AUTOINCREMENT counters,
    the history table), then rename the old file to a backup (never deleted).
    Returns the backup's path, or None when there was no old file."""
    import sqlite3
    found = legacy_file(db, namespace)
    if found is None:
        return None
    check_name(namespace)
    if db.in_transaction():
        raise ConfigError(f"namespace {namespace!r}: cannot merge {found} inside a transaction")
    # Its WAL (if any) folded into the file first: the file alone is complete.
    try:
        conn = sqlite3.connect(f"{found.resolve().as_uri()}?mode=rw", uri=True)  # never creates
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            conn.execute("PRAGMA journal_mode = DELETE").fetchall()
            entries = conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE name NOT LIKE 'sqlite_%' AND sql IS NOT NULL "
                "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid"
            ).fetchall()
            sequences = []
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
                sequences = conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise ConfigError(f"namespace {namespace!r}: cannot read the old-layout file "
                          f"{found}: {exc}") from exc
    head = f"{namespace}{SEPARATOR}"
    names = {name: head + name for _kind, name, _t, _sql in entries}
    for kind, name, table, _sql in entries:
        # an append-only guard gets the name the new layout gives it
        guard = re.fullmatch(rf"tr_{re.escape(table)}_(append_only_\w+)", name)
        if kind == "trigger" and guard:
            names[name] = f"tr_{head}{table}_{guard.group(1)}"
    views = [name for kind, name, _t, _sql in entries if kind == "view"]
    if views:
        raise ConfigError(f"namespace {namespace!r}: {found} holds view(s) "
                          f"{', '.join(views)}; store cannot merge views, drop or move them first")
    taken = {r[0] for r in db.execute_sql("SELECT name FROM main.sqlite_master").fetchall()}
    clash = sorted(n for n in names.values() if n in taken)
    if clash:
        raise ConfigError(
            f"namespace {namespace!r}: {db.url.database} already holds {', '.join(clash)} "
            f"and {found} holds the same tables in the old layout; keep one: move {found} "
            f"away, or reset the namespace in {db.url.database} and run migrate again")
    alias = "store_legacy_merge"
    from .model import constraint_name

    def table_sql(sql, table):
        # a CHECK's name says its table: the name the new layout gives it
        # (an old name cut to 63 characters with a hash cannot be recomputed)
        def check(m):
            old = m.group(2)
            if len(old) >= 63:
                return m.group(0)
            rest = old[len(f"ck_{table}_"):]
            return m.group(1) + _sqlite_quoted(constraint_name("ck", head + table, rest))
        sql = re.sub(rf'(\bCONSTRAINT\s+)"(ck_{re.escape(table)}_[^"]+)"', check, sql)
        return rename_in_sql(sql, names, "table")
    db.execute_sql(f"ATTACH DATABASE ? AS {alias}", (str(found),))
    try:
        with db.atomic(lock_type="IMMEDIATE"):
            db.execute_sql("PRAGMA defer_foreign_keys = ON")
            for kind, name, table, sql in entries:
                db.execute_sql(table_sql(sql, name) if kind == "table"
                               else rename_in_sql(sql, names, kind))
                if kind == "table":
                    db.execute_sql(f"INSERT INTO main.{_sqlite_quoted(names[name])} "
                                   f"SELECT * FROM {alias}.{_sqlite_quoted(name)}")
            for table, seq in sequences:
                if table in names:
                    db.execute_sql("DELETE FROM main.sqlite_sequence WHERE name = ?",
                                   (names[table],))
                    db.execute_sql("INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)",
                                   (names[table], seq))
            broken = db.execute_sql("PRAGMA main.foreign_key_check").fetchall()
            if broken:
                raise ConfigError(f"namespace {namespace!r}: merging {found} breaks "
                                  f"{len(broken)} foreign key(s) (first: {broken[0][0]}); "
                                  f"nothing was merged")
    finally:
        db.execute_sql(f"DETACH DATABASE {alias}")
    backup, n = backup_path(db, found), 1
    while backup.exists():                      # an earlier backup is never replaced
        backup, n = backup_path(db, found).with_name(f"{backup_path(db, found).name}.{n}"), n + 1
    found.rename(backup)
    for suffix in ("-wal", "-shm"):
        side = Path(str(found) + suffix)
        if side.exists():
            side.rename(Path(str(backup) + suffix))
    import logging
    logging.getLogger("store.migrate").warning(
        "namespace %s: merged %s into %s (%d tables); the old file is kept as %s",
        namespace, found, db.url.database,
        sum(1 for kind, *_ in entries if kind == "table"), backup)
    return backup


# --- connections and bindings -----------------------------------------------------------

def _pg_url(url, namespace):
    options = dict(url.options)
    flags = [f for f in options.get("options", "").split() if "search_path" not in f]
    flags.append(f"-csearch_path={namespace}")
    options["options"] = " ".join(flags)
    return dataclasses.replace(url, options=tuple(sorted(options.items())))


def open_namespace(db, namespace: str | None):
    """A connected store database whose default schema is ``namespace`` (a
    new connection; close it when done). ``None``: ``db`` itself. On SQLite a
    connection to the same main file, marked as a view of the namespace
    (``view_namespace``): store's migrator, history and introspection add and
    strip the prefix there. An old-layout file of the namespace is merged
    first (``merge_legacy``)."""
    if namespace is None:
        return db
    check_name(namespace)
    from .database import open_database
    if _sqlite(db):
        if db.url.is_memory:
            raise ConfigError(f"namespace {namespace!r}: an in-memory SQLite database "
                              f"cannot be shared with a migration connection; use a file")
        db.connect(reuse_if_open=True)
        merge_legacy(db, namespace)
        scoped = open_database(db.url)
        scoped.store_namespace = namespace
    else:
        create_schema(db, namespace)
        reopen = getattr(db, "reopen", None)      # store.replicas: the same pooler handling
        scoped = (reopen or open_database)(_pg_url(db.url, namespace))
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


def namespace_exists(db, namespace: str) -> bool:
    """PostgreSQL: the schema exists; SQLite: the namespace has a table."""
    check_name(namespace)
    if _sqlite(db):
        return bool(namespace_tables(db, namespace))
    return db.execute_sql("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                          (namespace,)).fetchone() is not None


def attach(db, namespace: str) -> None:
    """Before: ATTACH a namespace's file so that ``"dental".table`` resolved
    on SQLite. The file is gone (one file holds every namespace): nothing to
    do on PostgreSQL; on SQLite an error that says how to name the tables."""
    check_name(namespace)
    if _sqlite(db):
        raise ConfigError(
            f"namespace {namespace!r}: SQLite namespaces are no longer attached files; "
            f"their tables are in the main file as {namespace}{SEPARATOR}<table>: write "
            f"store.namespaces.qualified(db, {namespace!r}, table) in raw SQL")


def bind_app(db, app, namespace: str | None = None):
    """Bind ``app``'s models to ``db`` in ``namespace`` (default: the app's
    own, ``None`` for the default schema). Returns the models. An old-layout
    SQLite file of the namespace is refused (``check_legacy``)."""
    namespace = namespace if namespace is not None else getattr(app, "namespace", None)
    if namespace is not None:
        check_name(namespace)
        check_legacy(db, namespace)
    backend = db.features.name
    for model in app.models:
        scope_model(model, backend, namespace)
    db.bind_models(app.models)
    return app.models


def drop_if_empty(db, namespace: str) -> bool:
    """Remove an empty namespace (``reset`` leaves nothing behind): the
    PostgreSQL schema if nothing is in it. On SQLite a namespace is only a
    prefix of names in the main file: True when none is left.
    Returns whether the namespace is gone."""
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
    head = f"{namespace}{SEPARATOR}"
    return db.execute_sql("SELECT count(*) FROM main.sqlite_master WHERE substr(name, 1, ?) = ?",
                          (len(head), head)).fetchone()[0] == 0
