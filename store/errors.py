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
