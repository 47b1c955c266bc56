"""Daily range partitions: native declarative partitioning on PostgreSQL,
a plain indexed table on SQLite, the same model code and queries on both.

Declare a partitioned model by subclassing ``PartitionedModel`` and naming
its partition key, a NOT NULL ``DateField`` (the day a row belongs to)::

    class Reading(PartitionedModel):
        taken_on = store.DateField()
        value = store.DoubleField()

        class Meta:
            partition_key = "taken_on"

Per backend:

* PostgreSQL: ``CREATE TABLE ... PARTITION BY RANGE (taken_on)`` (no
  extension). PostgreSQL requires every primary key and unique constraint
  of a partitioned table to contain the partition key, so the primary key
  is ``(id, taken_on)``, named ``<table>_pkey``; ``id`` is still a bigserial
  (one sequence for all partitions), unique in practice, and peewee keeps
  using ``id`` alone as the model's identity (``get_by_id``, ``save``,
  ``delete_instance`` work; a lookup by ``id`` without the day visits every
  partition's primary-key index, so add ``taken_on == day`` when you know
  it). Partitions are ordinary tables ``<table>_pYYYYMMDD`` in the parent's
  schema, each ``FOR VALUES FROM (day) TO (day + 1)``, made by
  ``create_partitions``. Indexes declared on the model are created on the
  parent and so on every partition.
* SQLite: a plain table with ``id INTEGER PRIMARY KEY`` (stronger: ``id``
  alone is unique) and an index ``ix_<table>_<key>`` on the partition key,
  created on SQLite only (a daily partition makes it useless on
  PostgreSQL). ``create_partitions``, ``list_partitions`` and
  ``drop_partitions_before`` are no-ops that return ``[]``.

A row for a day without a partition (PostgreSQL) is refused, not caught by a
DEFAULT partition: writes through the model (``create``, ``save``,
``insert``, ``insert_many``, ``update``) raise ``MissingPartition`` naming the
table and the day, and nothing is written. Chosen over a DEFAULT partition
because rows in a DEFAULT partition block creating the partition for their
day later (PostgreSQL refuses it until they are moved) and hide a missing
``create_partitions`` run until the default partition is large. SQLite has
no partitions and accepts every day: a documented, tested difference. Raw
SQL that hits a missing partition gets store's generic ``CheckViolation``
(PostgreSQL reports it as a check violation without a constraint name).

The daily job: ``create_partitions(db, Model, date.today(), 7)`` (creates the
missing ones of the next 7 days, returns their names) and
``drop_partitions_before(db, Model, date.today() - timedelta(days=90))``.
"""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

import peewee
from peewee import SQL, Entity, NodeList

from .errors import CheckViolation, ConfigError, ConstraintViolation, MissingPartition, violation
from .fields import BigAutoField, quote_ident
from .model import Model, StoreSchemaManager, constraint_name

__all__ = ["PartitionedModel", "PartitionedSchemaManager", "PartitionRowId",
           "MissingPartition", "Partition", "partition_name", "create_partitions",
           "list_partitions", "drop_partitions_before"]


# --- the table definition ------------------------------------------------------

def partition_key(model) -> peewee.Field:
    """The partition-key field of ``model`` (``ConfigError`` if it has none)."""
    name = getattr(model._meta, "partition_key", None)
    field = model._meta.fields.get(name) if name else None
    if field is None:
        raise ConfigError(f"{model.__name__} is not partitioned: set Meta.partition_key "
                          f"to the name of a DateField")
    if not isinstance(field, peewee.DateField) or field.null:
        raise ConfigError(f"{model.__name__}.Meta.partition_key {name!r} must be a "
                          f"NOT NULL DateField (daily partitions)")
    if not isinstance(model._meta.primary_key, PartitionRowId):
        raise ConfigError(f"{model.__name__}: a partitioned model keeps the inherited "
                          f"'id' primary key (PartitionRowId)")
    return field


