"""Process a message exactly once: the work and its record commit together.

    from store.idempotency import once, process_once

    with once(db, ProcessedMessage, update.message_id) as first:
        if first:                       # not seen before: do the work here
            Feature.create(...)

    outcome = process_once(db, ProcessedMessage, message_id, handle, update)
    outcome.ran, outcome.result         # False, None for a duplicate

``model`` is any store model whose single-column primary key is the message
key (the backlog app's ``processed_messages``: ``message_id`` VARCHAR(100)
primary key, ``processed_at`` defaulting to now). Its other columns get their
defaults, or the values passed as ``values=``.

How it works: one transaction inserts the key with
``INSERT ... ON CONFLICT (<pk>) DO NOTHING``; the row count says whether the
key is new. The work runs in the same transaction, so

* the work and the record commit together, or neither does: an exception in
  the work rolls the record back and a retry runs the work again;
* a duplicate (key already committed) inserts nothing, skips the work and
  commits an empty transaction;
* two racers with the same key (threads with their own connections, or
  processes) cannot both see a new key. On PostgreSQL the second INSERT waits
  for the first transaction on the primary-key index entry, then does nothing
  (first committed) or inserts (first rolled back). On SQLite the transaction
  is opened with ``BEGIN IMMEDIATE``, taking the database's write lock before
  the INSERT, so racers queue on the busy timeout (10 s by default, the URL's
  ``?timeout=``); a racer that waits longer gets ``OperationalError
  ("database is locked")`` and nothing is recorded for it.

Called inside an open transaction, ``once`` nests as a savepoint and its
record commits with the outer transaction; on SQLite the write lock is then
whatever the outer transaction holds (open it with
``db.atomic(lock_type="IMMEDIATE")`` to keep the race guarantee).

"Exactly once" covers what the work writes to this database. An effect
outside it (sending a message, calling an API) happens before the commit, so
a crash between the two repeats it on retry: at-least-once for those.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

import peewee

from .errors import ConfigError, ValidationError

#: Options of ``db.atomic()`` for a transaction that must hold the write lock
#: from its first statement (SQLite's BEGIN IMMEDIATE). PostgreSQL needs none:
#: row locks on the primary key serialize the racers.
_WRITE_TRANSACTION = {"sqlite": {"lock_type": "IMMEDIATE"}}


@dataclass(frozen=True)
class Outcome:
    """What ``process_once`` did: ``ran`` (the work ran and was recorded)
    and ``result`` (its return value, None for a duplicate). True when ran."""
    ran: bool
    result: Any = None

    def __bool__(self):
        return self.ran


def _key_field(model):
    pk = model._meta.primary_key
    if not isinstance(pk, peewee.Field) or isinstance(pk, peewee.CompositeKey):
        raise ConfigError(f"{model.__name__}: idempotency needs a single-column "
                          "primary key holding the message key")
    return pk


def _write_transaction(db):
    return db.atomic(**_WRITE_TRANSACTION.get(db.features.name, {}))


def claim(db, model, key, values=None) -> bool:
    """Insert ``key`` into ``model``'s table on ``db`` unless present; True
    when inserted. Meant to run inside a transaction (``once`` opens the
    right one)."""
    pk = _key_field(model)
    if key is None:
        raise ValidationError(f"{model._meta.table_name}.{pk.column_name}",
                              "the message key must not be None")
    row = dict(values or {})
    row[pk.name] = key
    query = (model.insert(**row)
             .on_conflict(conflict_target=[pk], action="NOTHING")
             .as_rowcount())
    return query.execute(db) == 1


@contextmanager
def once(db, model, key, *, values=None):
    """``with once(db, model, key) as first:`` -- ``first`` is True when
    ``key`` was not processed before: do the work in the block. The block
    runs in the transaction that records ``key``; an exception leaving the
    block rolls both back (and propagates). ``values``: other columns of the
    record."""
    _key_field(model)
    with _write_transaction(db):
        yield claim(db, model, key, values)


def process_once(db, model, key, fn: Callable, *args, values=None, **kwargs) -> Outcome:
    """Run ``fn(*args, **kwargs)`` unless ``key`` was processed before, in the
    transaction that records it. ``Outcome(ran=True, result=fn's value)``, or
    ``Outcome(ran=False)`` for a duplicate. An exception from ``fn``
    propagates and nothing is recorded."""
    with once(db, model, key, values=values) as first:
        if not first:
            return Outcome(False)
        return Outcome(True, fn(*args, **kwargs))
