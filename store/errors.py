"""Typed errors. One root, few leaves, each carrying what a caller needs.

Database integrity errors are translated by the database classes in
``store.database`` into the ``ConstraintViolation`` family, with the same
``kind``, ``table`` and ``constraint`` on SQLite and PostgreSQL for the same
model and the same bad row. The driver's error is kept as ``__cause__``.
"""
from __future__ import annotations

import peewee


class StoreError(Exception):
    """Root of every error store raises on purpose."""


class ConfigError(StoreError):
    """A setting, URL or option is malformed or unsupported."""


class ValidationError(StoreError, ValueError):
    """A value was refused before the database was touched.

    ``field`` is ``"table.column"`` (or the bare field name when the field is
    not bound to a model yet); ``reason`` says what rule the value broke.
    """

    def __init__(self, field: str, reason: str, value=None):
        self.field = field
        self.reason = reason
        self.value = value
        super().__init__(f"{field}: {reason}")


class ConstraintViolation(StoreError, peewee.IntegrityError):
    """The database refused a row. Also a peewee ``IntegrityError``.

    ``kind`` is one of ``check``, ``unique``, ``foreign_key``, ``not_null``
    (``append_only`` for ``AppendOnlyViolation``);
    ``table`` the table the constraint belongs to; ``constraint`` its name
    (``None`` for NOT NULL, which neither backend names); ``column`` the
    column for NOT NULL violations.
    """

    kind = "constraint"

    def __init__(self, message: str, *, table: str | None = None,
                 constraint: str | None = None, column: str | None = None):
        self.table = table
        self.constraint = constraint
        self.column = column
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


class CheckViolation(ConstraintViolation):
    kind = "check"


class UniqueViolation(ConstraintViolation):
    kind = "unique"


class ForeignKeyViolation(ConstraintViolation):
    kind = "foreign_key"


class NotNullViolation(ConstraintViolation):
    kind = "not_null"


class AppendOnlyViolation(ConstraintViolation):
    """An UPDATE, DELETE (or PostgreSQL TRUNCATE) on an append-only table
    (``Meta.append_only = True``, see ``store.appendonly``) was refused.

    ``table`` is the table, ``operation`` ``"UPDATE"``, ``"DELETE"`` or
    ``"TRUNCATE"``, ``constraint`` the refusing trigger
    (``tr_<table>_append_only_<operation>``); the same on both backends.
    """

    kind = "append_only"

    def __init__(self, table: str, operation: str, constraint: str | None = None):
        self.operation = operation
        super().__init__(f"append-only table {table}: {operation} refused",
                         table=table, constraint=constraint)


class TransactionLost(StoreError, peewee.OperationalError):
    """SQLite ended the transaction on its own after an error (disk full, an
    I/O error): nothing of it was kept, and store refuses to run further
    statements of the block, which would otherwise each commit on their own.
    Leave the ``db.atomic()`` block; a new one starts afresh."""


class MigrationError(StoreError):
    """A migration failed; names the app and the migration."""

    def __init__(self, message: str, *, app: str | None = None,
                 migration: str | None = None):
        self.app = app
        self.migration = migration
        super().__init__(message)


VIOLATIONS = {cls.kind: cls for cls in
              (CheckViolation, UniqueViolation, ForeignKeyViolation,
               NotNullViolation)}


def violation(kind: str, *, table, constraint, column=None) -> ConstraintViolation:
    """Build the typed error for ``kind`` with one message format for both backends."""
    cls = VIOLATIONS[kind]
    if kind == "not_null":
        message = f"NOT NULL violated on {table}.{column}"
    else:
        label = {"check": "CHECK", "unique": "UNIQUE",
                 "foreign_key": "FOREIGN KEY"}[kind]
        message = f"{label} constraint {constraint} violated on table {table}"
    return cls(message, table=table, constraint=constraint, column=column)


# --- errors of particular modules (each re-exported there) ---------------------------

class TransferError(StoreError):
    """A copy, dump or load was refused or failed; ``table`` names the table
    (``app.table``) when one is concerned. Nothing was written."""

    def __init__(self, message: str, *, table: str | None = None):
        self.table = table
        super().__init__(message)


class ChecksumMismatch(TransferError):
    """The rows read back from the target differ from the source's."""


class DumpFileError(TransferError):
    """A dump file does not match the schema: ``path``, ``line`` (1-based,
    None for the whole file) and ``column`` (None when not one column)."""

    def __init__(self, path, line, column, reason: str, *, table: str | None = None):
        self.path, self.line, self.column, self.reason = str(path), line, column, reason
        where = self.path + (f":{line}" if line else "")
        what = f" column {column!r}:" if column else ""
        super().__init__(f"{where}:{what} {reason}", table=table)


class MissingPartition(ConstraintViolation):
    """PostgreSQL has no partition of ``table`` for ``day``.

    A ``ConstraintViolation`` (and so a peewee ``IntegrityError``) with
    ``kind == "partition"``, ``table``, ``column`` (the partition key),
    ``day`` (a ``date``, or the text PostgreSQL reported if it is not one)
    and ``constraint`` None.
    """

    kind = "partition"

    def __init__(self, table: str, column: str | None, day):
        self.day = day
        message = (f"no partition of table {table} for {column or 'the partition key'} = {day} "
                   f"(create it first: store.partitions.create_partitions)")
        super().__init__(message, table=table, constraint=None, column=column)


class MultipleRowsFound(StoreError, LookupError):
    """``find_by`` matched more than one row (its keys are not unique)."""

    def __init__(self, table: str, keys: dict, found: int):
        self.table = table
        self.keys = keys
        self.found = found
        super().__init__(f"{table}: {found} rows match {keys!r}; find_by expects at most one")


class MissingExtra(ImportError):
    """An optional dependency is not installed; ``extra`` names the store
    extra that installs it."""

    def __init__(self, what: str, extra: str):
        self.extra = extra
        super().__init__(f"{what} needs {extra}, an optional dependency of store: "
                         f"pip install 'store[{extra}]'", name=extra)


class ReplicaWarning(UserWarning):
    """A replica is skipped (down, lagging, not a replica) or back in use."""


class PoolerRefused(ConfigError):
    """A statement that cannot work through a transaction pooler."""
