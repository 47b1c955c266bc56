"""URL -> a ready peewee Database, one subclass per backend.

Everything that differs between SQLite and PostgreSQL at the connection level
lives here, behind ``open_database`` and ``features``:

* SQLite: every connection has ``foreign_keys=ON``, WAL journal (files only),
  transactions that take the write lock when they begin (``BEGIN IMMEDIATE``),
  a busy timeout, the JSON functions (checked: SQLite >= 3.38), and LIKE made
  case-sensitive so that ``like``/``ilike`` mean what they mean on PostgreSQL.
* PostgreSQL: psycopg 3, the URL's libpq options, optional pooling.
* Both: integrity errors are translated into ``store.errors`` types with the
  same table and constraint names (see ``_translate_*``); a write refused by
  an append-only guard (``store.appendonly``) is an ``AppendOnlyViolation``.
"""
from __future__ import annotations

import os
import re
import sqlite3
import time
from dataclasses import dataclass

import peewee
from peewee import OP, Context, Expression, NodeList, SQL, Value, fn
from playhouse.pool import _PooledPostgresqlDatabase

from . import appendonly, errors
from .fields import quote_ident
from .url import DatabaseURL, mask_password, parse_url

MIN_SQLITE = (3, 38, 0)   # JSON functions built in (json_valid, ->, ->>)
sqlite_version_info = sqlite3.sqlite_version_info


@dataclass(frozen=True)
class Features:
    """What a backend can do; tests and code branch on these, not on names."""
    name: str
    native_json: bool
    native_uuid: bool
    native_decimal: bool
    native_timestamptz: bool
    transactional_ddl: bool = True
    advisory_locks: bool = False


SQLITE_FEATURES = Features("sqlite", native_json=False, native_uuid=False,
                           native_decimal=False, native_timestamptz=False)
POSTGRES_FEATURES = Features("postgresql", native_json=True, native_uuid=True,
                             native_decimal=True, native_timestamptz=True,
                             advisory_locks=True)


def features(db) -> Features:
    return db.features


def _number(url: DatabaseURL, key, default, cast=int):
    value = url.option(key)
    if value is None:
        return default
    try:
        number = cast(value)
    except ValueError:
        number = -1
    if not 0 <= number < float("inf"):
        raise errors.ConfigError(f"database URL option {key}={value!r} must be a "
                                 f"non-negative {'integer' if cast is int else 'number'}")
    return number


class StoreDatabaseMixin:
    """Shared behaviour: masked repr, model binding, error translation."""

    url: DatabaseURL
    features: Features

    def __repr__(self):
        return f"<{type(self).__name__} {self.url.masked()}>"

    def get_context_options(self):
        options = super().get_context_options()
        options["store_backend"] = self.features.name    # read by StoreField.ddl
        return options

    def bind_models(self, models, bind_refs=True, bind_backrefs=True):
        """Bind ``models`` to this database (re-binding from another is fine)."""
        for model in models:
            model.bind(self, bind_refs=bind_refs, bind_backrefs=bind_backrefs)
        return self

    def execute_sql(self, sql, params=None):
        try:
            return super().execute_sql(sql, params)
        except errors.ConstraintViolation:
            raise
        except peewee.IntegrityError as exc:
            driver_exc = getattr(exc, "orig", None) or exc
            translated = self._translate(driver_exc, sql, params)
            if translated is None:
                raise
            translated.orig = driver_exc
            raise translated from driver_exc
        except peewee.PeeweeException as exc:
            self._mask_exception(exc)
            raise

    def _mask_exception(self, exc):
        if self.url.password and exc.args:
            exc.args = tuple(mask_password(a, self.url) if isinstance(a, str) else a
                             for a in exc.args)

    def _connect(self):
        try:
            return super()._connect()
        except Exception as exc:
            if self.url.password:
                message = mask_password(str(exc), self.url)
                raise peewee.OperationalError(
                    f"cannot connect to {self.url.masked()}: {message}") from None
            raise


# --- SQLite -----------------------------------------------------------------

