"""Append-only tables: the database itself refuses every UPDATE and DELETE.

A model declares ``Meta.append_only = True`` (inherited by subclasses, like
other extra ``Meta`` keys). ``create_table`` then also creates the guard
below and ``drop_table`` removes it, leaving nothing behind; the statements
come from ``create_sql(model, backend)`` / ``drop_sql(model, backend)`` so a
migration can emit exactly the same SQL.

Per backend (trigger names are the same on both, see ``trigger_names``):

* SQLite: ``tr_<table>_append_only_update`` and
  ``tr_<table>_append_only_delete``, ``BEFORE UPDATE`` / ``BEFORE DELETE``
  row triggers doing ``RAISE(ABORT, '<message>')``. The driver reports
  ``SQLITE_CONSTRAINT_TRIGGER``.
* PostgreSQL: one PL/pgSQL function per table, ``store_append_only_<table>()``,
  raising SQLSTATE 23001 (``restrict_violation``) with the table and trigger
  named in the error's diagnostics; the same two row triggers call it, and a
  third, ``tr_<table>_append_only_truncate`` (``BEFORE TRUNCATE``, per
  statement), so that ``Model.truncate_table()`` is refused as it is on
  SQLite (where peewee runs it as ``DELETE FROM``). Dropping the table drops
  its triggers; ``drop_sql`` also drops the function.

Either way the write is refused with ``store.errors.AppendOnlyViolation``
(a ``ConstraintViolation`` and a peewee ``IntegrityError``) whose ``table``
is the table and ``operation`` is ``"UPDATE"`` or ``"DELETE"`` (``"TRUNCATE"``
for a PostgreSQL TRUNCATE), whether it came from ``save()``,
``delete_instance()``, ``Model.update()``/``delete()`` queries, raw SQL or a
cascading delete from a parent table. Inserts are untouched.

Outside the guarantee:

* anyone allowed to run DDL can drop the triggers (or ``ALTER TABLE ...
  DISABLE TRIGGER`` on PostgreSQL); dropping the table is always allowed;
* PostgreSQL ``session_replication_role = replica`` skips triggers;
* SQLite ``INSERT OR REPLACE`` (peewee's ``replace()``) deletes a conflicting
  row without firing DELETE triggers unless the connection has
  ``PRAGMA recursive_triggers = ON``. An ``INSERT ... ON CONFLICT DO UPDATE``
  is refused on both (it fires the UPDATE trigger).
* A SQLite table rebuild or a table rename must re-create the guard
  (``drop_sql`` for the old name, ``create_sql`` for the new one): the
  message and, on PostgreSQL, the function name carry the table name.
"""
from __future__ import annotations

import re

import peewee

from .errors import AppendOnlyViolation
from .fields import quote_ident

#: SQLSTATE the PostgreSQL guard raises: class 23 (integrity), so drivers
#: and peewee report an IntegrityError, as SQLite does for RAISE(ABORT).
PG_SQLSTATE = "23001"

_OPERATIONS = ("UPDATE", "DELETE")
_MESSAGE = re.compile(r'^append-only table "((?:[^"]|"")+)": (UPDATE|DELETE|TRUNCATE) refused$')


def is_append_only(model) -> bool:
    """Whether ``model`` declares ``Meta.append_only = True``."""
    return bool(getattr(model._meta, "append_only", False))


def _name(*parts: str) -> str:
    # Same truncation rule as store's constraint names (63 = PostgreSQL's limit).
    return peewee._truncate_constraint_name("_".join(parts), maxlen=63)


def trigger_names(model, backend: str) -> dict:
    """``{"UPDATE": name, "DELETE": name[, "TRUNCATE": name]}`` for ``backend``."""
    table = model._meta.table_name
    ops = _OPERATIONS + (("TRUNCATE",) if backend == "postgresql" else ())
    return {op: _name("tr", table, "append_only", op.lower()) for op in ops}


def function_name(model) -> str:
    """The PostgreSQL trigger function of ``model``'s table."""
    return _name("store_append_only", model._meta.table_name)