def _is_partitioned_ddl(ctx) -> bool:
    return bool(getattr(ctx.state, "store_partitioned", False))


class PartitionRowId(BigAutoField):
    """The ``id`` of a partitioned model: a bigserial that is the model's
    primary key in peewee, but not alone the table's PRIMARY KEY on
    PostgreSQL (there the key is ``(id, <partition key>)``)."""

    def ddl(self, ctx):
        node = super().ddl(ctx)
        if _is_partitioned_ddl(ctx):
            node = NodeList([n for n in node.nodes
                             if not (isinstance(n, SQL) and n.sql == "PRIMARY KEY")])
        return node


class PartitionedSchemaManager(StoreSchemaManager):
    """``StoreSchemaManager`` plus ``PARTITION BY RANGE (<key>)`` and the
    composite primary key on PostgreSQL, and the partition-key index on
    SQLite (see the module docstring)."""

    def _native(self) -> bool:
        return native_partitioning(self.database)

    def _create_context(self):
        if not self._native():
            return super()._create_context()
        # read by PartitionRowId.ddl
        return self.database.get_sql_context(store_partitioned=True, **self.context_options)

    def _create_table_option_sql(self, options):
        accum = super()._create_table_option_sql(options)
        if self._native():
            meta = self.model._meta
            key = partition_key(self.model)
            accum.append(NodeList((
                SQL("CONSTRAINT"), Entity(f"{meta.table_name}_pkey"), SQL("PRIMARY KEY"),
                peewee.EnclosedNodeList([Entity(meta.primary_key.column_name),
                                         Entity(key.column_name)]))))
        return accum

    def _create_table(self, safe=True, **options):
        key = partition_key(self.model)
        ctx = super()._create_table(safe=safe, **options)
        if self._native():
            ctx.literal(" PARTITION BY RANGE (").sql(Entity(key.column_name)).literal(")")
        return ctx

    def _key_index(self):
        key = partition_key(self.model)
        table = self.model._meta.table_name
        return peewee.ModelIndex(self.model, (key,), unique=False,
                                 name=constraint_name("ix", table, key.column_name))

    def _declares_key_index(self) -> bool:
        key = partition_key(self.model)
        for index in self.model._meta.fields_to_index():
            expressions = getattr(index, "_expressions", ())
            if expressions and expressions[0] is key:
                return True
        return False

    def _create_indexes(self, safe=True):
        statements = super()._create_indexes(safe)
        if not self._native() and not self._declares_key_index():
            statements.append(self._create_index(self._key_index(), safe))
        return statements

    def _drop_indexes(self, safe=True):
        statements = super()._drop_indexes(safe)
        if not self._native() and not self._declares_key_index():
            statements.append(self._drop_index(self._key_index(), safe))
        return statements


# --- writes: a missing partition becomes MissingPartition -----------------------

_NO_PARTITION = re.compile(r'no partition of relation "(?P<table>[^"]+)" found for row')
_KEY_DETAIL = re.compile(r"contains \((?P<column>[^)]*)\) = \((?P<value>[^)]*)\)")


def missing_partition_from(exc) -> MissingPartition | None:
    """The ``MissingPartition`` that ``exc`` (store's translation of a
    PostgreSQL error) stands for, or None if it is another error."""
    if isinstance(exc, MissingPartition):
        return exc
    if not isinstance(exc, CheckViolation) or exc.constraint is not None:
        return None
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    found = _NO_PARTITION.search(getattr(diag, "message_primary", None) or "")
    if not found:
        return None
    detail = _KEY_DETAIL.search(getattr(diag, "message_detail", None) or "")
    column = detail.group("column") if detail else None
    day = detail.group("value") if detail else None
    if day is not None:
        try:
            day = _dt.date.fromisoformat(day)
        except ValueError:
            pass
    return MissingPartition(found.group("table"), column, day)