class _SqliteContext(Context):
    """Renders ILIKE as a Unicode-aware case-insensitive LIKE.

    SQLite's LIKE folds ASCII case only (and store switches that off with
    ``case_sensitive_like`` so LIKE matches PostgreSQL's). PostgreSQL's ILIKE
    folds Unicode, so ILIKE becomes ``store_lower(a) LIKE store_lower(b)``
    with Python's ``str.lower`` registered as ``store_lower``.
    """
    __slots__ = ()

    def as_new(self):
        return type(self)(**self.state.settings)

    def sql(self, obj):
        if isinstance(obj, Expression) and obj.op in (OP.LIKE, OP.ILIKE):
            rhs, lhs = obj.rhs, obj.lhs
            if isinstance(rhs, NodeList) and len(rhs.nodes) == 3:   # pattern ESCAPE '\'
                pattern, tail = rhs.nodes[0], tuple(rhs.nodes[1:])
            else:
                # PostgreSQL's LIKE escapes with a backslash by default
                pattern, tail = rhs, (SQL("ESCAPE"), Value("\\", converter=False))
            if obj.op == OP.ILIKE:
                lhs, pattern = fn.store_lower(lhs), fn.store_lower(pattern)
            obj = Expression(lhs, OP.LIKE, NodeList((pattern,) + tail), flat=obj.flat)
        return super().sql(obj)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


_UNIQUE_COLS = re.compile(r"UNIQUE constraint failed: (.+)$")
_NOT_NULL = re.compile(r"NOT NULL constraint failed: ([^.]+)\.(.+)$")
_CHECK = re.compile(r"CHECK constraint failed: (.+)$")


