"""pandas DataFrames from queries, and rows from DataFrames (the ``pandas`` extra).

    df = store.to_frame(Forecast.select().where(...))      # or a model, or rows
    df = store.to_frame(query, decimals="float")           # decimals as float64
    store.from_frame(Forecast, df)                         # insert, validated

pandas is imported when a function here is called; without it they raise
``MissingExtra`` (an ``ImportError``) saying ``pip install 'store[pandas]'``.

``to_frame`` keeps the values the model reads, the same on both backends,
column by column from the field behind it (or, for an expression, from the
values):

* JSON columns: ``object`` dtype holding the Python values (dicts, lists,
  strings, numbers; SQL NULL is ``None``), never strings of JSON.
* Decimals: ``object`` dtype of exact ``Decimal`` (``None`` for NULL);
  ``decimals="float"`` gives ``float64`` (NULL is NaN) when asked.
* Aware timestamps (``DateTimeTZField``): ``datetime64[..., UTC]`` (NaT for
  NULL), microseconds kept.
* UUIDs: ``object`` dtype of ``uuid.UUID``; enums: their values (strings,
  so ``df.status == "pending"`` works); ``enums="member"`` keeps the members.
* Integers: ``int64``, or the nullable ``Int64`` when the column has a
  NULL (a float column would lose exactness); booleans: ``bool`` or the
  nullable ``boolean``; floats: ``float64`` (NULL is NaN); dates:
  ``datetime.date`` objects; text: pandas' default for strings.

``from_frame(model, df)`` inserts every row through the model (store's
write validation: a bad value raises ``store.ValidationError`` naming
``table.column`` before the database is touched), in batches, in one
transaction: all rows or none. Columns are matched to fields by name or
column name (``cluster`` or ``cluster_id``); an unknown column is an error.
Missing values (``None``, NaN, NaT, ``pd.NA``) become NULL; numpy scalars
become Python numbers; ``pd.Timestamp`` a ``datetime`` (a naive one is
refused by ``DateTimeTZField``), or a ``date`` for a ``DateField``. A named
index whose name is a field (``df.set_index("forecast_id")``) is inserted
too; an unnamed index is ignored.
"""
from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
import uuid

import peewee

from .rows import Rows, _is_json_field, collect
from .errors import MissingExtra, ValidationError

__all__ = ["to_frame", "from_frame", "frame_of", "MissingExtra"]

DECIMALS = ("decimal", "float")
ENUMS = ("value", "member")


def _pandas(what: str):
    try:
        import pandas
    except ImportError:
        raise MissingExtra(what, "pandas") from None
    return pandas


# --- to_frame --------------------------------------------------------------------

def _kind(field, values) -> str:
    """How a column converts: by its field, else by its values."""
    from .fields import (DateTimeTZField, DecimalField, EnumField, UUIDField)
    if isinstance(field, peewee.ForeignKeyField):
        field = field.rel_field
    if field is not None:
        if _is_json_field(field):
            return "json"
        if isinstance(field, DecimalField) or isinstance(field, peewee.DecimalField):
            return "decimal"
        if isinstance(field, DateTimeTZField):
            return "timestamptz"
        if isinstance(field, UUIDField) or isinstance(field, peewee.UUIDField):
            return "object"
        if isinstance(field, EnumField):
            return "enum"
        if isinstance(field, peewee.BooleanField):
            return "bool"
        if isinstance(field, (peewee.IntegerField, peewee.AutoField)):
            return "int"
        if isinstance(field, peewee.FloatField):
            return "float"
        if isinstance(field, (peewee.DateField, peewee.TimeField)) and \
                not isinstance(field, peewee.DateTimeField):
            return "object"
    present = [v for v in values if v is not None]
    if not present:
        return "auto"
    if all(isinstance(v, enum.Enum) for v in present):
        return "enum"
    if all(isinstance(v, decimal.Decimal) for v in present):
        return "decimal"
    if all(isinstance(v, dt.datetime) and v.tzinfo is not None for v in present):
        return "timestamptz"
    if all(isinstance(v, bool) for v in present):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int"
    if any(isinstance(v, (dict, list, uuid.UUID, dt.date, dt.time)) for v in present):
        return "object"
    return "auto"


