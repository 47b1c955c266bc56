"""Names of tables in namespaces, with no database involved: the rules a
namespace name follows, and how a model's table is named for a namespace on
each backend (schema ``dental`` and table ``models`` on PostgreSQL, table
``dental__models`` on SQLite). ``store.namespaces`` does the rest (schemas,
migrations, binding); this module is what the model, field and database
layers need of it, so that they need not import it."""
from __future__ import annotations

import re
from contextlib import contextmanager

import peewee

from .errors import ConfigError

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

#: Between namespace and table in a SQLite table name: ``dental__models``.
SEPARATOR = "__"


def check_name(namespace: str) -> str:
    if not isinstance(namespace, str) or not _NAME.match(namespace) \
            or namespace in ("main", "temp", "pg_catalog", "information_schema"):
        raise ConfigError(f"namespace {namespace!r} must be a lower-case identifier "
                          f"(letters, digits, underscores; not main/temp/pg_catalog)")
    if SEPARATOR in namespace or namespace.endswith("_"):
        raise ConfigError(f"namespace {namespace!r} must not contain '__' nor end with '_' "
                          f"(on SQLite its tables are named {namespace}__<table>)")
    return namespace


def split_name(name: str):
    """``"dental__models"`` -> ``("dental", "models")``; a name of the default
    namespace -> ``(None, name)``."""
    head, sep, rest = name.partition(SEPARATOR)
    if sep and rest and _NAME.match(head) and not head.endswith("_"):
        return head, rest
    return None, name


def strip(name: str, namespace: str | None) -> str:
    """``name`` without the SQLite prefix of ``namespace`` wherever it occurs
    (table, index, trigger and constraint names, trigger bodies)."""
    if not namespace or name is None:
        return name
    return name.replace(f"{namespace}{SEPARATOR}", "")


def base_table(model) -> str:
    """The table name the model declares (without a SQLite prefix)."""
    meta = model._meta
    base = meta.__dict__.get("store_base_table")
    return base if base is not None else meta.table_name


def base_tables(app) -> list:
    return [base_table(m) for m in app.models]


def scope_model(model, backend: str, namespace: str | None) -> None:
    """Name ``model``'s table for ``namespace`` on ``backend``: schema on
    PostgreSQL, prefixed table name on SQLite (the declared name is kept)."""
    meta = model._meta
    base = base_table(model)
    if namespace is None and split_name(base)[0] is not None:
        raise ConfigError(f"table {base!r} ({model.__name__}): a table outside a namespace "
                          f"cannot have '__' in its name (on SQLite "
                          f"'<namespace>__<table>' names a namespace's table); rename it")
    meta.store_base_table = base
    if backend == "sqlite" and namespace:
        _rename(model, f"{namespace}{SEPARATOR}{base}", None)
    else:
        _rename(model, base, namespace)


def set_table(model, name: str, schema: str | None) -> None:
    """Give ``model`` back a table name and schema saved earlier (e.g. by a
    context that re-binds models and restores them at the end)."""
    _rename(model, name, schema)


def _rename(model, name, schema):
    """Set table name and schema, and point the model's own indexes
    (``Model.add_index``, which captured the table) at the new table."""
    meta = model._meta
    meta.set_table_name(name)
    meta.schema = schema
    for index in meta.indexes:
        table = getattr(index, "_table", None)
        if isinstance(index, peewee.Index) and isinstance(table, peewee.Table) \
                and getattr(table, "_model", None) is model:
            index._table = meta.table


def unscoped(models):
    """``models`` with their declared table names and no schema for the
    block (how migrations and model state see them), restored afterwards."""
    return scoped(models, "postgresql", None)


@contextmanager
def scoped(models, backend: str, namespace: str | None):
    """``models`` named for ``namespace`` on ``backend`` for the block
    (``scope_model``), their names and schema restored afterwards."""
    models = list(models)
    saved = [(m, m._meta.table_name, m._meta.schema) for m in models]
    try:
        for m in models:
            scope_model(m, backend, namespace)
        yield models
    finally:
        for m, name, schema in saved:
            _rename(m, name, schema)