class SqliteStore(StoreDatabaseMixin, peewee.SqliteDatabase):
    features = SQLITE_FEATURES
    context_class = _SqliteContext
    operations = {"LIKE": "LIKE", "ILIKE": "LIKE"}
    field_types = {**peewee.SqliteDatabase.field_types,
                   "EXACT_DECIMAL": "NUMERIC", "TIMESTAMPTZ": "TEXT"}

    def __init__(self, url: DatabaseURL, **kwargs):
        if sqlite_version_info < MIN_SQLITE:
            raise errors.ConfigError(
                "SQLite %s is too old: store needs %s or newer (JSON functions)"
                % (".".join(map(str, sqlite_version_info)),
                   ".".join(map(str, MIN_SQLITE))))
        self.url = url
        timeout = _number(url, "timeout", 10.0, float)
        # recursive_triggers: REPLACE's implicit delete fires DELETE triggers
        # (the append-only guard), as PostgreSQL's ON CONFLICT never deletes
        pragmas = [("foreign_keys", 1), ("case_sensitive_like", 1), ("recursive_triggers", 1),
                   ("busy_timeout", int(timeout * 1000))]
        if not url.is_memory:
            pragmas.append(("synchronous", "normal"))
        path = url.database if url.is_memory else os.path.abspath(url.database)
        # db.atomic() takes the write lock at BEGIN: a transaction that reads
        # and then writes never fails with "database is locked" when another
        # process wrote in between (a deferred one cannot upgrade its snapshot)
        kwargs.setdefault("lock_type", "IMMEDIATE")
        super().__init__(path, pragmas=pragmas, timeout=timeout, **kwargs)
        self.register_function(_lower, "store_lower", 1, deterministic=True)

    def _set_pragmas(self, conn):
        if not self.url.is_memory:
            self._set_wal(conn)
        super()._set_pragmas(conn)

    def _set_wal(self, conn):
        # Two connections switching a file to WAL at once can get SQLITE_BUSY
        # without the busy handler being called (deadlock avoidance): retry.
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = wal").fetchall()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    # Integrity errors ----------------------------------------------------
    def _translate(self, exc, sql, params):
        name = getattr(exc, "sqlite_errorname", "") or ""
        message = str(exc)
        if name == "SQLITE_CONSTRAINT_CHECK" or message.startswith("CHECK constraint"):
            m = _CHECK.search(message)
            constraint = m.group(1) if m else None
            table = self._table_of_constraint(constraint) if constraint else None
            return errors.violation("check", table=table, constraint=constraint)
        if name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
            m = _UNIQUE_COLS.search(message)
            if not m:
                return None
            schema, _table = _target(sql)
            prefix = f"{quote_ident(schema)}." if schema else ""
            named = re.fullmatch(r"index '(.+)'", m.group(1).strip())
            if named:                      # a unique index on expressions
                row = self.cursor().execute(
                    f"SELECT tbl_name FROM {prefix}sqlite_master WHERE type = 'index' "
                    f"AND name = ?", (named.group(1),)).fetchone()
                return errors.violation("unique", table=row[0] if row else None,
                                        constraint=named.group(1))
            cols = [c.strip() for c in m.group(1).split(",")]
            table = cols[0].split(".", 1)[0]
            columns = [c.split(".", 1)[1] for c in cols]
            constraint = self._unique_index_name(table, columns,
                                                 name == "SQLITE_CONSTRAINT_PRIMARYKEY", prefix)
            return errors.violation("unique", table=table, constraint=constraint)
        if name == "SQLITE_CONSTRAINT_NOTNULL":
            m = _NOT_NULL.search(message)
            if not m:
                return None
            return errors.violation("not_null", table=m.group(1), constraint=None,
                                    column=m.group(2))
        if name == "SQLITE_CONSTRAINT_TRIGGER":
            # RAISE(ABORT) of an append-only guard; a RESTRICT action also
            # reports SQLITE_CONSTRAINT_TRIGGER ("FOREIGN KEY ...", below).
            refused = appendonly.violation_from_message(message)
            if refused is not None:
                return refused
        if name == "SQLITE_CONSTRAINT_FOREIGNKEY" or message.startswith("FOREIGN KEY"):
            # RESTRICT actions report SQLITE_CONSTRAINT_TRIGGER with this message.
            table, constraint = self._probe_foreign_key(sql, params)
            return errors.violation("foreign_key", table=table, constraint=constraint)
        return None

    def _schemas(self):
        """``main`` and every attached database (namespaces)."""
        return [r[1] for r in self.cursor().execute("PRAGMA database_list").fetchall()
                if r[1] != "temp"]

    def _table_of_constraint(self, constraint):
        cursor = self.cursor()
        pattern = re.compile(r'CONSTRAINT\s+["`\[]?%s["`\]]?\s' % re.escape(constraint), re.I)
        for schema in self._schemas():
            rows = cursor.execute(
                f"SELECT name, sql FROM {quote_ident(schema)}.sqlite_master WHERE type = 'table' "
                f"AND sql LIKE ?", ('%' + constraint + '%',)).fetchall()
            for table, ddl in rows:
                if pattern.search(ddl or ""):
                    return table
        return None

    def _unique_index_name(self, table, columns, primary, prefix=""):
        cursor = self.cursor()
        for _, index, unique, origin, _partial in cursor.execute(
                f"PRAGMA {prefix}index_list({quote_ident(table)})").fetchall():
            if not unique:
                continue
            cols = [r[2] for r in cursor.execute(
                f"PRAGMA {prefix}index_info({quote_ident(index)})").fetchall()]
            if cols == columns:
                if origin == "pk":
                    return f"{table}_pkey"
                return index
        if primary:
            return f"{table}_pkey"     # INTEGER PRIMARY KEY has no index
        return None

    def _probe_foreign_key(self, sql, params):
        """Find which FK the failed statement broke.

        SQLite's message names no constraint. Re-run the statement inside a
        savepoint with foreign-key checks deferred, ask ``foreign_key_check``
        which row and which FK are broken, then roll the savepoint back:
        nothing of the statement remains.
        """
        conn = self._state.conn
        cursor = conn.cursor()
        outer = conn.in_transaction
        schema, _table = _target(sql)
        prefix = f"{quote_ident(schema)}." if schema else ""
        try:
            cursor.execute("SAVEPOINT store_fk_probe" if outer else "BEGIN")
            try:
                cursor.execute("PRAGMA defer_foreign_keys = ON")
                cursor.execute(sql, params or ())
                rows = cursor.execute(f"PRAGMA {prefix}foreign_key_check").fetchall()
            finally:
                if outer:
                    cursor.execute("ROLLBACK TO store_fk_probe")
                    cursor.execute("RELEASE store_fk_probe")
                    cursor.execute("PRAGMA defer_foreign_keys = OFF")
                else:
                    cursor.execute("ROLLBACK")
        except sqlite3.Error:
            # RESTRICT fires even when checks are deferred: find the child.
            return self._probe_referencing(sql, params)
        if not rows:
            return self._probe_referencing(sql, params)
        table, _rowid, parent, fkid = rows[0]
        column = None
        for row in cursor.execute(f"PRAGMA {prefix}foreign_key_list({quote_ident(table)})"):
            if row[0] == fkid:
                column = row[3]
                break
        return table, self._foreign_key_name(table, column, parent, schema)

    def _probe_referencing(self, sql, params):
        """For a DELETE of referenced rows: which child FK still points at them."""
        m = re.match(r'\s*DELETE FROM (?:"([^"]+)"\.)?"([^"]+)"(.*)$', sql or "", re.S | re.I)
        if not m:
            return None, None
        schema, parent, where = m.group(1), m.group(2), m.group(3)
        prefix = f"{quote_ident(schema)}." if schema else ""
        cursor = self._state.conn.cursor()
        tables = [r[0] for r in cursor.execute(
            f"SELECT name FROM {prefix}sqlite_master WHERE type = 'table'").fetchall()]
        for child in tables:
            for row in cursor.execute(f"PRAGMA {prefix}foreign_key_list({quote_ident(child)})").fetchall():
                if row[2] != parent:
                    continue
                column, ref = row[3], row[4] or "rowid"
                probe = ('SELECT 1 FROM %s"%s" WHERE "%s" IN (SELECT "%s"."%s" FROM %s"%s"%s) LIMIT 1'
                         % (prefix, child, column, parent, ref, prefix, parent, where))
                try:
                    hit = cursor.execute(probe, params or ()).fetchone()
                except sqlite3.Error:
                    continue
                if hit:
                    return child, self._foreign_key_name(child, column, parent, schema)
        return None, None

    def _foreign_key_name(self, table, column, parent, schema=None):
        prefix = f"{quote_ident(schema)}." if schema else ""
        row = self.cursor().execute(
            f"SELECT sql FROM {prefix}sqlite_master WHERE type = 'table' AND name = ?",
            (table,)).fetchone()
        if row and row[0] and column:
            m = re.search(r'CONSTRAINT\s+"([^"]+)"\s+FOREIGN KEY\s*\(\s*"%s"\s*\)'
                          % re.escape(column), row[0], re.I)
            if m:
                return m.group(1)
        return f"fk_{table}_{column}_{parent}" if column else None


