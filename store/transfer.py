"""Moving data: copy apps between databases, dump them to JSON Lines, load them back.

    copy_database(source_db, target_db, ["backlog", "dental"], truncate=True)
    dump_database(db, ["backlog"], "backup/")          # backup/backlog/<table>.jsonl
    load_database(db, ["backlog"], "backup/")          # + backup/manifest.json

Both directions work between SQLite and PostgreSQL (and within one backend):
the rows travel as the Python values the models read back, so a JSON
document, a ``Decimal``, a ``UUID``, an aware ``datetime`` or an enum member
arrives as the same value whatever the two backends store them as.

What ``copy_database`` and ``load_database`` guarantee on the target:

* Schemas: every app must be at the head of its migrations on the source
  (or in the dump: its manifest names the head). A target that is behind
  is migrated first (``store.migrate``), only while its app tables are
  empty; a target ahead of the migration files, or whose tables differ
  from the source's by name or column, is refused.
* One transaction: all apps, all tables, in foreign-key order (parents
  first; a row referencing a later row of its own table is inserted with
  that column NULL and set once the table is in), in batches. A non-empty
  target is refused unless ``truncate=True``, which deletes the apps' rows
  (children first) in the same transaction; an append-only table's guard
  triggers are dropped and re-created around the delete, inside it too.
* Verified before commit: per table the row count and a checksum of the
  values read back from the target equal those of the source (or of the
  dump file, itself checked against the manifest). Then PostgreSQL
  sequences of serial columns restart after the largest id
  (``ALTER SEQUENCE ... RESTART``, transactional, unlike ``setval``).
* On any failure (a constraint, a bad value, a checksum, Ctrl-C) the
  transaction is rolled back, and migrations the operation applied to an
  empty target are rolled back too (their history table and namespace
  removed if it created them): the target is left as it was.

PostgreSQL partitions (``store.partitions``) missing for a row's day are
created on the target in the same transaction. The source is read in one
snapshot: a REPEATABLE READ, READ ONLY transaction on PostgreSQL, a deferred
(read) transaction on SQLite, so concurrent writers neither block nor skew
the copy; nothing is written to the source.

Checksum: the SHA-256 of each row's canonical JSON (the dump encoding below,
keys sorted, JSON documents with their numbers normalised as JSONB does:
an integral float of magnitude >= 1e16 counts as the integer it names),
summed modulo 2**256 over the rows, so it does not depend on row order
(text primary keys sort by collation on PostgreSQL, bytewise on SQLite).

Dump format, one JSON object per line, keyed by column, per field type:
JSON columns as JSON, decimals as strings (``"12.30"``), UUIDs as strings,
aware timestamps as ISO-8601 with offset, naive ones without, dates and
times ISO-8601, enums by value, bytes as base64, booleans and numbers as
JSON, NULL as null. ``manifest.json`` holds the format version, each app's
namespace and migration head, and per table its file, columns, row count
and checksum. ``dump_database`` writes into a new (or empty) directory via
a temporary one renamed at the end, so a failed dump leaves nothing.

Limits: the apps' model classes are re-bound to the source and the target
during the operation (and given back their bindings after), so do not use
them from another thread meanwhile. Namespaced apps on SQLite span several
files (``store.<ns>.db``): their transaction is atomic for a rollback, but
SQLite does not promise a multi-file commit in WAL mode is atomic across a
power loss. A load puts each app in the namespace the app has here; the
manifest records the dump's for information. A PostgreSQL ``GENERATED
ALWAYS AS IDENTITY`` column (peewee makes ``serial`` ones) would refuse the
copied ids. A self-reference to a later row through a NOT NULL column cannot
be ordered and is refused, naming the row.
"""
from __future__ import annotations

import base64
import datetime as _dt
import decimal
import enum
import hashlib
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field as dc_field
from pathlib import Path

import peewee

from . import appendonly
from .errors import (ChecksumMismatch, ConfigError, DumpFileError,  # noqa: F401 (re-exported)
                     StoreError, TransferError, ValidationError)
from .fields import (DateTimeTZField, DecimalField, EnumField, JSONField, UUIDField,
                     quote_ident)
from .introspect import read_schema
from .migrate.apps import App, check_tables_disjoint, load_app
from .migrate.history import History, read_history
from .migrate.runner import migration_names
from .namespaces import base_table, base_tables, qualified, scope_model

__all__ = ["copy_database", "dump_database", "load_database", "read_manifest",
           "TransferError", "ChecksumMismatch", "DumpFileError", "TransferReport",
           "TableReport", "Checksum", "describe", "field_kind", "DEFAULT_BATCH_SIZE",
           "MANIFEST"]

DEFAULT_BATCH_SIZE = 1000
MANIFEST = "manifest.json"
DUMP_FORMAT = "store-dump"
DUMP_VERSION = 1
MAX_PARAMS = 30_000          # bound parameters per INSERT (SQLite allows 32766)
_MOD = 2 ** 256