def _message_prefix(table: str) -> str:
    return 'append-only table "%s": ' % table.replace('"', '""')


def message(table: str, operation: str) -> str:
    """The error text both backends raise for ``operation`` on ``table``."""
    return f"{_message_prefix(table)}{operation} refused"


def _literal(text: str) -> str:
    return "'%s'" % text.replace("'", "''")


def _qualified(model, name: str) -> str:
    schema = model._meta.schema
    return f"{quote_ident(schema)}.{quote_ident(name)}" if schema else quote_ident(name)


def create_sql(model, backend: str) -> list:
    """Statements that make ``model``'s existing table append-only on
    ``backend`` (``"sqlite"`` or ``"postgresql"``). Idempotent: running them
    again replaces the guard. Empty when the model is not append-only."""
    if not is_append_only(model):
        return []
    table = model._meta.table_name
    names = trigger_names(model, backend)
    if backend == "sqlite":
        out = []
        for op in _OPERATIONS:
            trigger = _qualified(model, names[op])
            out.append(f"DROP TRIGGER IF EXISTS {trigger}")
            out.append(f"CREATE TRIGGER {trigger} BEFORE {op} ON {quote_ident(table)} "
                       f"FOR EACH ROW BEGIN SELECT RAISE(ABORT, "
                       f"{_literal(message(table, op))}); END")
        return out
    if backend == "postgresql":
        function = _qualified(model, function_name(model))
        prefix = _literal(_message_prefix(table))
        out = [
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql "
            f"AS $store$ BEGIN RAISE EXCEPTION USING ERRCODE = '{PG_SQLSTATE}', "
            f"MESSAGE = {prefix} || TG_OP || ' refused', TABLE = TG_TABLE_NAME, "
            f"SCHEMA = TG_TABLE_SCHEMA, CONSTRAINT = TG_NAME; END $store$"]
        target = _qualified(model, table)
        for op, trigger in names.items():
            each = "STATEMENT" if op == "TRUNCATE" else "ROW"
            out.append(f"DROP TRIGGER IF EXISTS {quote_ident(trigger)} ON {target}")
            out.append(f"CREATE TRIGGER {quote_ident(trigger)} BEFORE {op} ON {target} "
                       f"FOR EACH {each} EXECUTE FUNCTION {function}()")
        return out
    raise ValueError(f"append-only: unsupported backend {backend!r}")


def drop_sql(model, backend: str) -> list:
    """Statements that remove the guard of ``model``'s table (triggers and,
    on PostgreSQL, the function). Safe whether or not the table or the
    guard exist; run them before or after dropping the table. Empty when
    the model is not append-only."""
    if not is_append_only(model):
        return []
    names = trigger_names(model, backend)
    if backend == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {_qualified(model, names[op])}" for op in _OPERATIONS]
    if backend == "postgresql":
        target = _qualified(model, model._meta.table_name)
        out = [f"DROP TRIGGER IF EXISTS {quote_ident(t)} ON {target}" for t in names.values()]
        out.append(f"DROP FUNCTION IF EXISTS {_qualified(model, function_name(model))}()")
        return out
    raise ValueError(f"append-only: unsupported backend {backend!r}")


def violation_from_message(text: str, constraint: str | None = None):
    """The ``AppendOnlyViolation`` for a database error whose message is one
    of ``message()``'s, else None. Used by both backends' error translation."""
    m = _MESSAGE.match((text or "").strip())
    if not m:
        return None
    table, operation = m.group(1).replace('""', '"'), m.group(2)
    if constraint is None:
        constraint = _name("tr", table, "append_only", operation.lower())
    return AppendOnlyViolation(table, operation, constraint)


def refuse(instance_or_model, operation: str):
    """Raise the ``AppendOnlyViolation`` for ``operation`` when the model is
    append-only (an early, ORM-level refusal; the triggers are the guarantee)."""
    model = instance_or_model if isinstance(instance_or_model, type) else type(instance_or_model)
    if is_append_only(model):
        table = model._meta.table_name
        raise AppendOnlyViolation(table, operation,
                                  _name("tr", table, "append_only", operation.lower()))