_TARGET = re.compile(r'\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM)\s+'
                     r'(?:"([^"]+)"\.)?"([^"]+)"', re.I)


def _target(sql):
    """(schema or None, table) a write statement names."""
    m = _TARGET.match(sql or "")
    return (m.group(1), m.group(2)) if m else (None, None)


# --- PostgreSQL ---------------------------------------------------------------

_PG_KINDS = {"23514": "check", "23505": "unique", "23503": "foreign_key",
             "23502": "not_null"}


class PostgresStore(StoreDatabaseMixin, peewee.PostgresqlDatabase):
    features = POSTGRES_FEATURES
    field_types = {**peewee.PostgresqlDatabase.field_types,
                   "EXACT_DECIMAL": "NUMERIC", "TIMESTAMPTZ": "TIMESTAMPTZ"}

    def __init__(self, url: DatabaseURL, **kwargs):
        self.url = url
        params = url.connect_params()
        params.update(kwargs)
        super().__init__(url.database, prefer_psycopg3=True, **params)

    def execute_sql(self, sql, params=None):
        # peewee hands psycopg ``params or ()``: with a tuple, even an empty
        # one, psycopg reads every % as a placeholder, so DDL such as
        # CHECK (email LIKE '%@%') failed. No parameters: % means itself.
        if not params and "%" in sql:
            sql = sql.replace("%", "%%")
        return super().execute_sql(sql, params)

    def _translate(self, exc, sql, params):
        sqlstate = getattr(exc, "sqlstate", None) or ""
        if sqlstate == appendonly.PG_SQLSTATE:      # an append-only guard, else None
            return appendonly.violation_from_message(exc.diag.message_primary,
                                                     exc.diag.constraint_name)
        kind = _PG_KINDS.get(sqlstate)
        if kind is None:
            return None
        diag = exc.diag
        return errors.violation(kind, table=diag.table_name,
                                constraint=None if kind == "not_null" else diag.constraint_name,
                                column=diag.column_name)


class PooledPostgresStore(_PooledPostgresqlDatabase, PostgresStore):
    """PostgresStore with peewee's connection pool (``?pool=true``)."""

    def __init__(self, url: DatabaseURL, **kwargs):
        super().__init__(url, max_connections=_number(url, "max_connections", 20),
                         stale_timeout=_number(url, "stale_timeout", None),
                         timeout=_number(url, "timeout", None), **kwargs)


# --- opening ------------------------------------------------------------------

def open_database(url: str | DatabaseURL, **kwargs):
    """Build (not yet connect) the store Database for ``url``."""
    parsed = parse_url(url)
    if parsed.backend == "sqlite":
        return SqliteStore(parsed, **kwargs)
    flag = str(parsed.option("pool", "false")).lower()
    if flag not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise errors.ConfigError(f"database URL option pool={flag!r} must be true or false")
    pool = flag in ("1", "true", "yes", "on")
    return (PooledPostgresStore if pool else PostgresStore)(parsed, **kwargs)