# --- errors and reports ----------------------------------------------------------

@dataclass
class TableReport:
    app: str
    table: str
    rows: int
    checksum: str


@dataclass
class TransferReport:
    """What was done: per table the rows and checksum (verified), the
    migrations applied to the target, the tables emptied first, the
    PostgreSQL partitions created and sequences restarted."""
    tables: list = dc_field(default_factory=list)
    migrated: dict = dc_field(default_factory=dict)
    truncated: list = dc_field(default_factory=list)
    partitions: list = dc_field(default_factory=list)
    sequences: list = dc_field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


class Checksum:
    """Order-independent checksum of rows: the sum of their SHA-256 mod 2**256."""

    def __init__(self):
        self.rows = 0
        self._sum = 0

    def add(self, digest: bytes) -> None:
        self.rows += 1
        self._sum = (self._sum + int.from_bytes(digest, "big")) % _MOD

    @property
    def hexdigest(self) -> str:
        return f"{self._sum:064x}"


class _Silent:
    def start(self, label, total=None):
        pass

    def advance(self, n=1):
        pass

    def finish(self):
        pass


# --- values: one encoding for dump lines and checksums ----------------------------

def field_kind(field) -> str:
    """How a field's Python values are written to a dump line."""
    if isinstance(field, peewee.ForeignKeyField):
        return field_kind(field.rel_field)
    kinds = [
        ((JSONField, peewee.JSONField), "json"), (EnumField, "enum"),
        ((DecimalField, peewee.DecimalField), "decimal"), ((UUIDField, peewee.UUIDField), "uuid"),
        (DateTimeTZField, "datetime_tz"),
        ((peewee.DateTimeField, peewee.TimestampField), "datetime"),
        (peewee.DateField, "date"), (peewee.TimeField, "time"), (peewee.BlobField, "bytes"),
        (peewee.BooleanField, "bool"), (peewee.IntegerField, "int"), (peewee.FloatField, "float"),
        ((peewee.CharField, peewee.TextField), "text"),
    ]
    for classes, kind in kinds:
        if isinstance(field, classes):
            return kind
    return "plain"


def _encode(kind, value):
    if value is None or kind == "json":
        return value
    if kind == "enum":
        return value.value if isinstance(value, enum.Enum) else value
    if kind in ("decimal", "uuid"):
        return str(value)
    if kind in ("datetime_tz", "datetime", "date", "time"):
        return value.isoformat()
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind in ("bool", "int", "float"):
        return {"bool": bool, "int": int, "float": float}[kind](value)
    if isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot write a {type(value).__name__} value to a dump")


def _finite_decimal(text):
    number = decimal.Decimal(text)
    if not number.is_finite():
        raise ValueError(text)
    return number


# kind: (what a dump value must be, how it is read)
_FROM_TEXT = {
    "decimal": ('a decimal as a string ("12.30")', _finite_decimal),
    "uuid": ("a UUID string", uuid.UUID),
    "datetime_tz": ("an ISO-8601 timestamp with offset", _dt.datetime.fromisoformat),
    "datetime": ("an ISO-8601 timestamp", _dt.datetime.fromisoformat),
    "date": ("an ISO-8601 date", _dt.date.fromisoformat),
    "time": ("an ISO-8601 time", _dt.time.fromisoformat),
    "bytes": ("base64 text", lambda text: base64.b64decode(text, validate=True)),
    "enum": ("an enum value (a string)", str),
    "text": ("a string", str),
}
_FROM_JSON = {"int": ("an integer", int), "float": ("a number", (int, float)),
              "bool": ("a boolean", bool)}


def _decode(kind, value, field):
    """The Python value of ``value`` read from a dump line; ValueError says
    why it cannot be (the field's own validation runs after)."""
    if value is None:
        if not field.null:
            raise ValueError("null in a NOT NULL column")
        return None
    if kind in ("json", "plain"):
        return value
    if kind in _FROM_JSON:
        what, types = _FROM_JSON[kind]
        if not isinstance(value, types) or isinstance(value, bool) != (kind == "bool"):
            raise ValueError(f"{value!r} is not {what}")
        return float(value) if kind == "float" else value
    what, parse = _FROM_TEXT[kind]
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not {what}")
    try:
        parsed = parse(value)
    except (ValueError, ArithmeticError):          # decimal.InvalidOperation is one
        raise ValueError(f"{value!r} is not {what}") from None
    if kind == "datetime_tz" and parsed.utcoffset() is None:
        raise ValueError(f"{value!r} has no UTC offset (an aware timestamp is needed)")
    return parsed