def _from_partition(exc: ConstraintViolation, model) -> ConstraintViolation | None:
    """``exc`` raised by one of ``model``'s partitions, restated for the
    partitioned table (PostgreSQL names the partition, ``detections_p20240105``
    and its ``detections_p20240105_pkey``; SQLite names ``detections``), or
    None when it is not about a partition. Partitions are recognised by
    ``partition_name``'s pattern: the failed transaction cannot be asked."""
    table = model._meta.table_name
    if not exc.table or not _is_partition_name(model, exc.table):
        return None
    constraint = exc.constraint
    if constraint == f"{exc.table}_pkey":
        constraint = f"{table}_pkey"
    restated = violation(exc.kind, table=table, constraint=constraint, column=exc.column)
    restated.orig = getattr(exc, "orig", None)
    return restated


class _TranslatesPartitionErrors:
    def _execute(self, database):
        try:
            return super()._execute(database)
        except ConstraintViolation as exc:
            better = missing_partition_from(exc) or _from_partition(exc, self.model)
            if better is None or better is exc:
                raise
            if getattr(better, "orig", None) is None:
                better.orig = getattr(exc, "orig", None)
            raise better from exc.__cause__


class PartitionedInsert(_TranslatesPartitionErrors, peewee.ModelInsert):
    """peewee's ModelInsert; a missing partition raises MissingPartition and
    a constraint error names the partitioned table, not the partition."""


class PartitionedUpdate(_TranslatesPartitionErrors, peewee.ModelUpdate):
    """peewee's ModelUpdate, with the errors of ``PartitionedInsert``
    (moving a row to a day without partition raises MissingPartition)."""


class PartitionedModel(Model):
    """Abstract base of a model partitioned by day (see the module docstring).
    Subclasses set ``Meta.partition_key`` to a NOT NULL ``DateField``; a
    missing or wrong key raises ``ConfigError`` when the table is created or
    its partitions are managed."""

    id = PartitionRowId()

    class Meta:
        abstract = True
        schema_manager_class = PartitionedSchemaManager

    # peewee builds these query objects itself; only their execution changes
    @classmethod
    def insert(cls, __data=None, **insert):
        query = super().insert(__data, **insert)
        query.__class__ = PartitionedInsert
        return query

    @classmethod
    def insert_many(cls, rows, fields=None):
        query = super().insert_many(rows, fields)
        query.__class__ = PartitionedInsert
        return query

    @classmethod
    def insert_from(cls, query, fields):
        insert = super().insert_from(query, fields)
        insert.__class__ = PartitionedInsert
        return insert

    @classmethod
    def update(cls, __data=None, **update):
        query = super().update(__data, **update)
        query.__class__ = PartitionedUpdate
        return query


# --- managing partitions ----------------------------------------------------------

@dataclass(frozen=True)
class Partition:
    """One partition: its table name and the days it holds, ``start``
    included, ``end`` excluded (both None for a DEFAULT partition; one of
    them None for MINVALUE/MAXVALUE bounds)."""
    name: str
    start: _dt.date | None
    end: _dt.date | None


def partition_name(model, day: _dt.date) -> str:
    """``<table>_pYYYYMMDD`` (the table part shortened to fit 63 characters)."""
    suffix = "_p" + day.isoformat().replace("-", "")
    return model._meta.table_name[:63 - len(suffix)] + suffix


def _is_partition_name(model, name: str) -> bool:
    prefix = partition_name(model, _dt.date.min)[:-8]          # "<table>_p"
    day = name[len(prefix):]
    return name.startswith(prefix) and len(day) == 8 and day.isdigit()


def native_partitioning(db) -> bool:
    """Whether ``db`` partitions tables (PostgreSQL) or not (SQLite): the one
    place the backends' difference is decided."""
    return db.features.name == "postgresql"


