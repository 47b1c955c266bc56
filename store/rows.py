"""Rows from what a user hands to ``store.table`` or ``store.to_frame``: a
query, a model class, a model instance, or an iterable of instances, dicts,
named tuples, tuples or scalars, collected into ``Rows`` (columns, the fields
behind them, the values as the model reads them). ``display`` shows them,
``frames`` turns them into a DataFrame; neither imports the other for it."""
from __future__ import annotations

import dataclasses

import peewee


@dataclasses.dataclass
class Rows:
    """Rows taken from a source: ``columns``, the ``fields`` behind them
    (a peewee Field or None, same order), ``rows`` (tuples), ``more`` (rows
    were left out) and ``total`` (the number of rows, None when unknown)."""
    columns: list
    fields: list
    rows: list
    more: bool = False
    total: int | None = None
    title: str | None = None


def _is_query(source) -> bool:
    return isinstance(source, (peewee.SelectBase, peewee.RawQuery))


def _is_model_class(source) -> bool:
    return isinstance(source, type) and issubclass(source, peewee.Model)


def _limited(query, limit):
    """``query`` with at most ``limit`` rows (keeping a smaller own LIMIT)."""
    if limit is None or not isinstance(query, peewee.SelectBase):
        return query
    own = getattr(query, "_limit", None)
    return query.limit(limit if own is None else min(own, limit))


def _query_rows(query, limit) -> Rows:
    title = None
    model = getattr(query, "model", None)
    if model is not None:
        title = model._meta.table_name
    q = _limited(query.clone(), limit).dicts()
    cursor = q.execute()
    # initialise before reading, so that an empty result still has columns
    if not cursor.initialized and getattr(cursor.cursor, "description", None):
        cursor.initialize()
        cursor.initialized = True
    rows = []
    try:
        for row in cursor.iterator():
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                break
    finally:
        if not cursor.populated:          # stopped early (a raw query has no LIMIT)
            cursor.cursor.close()
    columns = list(getattr(cursor, "columns", None) or (rows[0].keys() if rows else []))
    fields = list(getattr(cursor, "fields", None) or [None] * len(columns))
    if len(fields) != len(columns):
        fields = [None] * len(columns)
    fields = [f if isinstance(f, peewee.Field) else None for f in fields]
    return Rows(columns, fields, [tuple(r.get(c) for c in columns) for r in rows],
                title=title)


def _instance_row(instance, names):
    data = instance.__data__
    return tuple(data.get(name) for name in names)


def _list_rows(items, columns) -> Rows:
    items = list(items)
    first = items[0] if items else None
    fields = None
    title = None
    if isinstance(first, peewee.Model):
        model = type(first)
        title = model._meta.table_name
        meta_fields = model._meta.sorted_fields
        names = [f.name for f in meta_fields]
        fields = list(meta_fields)
        rows = [_instance_row(i, names) if isinstance(i, model)
                else tuple(getattr(i, n, None) for n in names) for i in items]
    elif isinstance(first, dict):
        names = []
        for item in items:
            for key in item:
                if key not in names:
                    names.append(key)
        rows = [tuple(item.get(n) for n in names) for item in items]
    elif isinstance(first, tuple) and hasattr(first, "_fields"):
        names = list(first._fields)
        rows = [tuple(item) for item in items]
    elif isinstance(first, (tuple, list)):
        width = max(len(item) for item in items)
        names = [str(i + 1) for i in range(width)]
        rows = [tuple(item) + (None,) * (width - len(item)) for item in items]
    else:
        names = ["value"]
        rows = [(item,) for item in items]
    if columns is not None:
        columns = list(columns)
        if len(columns) != len(names):
            raise ValueError(f"columns= names {len(columns)} columns, the rows have "
                             f"{len(names)}: {names}")
        names = columns
    if fields is None:
        fields = [None] * len(names)
    return Rows(names, fields, rows, total=len(rows), title=title)


def collect(source, *, limit: int | None = None, columns=None) -> Rows:
    """The rows of ``source``: a peewee query, a model class (its table), a
    model instance, or an iterable of model instances, dicts, named tuples,
    tuples or scalars. A query is run with ``LIMIT limit + 1`` when ``limit``
    is given, to know whether rows were left out."""
    if _is_model_class(source):
        source = source.select()
    if _is_query(source):
        fetched = _query_rows(source, None if limit is None else limit + 1)
        if columns is not None:
            columns = list(columns)
            if len(columns) != len(fetched.columns):
                raise ValueError(f"columns= names {len(columns)} columns, the query has "
                                 f"{len(fetched.columns)}: {fetched.columns}")
            fetched.columns = columns
        if limit is not None and len(fetched.rows) > limit:
            fetched.rows = fetched.rows[:limit]
            fetched.more = True
        else:
            fetched.total = len(fetched.rows)
        return fetched
    if isinstance(source, peewee.Model):
        source = [source]
    if isinstance(source, (str, bytes, dict)) or not hasattr(source, "__iter__"):
        raise TypeError(f"store.table: expected a query, a model or an iterable of rows, "
                        f"got {type(source).__name__}")
    rows = _list_rows(source, columns)
    if limit is not None and len(rows.rows) > limit:
        rows.rows = rows.rows[:limit]
        rows.more = True
    return rows


def _is_json_field(field) -> bool:
    return isinstance(field, peewee.JSONField) or (
        isinstance(field, peewee.Field) and field.field_type in ("JSON", "JSONB"))