def _normalised_json(value):
    """JSON numbers as PostgreSQL's JSONB gives them back (see the module doc)."""
    if isinstance(value, dict):
        return {k: _normalised_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalised_json(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e16:
        return int(decimal.Decimal(repr(value)))
    return value


def _digest(table, encoded) -> bytes:
    doc = {column: _normalised_json(v) if kind == "json" else v
           for column, kind, v in zip(table.columns, table.kinds, encoded)}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).digest()


# --- the plan: an app's tables in foreign-key order ------------------------------

@dataclass
class _Table:
    app: App
    model: type
    fields: list
    columns: list
    kinds: list
    pk_index: int | None            # the primary key's place in ``fields``
    self_refs: list                 # places of foreign keys to the same table
    partition_index: int | None

    @property
    def name(self) -> str:
        return base_table(self.model)

    @property
    def label(self) -> str:
        return f"{self.app.name}.{self.name}"

    @property
    def chunk(self) -> int:
        return max(1, MAX_PARAMS // max(len(self.fields), 1))

    def encode(self, row) -> list:
        out = []
        for column, kind, value in zip(self.columns, self.kinds, row):
            try:
                out.append(_encode(kind, value))
            except (TypeError, AttributeError, ValueError) as exc:
                raise TransferError(f"{self.label}.{column}: {exc}", table=self.label) from None
        return out


def _fk_order(models) -> list:
    members = set(models)
    placed, ordered, remaining = set(), [], list(models)
    while remaining:
        ready = [m for m in remaining
                 if all(f.rel_model in placed or f.rel_model is m or f.rel_model not in members
                        for f in m._meta.sorted_fields
                        if isinstance(f, peewee.ForeignKeyField))]
        if not ready:
            names = ", ".join(m._meta.table_name for m in remaining)
            raise TransferError(f"foreign-key cycle between tables {names}: no order "
                                f"inserts parents first")
        for m in ready:
            placed.add(m)
            ordered.append(m)
            remaining.remove(m)
    return ordered


def _plan(app: App) -> list:
    tables = []
    for model in _fk_order(app.models):
        meta = model._meta
        fields = list(meta.sorted_fields)
        pk = meta.primary_key
        pk_index = fields.index(pk) if isinstance(pk, peewee.Field) and pk in fields else None
        self_refs = [i for i, f in enumerate(fields)
                     if isinstance(f, peewee.ForeignKeyField) and f.rel_model is model]
        key = getattr(meta, "partition_key", None)
        partition_index = next((i for i, f in enumerate(fields) if f.name == key), None) \
            if key else None
        tables.append(_Table(app, model, fields, [f.column_name for f in fields],
                             [field_kind(f) for f in fields], pk_index, self_refs,
                             partition_index))
    return tables


def _apps(apps) -> list:
    out = [a if isinstance(a, App) else load_app(a) for a in apps]
    if not out:
        raise ConfigError("no app to transfer (setup.cfg [store] apps is empty; or pass --app)")
    check_tables_disjoint(out)
    return out


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")


# --- binding the apps' models to one database or the other ------------------------

class _Bindings:
    """Binds an app's models to the source or the target (same namespace on
    both) and gives the caller's bindings back at the end."""

    def __init__(self, apps):
        self.saved = {m: (m._meta.database, m._meta.table_name, m._meta.schema)
                      for a in apps for m in a.models}
        self.current = {}

    def use(self, db, app) -> None:
        if self.current.get(app.name) is db:
            return
        for model in app.models:
            scope_model(model, db.features.name, app.namespace)
            model.bind(db, bind_refs=False, bind_backrefs=False)
        self.current[app.name] = db

    def restore(self) -> None:
        for model, (database, name, schema) in self.saved.items():
            model._meta.set_table_name(name)
            model._meta.schema = schema
            model.bind(database, bind_refs=False, bind_backrefs=False)
        self.current.clear()


def _read_batches(db, table: _Table, bindings: _Bindings, batch_size: int):
    """Lists of rows (tuples of Python values in ``table.fields`` order), by
    keyset pagination on the primary key (one query for a table without one)."""
    model = table.model
    pk = model._meta.primary_key
    if isinstance(pk, peewee.CompositeKey):
        keys = [model._meta.fields[n] for n in pk.field_names]
    elif isinstance(pk, peewee.Field):
        keys = [pk]
    else:
        keys = []
    places = [table.fields.index(k) for k in keys]
    last = None
    while True:
        bindings.use(db, table.app)
        query = model.select(*table.fields)
        if keys:
            query = query.order_by(*keys).limit(batch_size)
            if last is not None:
                query = query.where(keys[0] > last[0] if len(keys) == 1 else
                                    peewee.Tuple(*keys) > peewee.Tuple(*last))
        rows = list(query.tuples())
        if rows:
            yield rows
        if not keys or len(rows) < batch_size:
            return
        last = [rows[-1][i] for i in places]


def _count(db, table: _Table, bindings: _Bindings) -> int:
    bindings.use(db, table.app)
    return table.model.select().count()


@contextmanager
def _read_snapshot(db):
    """One consistent, read-only view of ``db`` for the whole read (inside
    a transaction the caller already opened: that transaction's view)."""
    if db.in_transaction():
        yield
    elif db.features.name == "postgresql":
        with db.atomic(isolation_level="REPEATABLE READ"):
            db.execute_sql("SET TRANSACTION READ ONLY")
            yield
    else:
        with db.atomic(lock_type="DEFERRED"):
            yield


# --- migration state, read without writing ----------------------------------------

def _require_head(db, app, role: str) -> History:
    history = read_history(db, app)
    if history.missing:
        raise TransferError(f"{role} is ahead of the migrations: app {app.name} has applied "
                            f"{', '.join(history.missing)}, which {app.migrations_dir} does "
                            f"not have (check out the matching version)")
    if history.pending:
        raise TransferError(f"{role} is behind the migrations: app {app.name} has "
                            f"{len(history.pending)} pending ({', '.join(history.pending)}); "
                            f"migrate it first")
    return history


def _check_models(db, app, tables, role: str):
    """The live columns of ``app`` on ``db`` are the models' columns; returns the schema."""
    schema = read_schema(db, schema=app.namespace, tables=base_tables(app))
    problems = []
    for table in tables:
        live = schema.tables.get(table.name)
        if live is None:
            problems.append(f"table {table.name} is missing")
            continue
        have, want = {c.name for c in live.columns}, set(table.columns)
        if have != want:
            extra, lacking = sorted(have - want), sorted(want - have)
            problems.append(f"table {table.name}: "
                            + "; ".join(filter(None, [
                                extra and f"columns not in the models: {', '.join(extra)}",
                                lacking and f"columns missing: {', '.join(lacking)}"])))
    if problems:
        raise TransferError(f"{role}: app {app.name} does not match its models (a model "
                            f"change without a migration?): {'; '.join(problems)}")
    return schema


def _compare(app, source, target):
    """Source and target hold the same tables with the same column names."""
    lines = []
    for name in base_tables(app):
        s, t = source.tables.get(name), target.tables.get(name)
        if s is None or t is None:
            lines.append(f"{name} missing in the {'source' if s is None else 'target'}")
            continue
        sc, tc = {c.name for c in s.columns}, {c.name for c in t.columns}
        if sc != tc:
            lines.append(f"{name}: columns only in the source: {sorted(sc - tc)}, only in "
                         f"the target: {sorted(tc - sc)}")
    if lines:
        raise TransferError(f"app {app.name}: source and target schemas differ: "
                            + "; ".join(lines))


def _same_tables(a, b, app) -> bool:
    ua, ub = a.url, b.url
    if ua.backend != ub.backend:
        return False
    if ua.backend == "sqlite":
        return not ua.is_memory and Path(ua.database).resolve() == Path(ub.database).resolve()
    if (ua.host or "", ua.port or 5432, ua.database) != (ub.host or "", ub.port or 5432,
                                                          ub.database):
        return False
    if app.namespace is not None:
        return True
    current = "SELECT current_schema()"
    return a.execute_sql(current).fetchone()[0] == b.execute_sql(current).fetchone()[0]


# --- the target side: shared by copy and load ----------------------------------------

class _Target:
    """Prepares the target (migrations, checks), writes batches, verifies,
    restarts sequences, and undoes its migrations if the operation fails."""

    def __init__(self, db, apps, plans, bindings, report, *, truncate, batch_size):
        self.db, self.apps, self.plans, self.bindings = db, apps, plans, bindings
        self.report, self.truncate, self.batch_size = report, truncate, batch_size
        self.before = {}
        self.schemas = {}
        self._partitions = {}

    # -- before the transaction ---------------------------------------------------
    def _populated(self, app) -> list:
        """Tables of ``app`` that exist on the target and hold rows (raw SQL:
        the tables may be older than the models)."""
        if not self.before[app.name].namespace_exists:
            return []
        existing = read_schema(self.db, schema=app.namespace, tables=base_tables(app)).names()
        return [f"{app.name}.{name}" for name in base_tables(app) if name in existing
                and self.db.execute_sql(f"SELECT 1 FROM {qualified(self.db, app.namespace, name)} "
                                        f"LIMIT 1").fetchone()]

    def prepare(self) -> None:
        """Refuse a target ahead of the migrations, or behind them with rows;
        refuse a non-empty one unless truncating (checked again inside the
        transaction); migrate a behind, empty one (``undo`` reverts that)."""
        from . import migrate as runner
        populated = []
        for app in self.apps:
            history = read_history(self.db, app)
            self.before[app.name] = history
            if history.missing:
                raise TransferError(f"target is ahead of the migrations: app {app.name} has "
                                    f"applied {', '.join(history.missing)}, which "
                                    f"{app.migrations_dir} does not have")
            rows = self._populated(app)
            populated += rows
            if history.pending and rows:
                raise TransferError(f"target is behind the migrations (app {app.name}: "
                                    f"{', '.join(history.pending)} pending) and holds rows in "
                                    f"{', '.join(rows)}: migrate it first")
        if populated and not self.truncate:
            raise self._not_empty(populated)
        for app in self.apps:
            if self.before[app.name].pending:
                self.report.migrated[app.name] = []
                (result,) = runner.migrate(self.db, [app])
                self.report.migrated[app.name] = result.applied

    def _not_empty(self, tables):
        return TransferError(f"target is not empty: {', '.join(tables)} hold rows; pass "
                             f"--truncate (truncate=True) to replace them")

    def check_models(self) -> None:
        for app in self.apps:
            self.schemas[app.name] = _check_models(self.db, app, self.plans[app.name], "target")

    def undo(self) -> None:
        """Roll back what ``prepare`` migrated (the data transaction is
        already rolled back); remove a history table or namespace it made."""
        from . import migrate as runner
        from .migrate import StoreRouter
        from .namespaces import drop_if_empty
        for app in reversed(self.apps):
            if app.name not in self.report.migrated:
                continue
            before = self.before[app.name]
            after = read_history(self.db, app)
            steps = len(after.applied) - len(before.applied)
            if steps > 0:
                runner.rollback(self.db, app, steps=steps)
            if not before.table_exists:
                with StoreRouter(self.db, app) as router:
                    router.model.drop_table(safe=True)
            if app.namespace and not before.namespace_exists:
                drop_if_empty(self.db, app.namespace)
            del self.report.migrated[app.name]

    # -- inside the transaction ------------------------------------------------------
    def empty_or_truncate(self) -> None:
        held = []
        for app in self.apps:
            self.bindings.use(self.db, app)
            held += [t for t in self.plans[app.name] if t.model.select().exists()]
        if not held:
            return
        if not self.truncate:
            raise self._not_empty([t.label for t in held])
        backend = self.db.features.name
        for app in reversed(self.apps):
            self.bindings.use(self.db, app)
            for table in reversed(self.plans[app.name]):
                guard = appendonly.is_append_only(table.model)
                for sql in appendonly.drop_sql(table.model, backend) if guard else ():
                    self.db.execute_sql(sql)
                table.model.delete().execute()
                for sql in appendonly.create_sql(table.model, backend) if guard else ():
                    self.db.execute_sql(sql)
        self.report.truncated = [t.label for t in held]

    def writer(self, table) -> "_TableWriter":
        return _TableWriter(self, table)

    def ensure_partitions(self, table, rows) -> None:
        from .partitions import create_partitions, list_partitions, native_partitioning
        if table.partition_index is None or not native_partitioning(self.db):
            return
        ranges = self._partitions.get(table.label)
        if ranges is None:
            ranges = self._partitions[table.label] = [
                (p.start, p.end) for p in list_partitions(self.db, table.model)]

        def covered(day):
            return any((start is None or start <= day) and (end is None or day < end)
                       for start, end in ranges)
        days = sorted({row[table.partition_index] for row in rows} - {None})
        for day in days:
            if not covered(day):
                self.report.partitions += create_partitions(self.db, table.model, day, 1)
                ranges.append((day, day + _dt.timedelta(days=1)))

    def verify(self, table, expected: Checksum, progress) -> None:
        """Read the table back from the target: same count and checksum."""
        got = Checksum()
        progress.start(f"{table.label} (verify)", expected.rows)
        try:
            for rows in _read_batches(self.db, table, self.bindings, self.batch_size):
                for row in rows:
                    got.add(_digest(table, table.encode(row)))
                progress.advance(len(rows))
        finally:
            progress.finish()
        if got.rows != expected.rows:
            raise ChecksumMismatch(f"{table.label}: {expected.rows} rows expected, the target "
                                   f"holds {got.rows}", table=table.label)
        if got.hexdigest != expected.hexdigest:
            raise ChecksumMismatch(
                f"{table.label}: the values read back from the target differ from the "
                f"source's (checksum {got.hexdigest[:16]} != {expected.hexdigest[:16]})",
                table=table.label)
        self.report.tables.append(TableReport(table.app.name, table.name, got.rows,
                                              got.hexdigest))

    def restart_sequences(self) -> None:
        """PostgreSQL: each serial column's sequence restarts after the
        largest value (transactional). SQLite needs nothing: a rowid key
        continues after the largest row, AUTOINCREMENT's counter too."""
        if self.db.features.name != "postgresql":
            return
        for app in self.apps:
            for name in base_tables(app):
                for column in self.schemas[app.name].table(name).columns:
                    if not column.autoincrement:
                        continue
                    target = qualified(self.db, app.namespace, name)
                    sequence = self.db.execute_sql(
                        "SELECT pg_get_serial_sequence(%s, %s)",
                        (target, column.name)).fetchone()[0]
                    if sequence is None:
                        continue
                    top = self.db.execute_sql(
                        f"SELECT MAX({quote_ident(column.name)}) FROM {target}").fetchone()[0]
                    start = max(int(top or 0) + 1, 1)
                    self.db.execute_sql(f"ALTER SEQUENCE {sequence} RESTART WITH {start}")
                    self.report.sequences.append(f"{sequence} restarts at {start}")


class _TableWriter:
    """Inserts one table's batches; defers self-references to later rows."""

    def __init__(self, target: _Target, table: _Table):
        self.target, self.table = target, table
        self.seen = set()
        self.fixups = []            # (primary key, field index, value)

    def insert(self, rows, fail) -> None:
        """Insert ``rows`` (one savepoint). On a refusal, find the first bad
        row by inserting them one by one and raise ``fail(i, exc)``."""
        target, table = self.target, self.table
        rows = [list(r) for r in rows]
        if table.self_refs:
            self._defer_forward_refs(rows, fail)
        target.bindings.use(target.db, table.app)
        target.ensure_partitions(table, rows)
        db, model = target.db, table.model
        try:
            with db.atomic():
                for start in range(0, len(rows), table.chunk):
                    model.insert_many(rows[start:start + table.chunk],
                                      fields=table.fields).execute()
        except (StoreError, peewee.DatabaseError) as exc:
            if db.transaction_lost():       # e.g. disk full: no row-by-row search
                raise TransferError(f"{table.label}: {exc}", table=table.label) from exc
            for i, row in enumerate(rows):
                try:
                    with db.atomic():
                        model.insert_many([row], fields=table.fields).execute()
                except (StoreError, peewee.DatabaseError) as row_exc:
                    raise fail(i, row_exc) from row_exc
            raise TransferError(f"{table.label}: {exc}", table=table.label) from exc

    def _defer_forward_refs(self, rows, fail) -> None:
        table = self.table
        keys = {row[table.pk_index] for row in rows}
        for i, row in enumerate(rows):
            for place in table.self_refs:
                value = row[place]
                if value is None or value in self.seen or value in keys:
                    continue
                column = table.fields[place]
                if not column.null:
                    raise fail(i, TransferError(
                        f"column {column.column_name} refers to a later row of "
                        f"{table.name} and is NOT NULL: the rows cannot be inserted in "
                        f"key order", table=table.label))
                self.fixups.append((row[table.pk_index], place, value))
                row[place] = None
        self.seen |= keys

    def close(self) -> None:
        """Set the self-references deferred by ``insert``."""
        table, target = self.table, self.target
        target.bindings.use(target.db, table.app)
        pk = table.model._meta.primary_key
        for key, place, value in self.fixups:
            # peewee's ModelUpdate: store's Model.update() would refresh auto_now columns
            peewee.ModelUpdate(table.model, {table.fields[place]: value}).where(
                pk == key).execute()


@contextmanager
def _undone_on_failure(target: _Target):
    """On any failure (Ctrl-C included), undo the target's migrations; a
    failure of the undo itself is noted on the original error."""
    try:
        yield
    except BaseException as exc:
        try:
            target.undo()
        except Exception as undo_error:          # noqa: BLE001 - reported on exc
            exc.add_note(f"undoing the migrations applied to the target failed too: "
                         f"{undo_error}")
        raise


# --- copy ------------------------------------------------------------------------------

def copy_database(source_db, target_db, apps, *, truncate=False,
                  batch_size=DEFAULT_BATCH_SIZE, progress=None) -> TransferReport:
    """Copy every table of ``apps`` (App objects or names) from ``source_db``
    to ``target_db`` (store databases, any backends), each app in its
    namespace on both, in one transaction on the target, verified by row
    counts and checksums; see the module docstring. ``progress``: a
    ``store.progress.Progress`` (or anything with start/advance/finish).
    Returns a ``TransferReport``; raises ``TransferError`` (nothing written)."""
    apps = _apps(apps)
    _check_batch_size(batch_size)
    progress = progress or _Silent()
    for app in apps:
        if _same_tables(source_db, target_db, app):
            raise TransferError(f"source and target are the same tables (app {app.name} "
                                f"on {target_db.url.masked()})")
    plans = {app.name: _plan(app) for app in apps}
    bindings = _Bindings(apps)
    report = TransferReport()
    try:
        sources = {}
        for app in apps:
            _require_head(source_db, app, "source")
            sources[app.name] = _check_models(source_db, app, plans[app.name], "source")
        target = _Target(target_db, apps, plans, bindings, report, truncate=truncate,
                         batch_size=batch_size)
        with _undone_on_failure(target):
            target.prepare()
            target.check_models()
            for app in apps:
                _compare(app, sources[app.name], target.schemas[app.name])
            with _read_snapshot(source_db), target_db.atomic():
                target.empty_or_truncate()
                expected = []
                for app in apps:
                    for table in plans[app.name]:
                        expected.append((table, _copy_table(source_db, target, table,
                                                            batch_size, progress)))
                for table, checksum in expected:
                    target.verify(table, checksum, progress)
                target.restart_sequences()
    finally:
        bindings.restore()
    return report


def _copy_table(source_db, target, table, batch_size, progress) -> Checksum:
    checksum = Checksum()
    progress.start(table.label, _count(source_db, table, target.bindings))
    writer = target.writer(table)
    try:
        for rows in _read_batches(source_db, table, target.bindings, batch_size):
            for row in rows:
                checksum.add(_digest(table, table.encode(row)))

            def fail(i, exc, rows=rows):
                if table.pk_index is None:
                    where = f"row {i + 1} of a batch"
                else:
                    key = rows[i][table.pk_index]
                    where = (f"row {table.fields[table.pk_index].name}="
                             f"{key if isinstance(key, (int, uuid.UUID)) else repr(key)}")
                return TransferError(f"{table.label} {where}: {' '.join(str(exc).split())}",
                                     table=table.label)
            writer.insert(rows, fail)
            progress.advance(len(rows))
        writer.close()
    finally:
        progress.finish()
    return checksum


# --- dump --------------------------------------------------------------------------------

def dump_database(db, apps, directory, *, batch_size=DEFAULT_BATCH_SIZE,
                  progress=None) -> TransferReport:
    """Write every table of ``apps`` to ``directory/<app>/<table>.jsonl`` plus
    ``directory/manifest.json``, from one read snapshot. ``directory`` must
    not exist or be empty; it appears complete or not at all."""
    apps = _apps(apps)
    _check_batch_size(batch_size)
    progress = progress or _Silent()
    directory = Path(directory).resolve()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise TransferError(f"{directory} exists and is not an empty directory: dump "
                            f"writes into a new or empty one")
    plans = {app.name: _plan(app) for app in apps}
    heads = {}
    for app in apps:
        heads[app.name] = _require_head(db, app, "database").head
        _check_models(db, app, plans[app.name], "database")
    bindings = _Bindings(apps)
    report = TransferReport()
    _sweep_stale_scratch(directory)
    scratch = directory.parent / f".{directory.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    manifest = {"format": DUMP_FORMAT, "version": DUMP_VERSION,
                "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "backend": db.features.name, "apps": {}}
    try:
        with _read_snapshot(db):
            for app in apps:
                entry = {"namespace": app.namespace, "head": heads[app.name], "tables": []}
                (scratch / app.name).mkdir(parents=True)
                for table in plans[app.name]:
                    relative = f"{app.name}/{table.name}.jsonl"
                    checksum = _dump_table(db, table, scratch / relative, bindings,
                                           batch_size, progress)
                    entry["tables"].append({"table": table.name, "file": relative,
                                            "columns": table.columns, "rows": checksum.rows,
                                            "checksum": checksum.hexdigest})
                    report.tables.append(TableReport(app.name, table.name, checksum.rows,
                                                     checksum.hexdigest))
                manifest["apps"][app.name] = entry
        (scratch / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if directory.exists():
            directory.rmdir()
        scratch.rename(directory)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    finally:
        bindings.restore()
    return report


def _sweep_stale_scratch(directory: Path) -> None:
    """Remove what a killed dump into ``directory`` left: its scratch folder
    ``.<name>.<pid>.<hex>.tmp``, when that process is gone (a running dump's
    is kept)."""
    for stale in directory.parent.glob(f".{directory.name}.*.*.tmp"):
        pid = stale.name[len(directory.name) + 2:].split(".", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass                              # alive, another user's


def _dump_table(db, table, path, bindings, batch_size, progress) -> Checksum:
    checksum = Checksum()
    progress.start(table.label, _count(db, table, bindings))
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            for rows in _read_batches(db, table, bindings, batch_size):
                lines = []
                for row in rows:
                    encoded = table.encode(row)
                    checksum.add(_digest(table, encoded))
                    lines.append(json.dumps(dict(zip(table.columns, encoded)),
                                            ensure_ascii=False) + "\n")
                out.writelines(lines)
                progress.advance(len(rows))
    finally:
        progress.finish()
    return checksum


# --- load --------------------------------------------------------------------------------

def read_manifest(directory) -> dict:
    """The manifest of a dump directory (``DumpFileError`` if unreadable)."""
    path = Path(directory) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DumpFileError(path, None, None, "not found: not a dump directory") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DumpFileError(path, None, None, f"not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != DUMP_FORMAT \
            or not isinstance(data.get("apps"), dict):
        raise DumpFileError(path, None, None, f"not a {DUMP_FORMAT} manifest")
    if data.get("version") != DUMP_VERSION:
        raise DumpFileError(path, None, None, f"format version {data.get('version')!r}; "
                                              f"this store reads version {DUMP_VERSION}")
    return data


def load_database(db, apps, directory, *, truncate=False, batch_size=DEFAULT_BATCH_SIZE,
                  progress=None) -> TransferReport:
    """Load ``apps`` (default: every app of the dump) from a dump directory
    into ``db``, with the guarantees of ``copy_database``: one transaction,
    foreign-key order, counts and checksums verified (each file against the
    manifest, the target against the files), sequences restarted, a
    non-empty target refused unless ``truncate``. A line that does not fit
    the schema raises ``DumpFileError`` naming the file, line and column."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    apps = _apps(apps if apps else list(manifest["apps"]))
    _check_batch_size(batch_size)
    progress = progress or _Silent()
    plans = {app.name: _plan(app) for app in apps}
    files = {}
    for app in apps:
        entry = manifest["apps"].get(app.name)
        if entry is None:
            raise TransferError(f"{directory}: the dump holds no app {app.name!r} (it holds "
                                f"{', '.join(manifest['apps']) or 'none'})")
        migrations = migration_names(app.migrations_dir)
        head = migrations[-1] if migrations else None
        if entry.get("head") != head:
            raise TransferError(f"app {app.name}: the dump was taken at migration "
                                f"{entry.get('head')}, the migrations here end at {head}: "
                                f"load needs the same schema")
        listed = {t.get("table"): t for t in entry.get("tables", [])}
        for table in plans[app.name]:
            info = listed.get(table.name)
            if info is None:
                raise DumpFileError(directory / MANIFEST, None, None,
                                    f"app {app.name}: no entry for table {table.name}")
            files[table.label] = (directory / app.name / f"{table.name}.jsonl", info)
    bindings = _Bindings(apps)
    report = TransferReport()
    try:
        target = _Target(db, apps, plans, bindings, report, truncate=truncate,
                         batch_size=batch_size)
        with _undone_on_failure(target):
            target.prepare()
            target.check_models()
            with db.atomic():
                target.empty_or_truncate()
                expected = []
                for app in apps:
                    for table in plans[app.name]:
                        path, info = files[table.label]
                        expected.append((table, _load_table(target, table, path, info,
                                                            batch_size, progress)))
                for table, checksum in expected:
                    target.verify(table, checksum, progress)
                target.restart_sequences()
    finally:
        bindings.restore()
    return report


def _load_table(target, table, path, info, batch_size, progress) -> Checksum:
    checksum = Checksum()
    if not path.is_file():
        raise DumpFileError(path, None, None, "file not found", table=table.label)
    progress.start(table.label, info.get("rows"))
    writer = target.writer(table)
    try:
        for rows, lines in _read_dump_file(path, table, batch_size):
            for row in rows:
                checksum.add(_digest(table, table.encode(row)))

            def fail(i, exc, lines=lines):
                column = None
                if isinstance(exc, ValidationError):
                    column = exc.field.rsplit(".", 1)[-1]
                elif getattr(exc, "column", None):
                    column = exc.column
                return DumpFileError(path, lines[i], column, " ".join(str(exc).split()),
                                     table=table.label)
            writer.insert(rows, fail)
            progress.advance(len(rows))
        writer.close()
    finally:
        progress.finish()
    if (checksum.rows, checksum.hexdigest) != (info.get("rows"), info.get("checksum")):
        raise DumpFileError(path, None, None,
                            f"holds {checksum.rows} rows (checksum {checksum.hexdigest[:16]}), "
                            f"the manifest says {info.get('rows')} "
                            f"({str(info.get('checksum'))[:16]}): the file changed after the "
                            f"dump", table=table.label)
    return checksum


def _read_dump_file(path, table, batch_size):
    """Batches of (rows of Python values, their line numbers)."""
    columns = table.columns
    wanted = set(columns)
    rows, lines = [], []
    with open(path, encoding="utf-8") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except ValueError as exc:
                raise DumpFileError(path, number, None, f"not JSON ({exc})",
                                    table=table.label) from None
            if not isinstance(obj, dict):
                raise DumpFileError(path, number, None, "a line must be a JSON object",
                                    table=table.label)
            unknown = [k for k in obj if k not in wanted]
            if unknown:
                raise DumpFileError(path, number, unknown[0],
                                    f"unknown column (table {table.name} has "
                                    f"{', '.join(columns)})", table=table.label)
            row = []
            for column, kind, field in zip(columns, table.kinds, table.fields):
                if column not in obj:
                    raise DumpFileError(path, number, column, "missing", table=table.label)
                try:
                    value = _decode(kind, obj[column], field)
                    validate = getattr(field, "validate", None)
                    if validate is not None and value is not None:
                        validate(value)
                except (ValueError, TypeError) as exc:
                    reason = exc.reason if isinstance(exc, ValidationError) else str(exc)
                    raise DumpFileError(path, number, column, reason,
                                        table=table.label) from None
                row.append(value)
            rows.append(row)
            lines.append(number)
            if len(rows) >= batch_size:
                yield rows, lines
                rows, lines = [], []
    if rows:
        yield rows, lines


def describe(report: TransferReport) -> list:
    """Readable lines for a report (the CLI prints them)."""
    out = []
    for app, applied in report.migrated.items():
        out.append(f"target: migrated {app} ({', '.join(applied)})")
    if report.truncated:
        out.append(f"target: emptied {', '.join(report.truncated)}")
    if report.partitions:
        out.append(f"target: created partitions {', '.join(report.partitions)}")
    width = max((len(f"{t.app}.{t.table}") for t in report.tables), default=0)
    for t in report.tables:
        out.append(f"{t.app + '.' + t.table:{width}}  {t.rows:>9,} rows  "
                   f"checksum {t.checksum[:16]}")
    return out