def _parent(db, model) -> tuple[str, str]:
    """(schema, table) of the partitioned parent table, or ConfigError."""
    meta = model._meta
    partition_key(model)
    target = quote_ident(meta.table_name)
    if meta.schema:
        target = f"{quote_ident(meta.schema)}.{target}"
    row = db.execute_sql(
        "SELECT n.nspname, c.relkind FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
        (target,)).fetchone()
    if row is None:
        raise ConfigError(f"table {meta.table_name} does not exist: create it "
                          f"(run the migrations) before its partitions")
    if row[1] != "p":
        raise ConfigError(f"table {meta.table_name} is not a partitioned table")
    return row[0], meta.table_name


_BOUND = re.compile(r"FOR VALUES FROM \((?P<start>[^)]*)\) TO \((?P<end>[^)]*)\)")


def _bound_day(text: str):
    text = text.strip()
    if text.upper() in ("MINVALUE", "MAXVALUE"):
        return None
    return _dt.date.fromisoformat(text.strip("'"))


def list_partitions(db, model) -> list[Partition]:
    """The partitions of ``model``'s table, oldest first (a DEFAULT one
    last). SQLite: ``[]``."""
    if not native_partitioning(db):
        return []
    schema, table = _parent(db, model)
    rows = db.execute_sql(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
        (f"{quote_ident(schema)}.{quote_ident(table)}",)).fetchall()
    out = []
    for name, bound in rows:
        found = _BOUND.search(bound or "")
        if found:
            out.append(Partition(name, _bound_day(found.group("start")),
                                 _bound_day(found.group("end"))))
        else:                                   # DEFAULT
            out.append(Partition(name, None, None))
    far = _dt.date.max
    return sorted(out, key=lambda p: (p.start is None and p.end is None,
                                      p.start or _dt.date.min, p.end or far, p.name))


def create_partitions(db, model, start: _dt.date, days: int) -> list[str]:
    """Create the missing daily partitions of ``model`` for ``days`` days
    from ``start`` (included); return the names created, in day order
    (``[]`` when all exist). Runs in one transaction. SQLite: ``[]``."""
    if isinstance(start, _dt.datetime) or not isinstance(start, _dt.date):
        raise ConfigError(f"create_partitions: start must be a date, got {start!r}")
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise ConfigError(f"create_partitions: days must be a non-negative integer, "
                          f"got {days!r}")
    if not native_partitioning(db):
        partition_key(model)
        return []
    schema, table = _parent(db, model)
    existing = {p.name for p in list_partitions(db, model)}
    created = []
    with db.atomic():
        for offset in range(days):
            day = start + _dt.timedelta(days=offset)
            name = partition_name(model, day)
            if name in existing:
                continue
            db.execute_sql(
                f"CREATE TABLE IF NOT EXISTS {quote_ident(schema)}.{quote_ident(name)} "
                f"PARTITION OF {quote_ident(schema)}.{quote_ident(table)} "
                f"FOR VALUES FROM ('{day.isoformat()}') "
                f"TO ('{(day + _dt.timedelta(days=1)).isoformat()}')")
            created.append(name)
    return created


def drop_partitions_before(db, model, day: _dt.date) -> list[str]:
    """Drop every partition that holds only days before ``day`` (their rows
    go with them); return the names dropped. The DEFAULT partition, if one
    was made by hand, is kept. Runs in one transaction. SQLite: ``[]``
    (nothing is deleted)."""
    if isinstance(day, _dt.datetime) or not isinstance(day, _dt.date):
        raise ConfigError(f"drop_partitions_before: day must be a date, got {day!r}")
    if not native_partitioning(db):
        partition_key(model)
        return []
    schema, _table = _parent(db, model)
    dropped = []
    with db.atomic():
        for partition in list_partitions(db, model):
            if partition.end is not None and partition.end <= day:
                db.execute_sql(f"DROP TABLE {quote_ident(schema)}.{quote_ident(partition.name)}")
                dropped.append(partition.name)
    return dropped