def _column(pd, kind, values, decimals, enums):
    has_null = any(v is None for v in values)
    if kind == "json" or kind == "object":
        return pd.Series(values, dtype=object)
    if kind == "decimal":
        if decimals == "float":
            return pd.Series([math.nan if v is None else float(v) for v in values],
                             dtype="float64")
        return pd.Series(values, dtype=object)
    if kind == "timestamptz":
        return pd.Series(pd.to_datetime(values, utc=True))
    if kind == "enum":
        if enums == "member":
            return pd.Series(values, dtype=object)
        return pd.Series([v.value if isinstance(v, enum.Enum) else v for v in values])
    if kind == "int":
        return pd.Series(values, dtype="Int64" if has_null else "int64")
    if kind == "bool":
        return pd.Series(values, dtype="boolean" if has_null else "bool")
    if kind == "float":
        return pd.Series([math.nan if v is None else v for v in values], dtype="float64")
    return pd.Series(values)


def frame_of(rows: Rows, *, decimals: str = "decimal", enums: str = "value", index=None):
    """A DataFrame of collected ``rows`` (see ``to_frame``)."""
    pd = _pandas("store.to_frame")
    if decimals not in DECIMALS:
        raise ValueError(f"decimals must be one of {', '.join(map(repr, DECIMALS))}, "
                         f"got {decimals!r}")
    if enums not in ENUMS:
        raise ValueError(f"enums must be one of {', '.join(map(repr, ENUMS))}, got {enums!r}")
    data = {}
    for i, (name, field) in enumerate(zip(rows.columns, rows.fields)):
        values = [row[i] for row in rows.rows]
        series = _column(pd, _kind(field, values), values, decimals, enums)
        data[name] = series.reset_index(drop=True)
    frame = pd.DataFrame(data, columns=list(rows.columns))
    if index is not None:
        frame = frame.set_index(index)
    return frame


def to_frame(source, *, decimals: str = "decimal", enums: str = "value", index=None):
    """A pandas DataFrame of every row of ``source``: a query (run now), a
    model class (its whole table), or an iterable of model instances, dicts
    or tuples. ``decimals="float"``: decimals as float64; ``enums="member"``:
    enum members instead of values; ``index``: column(s) to use as the index.
    See the module docstring for each column's dtype."""
    _pandas("store.to_frame")
    return frame_of(collect(source), decimals=decimals, enums=enums, index=index)


# --- from_frame ------------------------------------------------------------------

def _missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        import pandas as pd
    except ImportError:                       # pragma: no cover - pandas is there
        return False
    return value is pd.NA or value is pd.NaT


def _python(value, field):
    """A DataFrame cell as the Python value the field takes."""
    if _missing(value):
        return None
    import numpy as np
    import pandas as pd
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    elif isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    if isinstance(value, dt.datetime) and isinstance(field, peewee.DateField) \
            and not isinstance(field, peewee.DateTimeField):
        value = value.date()
    return value


def _fields_by_name(model):
    by_name = {}
    for field in model._meta.sorted_fields:
        by_name[field.name] = field
        by_name.setdefault(field.column_name, field)
    return by_name


def from_frame(model, frame, *, batch_size: int = 500) -> int:
    """Insert every row of the DataFrame ``frame`` into ``model``'s table,
    validated by the model, in batches of ``batch_size``, in one transaction
    of the database the model is bound to. Returns the number of rows."""
    pd = _pandas("store.from_frame")
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"from_frame needs a pandas DataFrame, got {type(frame).__name__}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    fields = _fields_by_name(model)
    table = model._meta.table_name
    index_names = [n for n in frame.index.names if n is not None]
    if index_names:
        if not all(n in fields for n in index_names):
            unknown = [n for n in index_names if n not in fields]
            raise ValidationError(f"{table}.{unknown[0]}",
                                  f"the DataFrame's index {unknown[0]!r} is no field of "
                                  f"{model.__name__}: reset_index(drop=True) to leave it out")
        frame = frame.reset_index()
    columns = [str(c) for c in frame.columns]
    unknown = [c for c in columns if c not in fields]
    if unknown:
        raise ValidationError(f"{table}.{unknown[0]}",
                              f"DataFrame column {unknown[0]!r} is no field of "
                              f"{model.__name__} (fields: "
                              f"{', '.join(f.name for f in model._meta.sorted_fields)})")
    targets = [fields[c] for c in columns]
    seen = {}
    for column, field in zip(columns, targets):
        if field.name in seen:
            raise ValidationError(f"{table}.{field.column_name}",
                                  f"DataFrame columns {seen[field.name]!r} and {column!r} "
                                  f"are the same field")
        seen[field.name] = column
    rows = [{field.name: _python(value, field) for field, value in zip(targets, record)}
            for record in frame.itertuples(index=False, name=None)]
    with model._meta.database.atomic():
        for start in range(0, len(rows), batch_size):
            model.insert_many(rows[start:start + batch_size]).execute()
    return len(rows)
