"""Portable fields: one declaration, the same values back on SQLite and PostgreSQL.

Each field says how it is stored on each backend and what it does with bad
input. Two kinds of refusal:

* ``validate(value)`` runs on every write made through ``store.Model``
  (``save``, ``create``, ``insert``, ``insert_many``, ``update``) and raises
  ``ValidationError`` naming ``table.column`` before the database is touched.
  It is not applied to values in WHERE clauses: ``IntegerField() < 10**12`` is
  a fine query.
* Rules the database enforces itself are named CHECK constraints, declared by
  ``store_checks()`` and created with the table by ``store.Model``, so raw SQL
  is refused too.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import enum
import json
import uuid

import peewee
from peewee import FieldDatabaseHook, Node

from .errors import ConfigError, ValidationError

UTC = _dt.timezone.utc


class CheckSpec:
    """A CHECK a field or model asks for: a name suffix and SQL per backend.

    ``sql`` is a string for both backends or a dict ``{"sqlite": ...,
    "postgresql": ...}``; a backend missing from the dict gets no constraint
    (for example ``json_valid`` on SQLite, where PostgreSQL's JSONB type
    already refuses non-JSON).
    """

    def __init__(self, name: str, sql):
        self.name = name
        self.sql = sql

    def for_backend(self, backend: str):
        if isinstance(self.sql, dict):
            return self.sql.get(backend)
        return self.sql

    def __repr__(self):
        return f"CheckSpec({self.name!r}, {self.sql!r})"


def _quote(name: str) -> str:
    return '"%s"' % name.replace('"', '""')


def _literal(value: str) -> str:
    return "'%s'" % value.replace("'", "''")


class StoreField:
    """Mixin: qualified name for errors, write-time validation, CHECKs."""

    def qualified_name(self) -> str:
        model = getattr(self, "model", None)
        if model is not None:
            return f"{model._meta.table_name}.{self.column_name}"
        return getattr(self, "name", None) or type(self).__name__

    def invalid(self, reason, value=None) -> ValidationError:
        return ValidationError(self.qualified_name(), reason, value)

    def validate(self, value):
        """Raise ValidationError if ``value`` cannot be written."""

    def store_checks(self):
        return []


class _TextMixin(StoreField):
    def validate(self, value):
        if value is None or isinstance(value, Node):
            return
        text = self.adapt(value)
        if "\x00" in text:
            raise self.invalid("text contains a NUL character (PostgreSQL cannot store it)")
        max_length = getattr(self, "max_length", None)
        if max_length and len(text) > max_length:
            raise self.invalid(f"{len(text)} characters exceed max_length={max_length}")


class CharField(_TextMixin, peewee.CharField):
    """VARCHAR(n) on both; the length is enforced on SQLite by a CHECK
    ``ck_<table>_<column>_max_length`` (PostgreSQL enforces the type itself;
    the same CHECK is declared there too so both schemas carry the same names).
    """

    def store_checks(self):
        if not self.max_length:
            return []
        col = _quote(self.column_name)
        return [CheckSpec(f"{self.column_name}_max_length",
                          f"length({col}) <= {int(self.max_length)}")]


class TextField(_TextMixin, peewee.TextField):
    """TEXT on both. NUL characters are refused on write (PostgreSQL cannot store them)."""


_INT_RANGES = {
    "SMALLINT": (-2 ** 15, 2 ** 15 - 1),
    "INT": (-2 ** 31, 2 ** 31 - 1),
    "BIGINT": (-2 ** 63, 2 ** 63 - 1),
}


class _IntegerMixin(StoreField):
    def validate(self, value):
        if value is None or isinstance(value, Node):
            return
        if isinstance(value, float) and not value.is_integer():
            raise self.invalid(f"{value!r} is not an integer")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise self.invalid(f"{value!r} is not an integer") from None
        low, high = _INT_RANGES[self.field_type]
        if not low <= number <= high:
            raise self.invalid(f"{number} is outside the {self.field_type} range "
                               f"[{low}, {high}]")


class IntegerField(_IntegerMixin, peewee.IntegerField):
    """32-bit on both: values outside [-2**31, 2**31-1] are refused on write
    (PostgreSQL's ``integer``; SQLite would silently store 64 bits)."""


class BigIntegerField(_IntegerMixin, peewee.BigIntegerField):
    """64-bit on both."""


class SmallIntegerField(_IntegerMixin, peewee.SmallIntegerField):
    """16-bit on both."""


class BooleanField(StoreField, peewee.BooleanField):
    """BOOLEAN on PostgreSQL, 0/1 INTEGER on SQLite; reads back ``bool`` on both."""


class FloatField(StoreField, peewee.FloatField):
    """REAL on SQLite, ``real`` on PostgreSQL."""


class DoubleField(StoreField, peewee.DoubleField):
    """REAL (8 bytes) on SQLite, ``double precision`` on PostgreSQL."""


class _BackendHook(FieldDatabaseHook):
    """Remembers the backend of the database the model is bound to."""

    backend = None

    def _db_hook(self, database):
        features = getattr(database, "features", None)
        self.backend = features.name if features else None


# --- JSON ----------------------------------------------------------------------

class JSONField(StoreField, peewee.JSONField):
    """JSON documents: JSONB on PostgreSQL; TEXT with ``CHECK (json_valid(col))``
    named ``ck_<table>_<column>_json`` on SQLite.

    Writes are serialised once with ``allow_nan=False``; NaN/Infinity and NUL
    characters (``\\u0000``, which JSONB refuses) raise ValidationError on
    both backends. Path queries (``f['a'][0] == x``), ``contains``,
    ``has_key`` come from peewee's JSONField and give the same rows on both.

    Known, documented difference: JSONB normalises numbers, so a float with an
    integral value written in exponent form (``1e20``; Python writes floats of
    1e16 and more that way) reads back from PostgreSQL as the equal ``int``.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("dumps", self._strict_dumps)
        super().__init__(*args, **kwargs)

    def _strict_dumps(self, value):
        try:
            text = json.dumps(value, allow_nan=False)
        except ValueError:
            raise self.invalid("NaN and Infinity are not JSON") from None
        except TypeError as exc:
            raise self.invalid(f"not JSON-serialisable: {exc}") from None
        if "\\u0000" in text:
            raise self.invalid("JSON text contains a NUL character (\\u0000)")
        return text

    def _db_hook(self, database):
        super()._db_hook(database)
        features = getattr(database, "features", None)
        self._jsonb = database._adapter.jsonb_type if (
            features is not None and features.native_json) else None

    def db_value(self, value):
        if value is None or isinstance(value, Node):
            return value
        if self._wrap is None:
            return value
        text = self._dumps(value)              # validates, once
        if self._jsonb is not None:
            return self._jsonb(value, dumps=lambda _obj, _text=text: _text)
        return peewee.fn.json(text)

    def validate(self, value):
        if value is None or isinstance(value, Node):
            return
        self._dumps(value)

    def store_checks(self):
        return [CheckSpec(f"{self.column_name}_json",
                          {"sqlite": f"{_quote(self.column_name)} IS NULL OR json_valid({_quote(self.column_name)})"})]


# --- Enum -------------------------------------------------------------------------

class EnumField(StoreField, peewee.CharField):
    """A Python ``enum.Enum`` stored as the member's text value (VARCHAR) with
    ``CHECK (col IN (...))`` named ``ck_<table>_<column>_enum`` on both
    backends; never a PostgreSQL enum type, so dropping the table leaves
    nothing behind. Accepts a member or its value; anything else raises
    ValidationError before the database is touched. Reads back the member.
    """

    def __init__(self, enum_class, *args, **kwargs):
        if not (isinstance(enum_class, type) and issubclass(enum_class, enum.Enum)):
            raise ConfigError(f"EnumField needs an enum.Enum class, got {enum_class!r}")
        values = [m.value for m in enum_class]
        bad = [v for v in values if not isinstance(v, str)]
        if bad:
            raise ConfigError(f"EnumField {enum_class.__name__}: member values must be "
                              f"strings, got {bad!r}")
        self.enum_class = enum_class
        self._by_value = {m.value: m for m in enum_class}
        kwargs.setdefault("max_length", max(32, max(len(v) for v in values)))
        super().__init__(*args, **kwargs)

    def _member(self, value):
        if isinstance(value, self.enum_class):
            return value
        member = self._by_value.get(value)
        if member is None:
            allowed = ", ".join(repr(v) for v in self._by_value)
            raise self.invalid(f"{value!r} is not one of {allowed}", value)
        return member

    def validate(self, value):
        if value is not None and not isinstance(value, Node):
            self._member(value)

    def db_value(self, value):
        if value is None or isinstance(value, Node):
            return value
        return self._member(value).value

    def python_value(self, value):
        if value is None:
            return None
        return self._by_value.get(value, value)

    def store_checks(self):
        values = ", ".join(_literal(v) for v in self._by_value)
        return [CheckSpec(f"{self.column_name}_enum",
                          f"{_quote(self.column_name)} IN ({values})")]


# --- Exact decimal -----------------------------------------------------------------

MAX_SQLITE_DIGITS = 18


class DecimalField(_BackendHook, StoreField, peewee.Field):
    """Exact decimals for money.

    PostgreSQL: ``NUMERIC(max_digits, decimal_places)``. SQLite (which has no
    exact decimal type): the value scaled by ``10**decimal_places`` in an
    INTEGER column, so it compares, sorts and sums exactly in SQL. Values are
    rounded half away from zero to ``decimal_places`` (PostgreSQL's NUMERIC
    rule) and read back as ``Decimal`` quantized to that scale on both, e.g.
    ``Decimal('0.1')`` in ``DecimalField(10, 2)`` reads ``Decimal('0.10')``.

    Precision limit: ``max_digits <= 18`` (a signed 64-bit integer on SQLite).
    A value with more integer digits than ``max_digits - decimal_places``, NaN
    or Infinity raises ValidationError. Use ``field.sum()`` / ``field.avg()``
    for aggregates: they return Decimal on both (a bare ``fn.SUM(field)``
    returns the backend's raw type, the scaled integer on SQLite).
    """

    field_type = "EXACT_DECIMAL"

    def __init__(self, max_digits=10, decimal_places=2, *args, **kwargs):
        if not (isinstance(max_digits, int) and 0 < max_digits <= MAX_SQLITE_DIGITS):
            raise ConfigError(f"DecimalField max_digits must be 1..{MAX_SQLITE_DIGITS}, "
                              f"got {max_digits!r}")
        if not (isinstance(decimal_places, int) and 0 <= decimal_places <= max_digits):
            raise ConfigError("DecimalField decimal_places must be 0..max_digits, "
                              f"got {decimal_places!r}")
        self.max_digits = max_digits
        self.decimal_places = decimal_places
        self._exp = decimal.Decimal(1).scaleb(-decimal_places)
        self._limit = decimal.Decimal(10) ** (max_digits - decimal_places)
        super().__init__(*args, **kwargs)

    def get_modifiers(self):
        return [self.max_digits, self.decimal_places]

    def _quantize(self, value) -> decimal.Decimal:
        if isinstance(value, float):
            value = repr(value)
        try:
            number = decimal.Decimal(value)
        except (decimal.InvalidOperation, TypeError, ValueError):
            raise self.invalid(f"{value!r} is not a decimal number") from None
        if not number.is_finite():
            raise self.invalid(f"{value!r} is not a finite number")
        return number.quantize(self._exp, rounding=decimal.ROUND_HALF_UP)

    def validate(self, value):
        if value is None or isinstance(value, Node):
            return
        number = self._quantize(value)
        if abs(number) >= self._limit:
            raise self.invalid(f"{number} does not fit DECIMAL({self.max_digits},"
                               f"{self.decimal_places})")

    def db_value(self, value):
        if value is None or isinstance(value, Node):
            return value
        number = self._quantize(value)
        if self.backend == "sqlite":
            return int(number.scaleb(self.decimal_places))
        return number

    def python_value(self, value):
        if value is None:
            return None
        if isinstance(value, int) and self.backend == "sqlite":
            return decimal.Decimal(value).scaleb(-self.decimal_places).quantize(self._exp)
        return decimal.Decimal(value if not isinstance(value, float) else repr(value)) \
            .quantize(self._exp)

    def sum(self):
        """SUM of the column as an exact Decimal on both backends (0 when empty)."""
        return peewee.fn.COALESCE(peewee.fn.SUM(self), 0).python_value(self.python_value)

    def avg(self):
        """AVG of the column as a Decimal quantized to the field's scale."""
        return peewee.fn.AVG(self).python_value(self._avg_value)

    def _avg_value(self, value):
        if value is None:
            return None
        if self.backend == "sqlite":
            number = decimal.Decimal(repr(value)).scaleb(-self.decimal_places)
        else:
            number = decimal.Decimal(value)
        return number.quantize(self._exp, rounding=decimal.ROUND_HALF_UP)


# --- UUID ------------------------------------------------------------------------

class UUIDField(_BackendHook, StoreField, peewee.Field):
    """UUIDs: native ``uuid`` on PostgreSQL, canonical 36-character lowercase
    text on SQLite (with a CHECK on the length). Reads back ``uuid.UUID``.
    As a primary key (``UUIDField(primary_key=True)``) the default is
    ``uuid.uuid4``, generated in Python, not by the database.
    """

    field_type = "UUID"

    def __init__(self, *args, **kwargs):
        if kwargs.get("primary_key") and "default" not in kwargs:
            kwargs["default"] = uuid.uuid4
        super().__init__(*args, **kwargs)

    def _uuid(self, value):
        if isinstance(value, uuid.UUID):
            return value
        try:
            if isinstance(value, bytes) and len(value) == 16:
                return uuid.UUID(bytes=value)
            return uuid.UUID(str(value))
        except (ValueError, TypeError, AttributeError):
            raise self.invalid(f"{value!r} is not a UUID") from None

    def validate(self, value):
        if value is not None and not isinstance(value, Node):
            self._uuid(value)

    def db_value(self, value):
        if value is None or isinstance(value, Node):
            return value
        value = self._uuid(value)
        return value if self.backend == "postgresql" else str(value)

    def python_value(self, value):
        if value is None or isinstance(value, uuid.UUID):
            return value
        return uuid.UUID(value)

    def store_checks(self):
        return [CheckSpec(f"{self.column_name}_uuid",
                          {"sqlite": f"length({_quote(self.column_name)}) = 36"})]


# --- Timezone-aware timestamps -----------------------------------------------------

def utcnow() -> _dt.datetime:
    return _dt.datetime.now(UTC)


class DateTimeTZField(_BackendHook, StoreField, peewee.Field):
    """Timezone-aware timestamps, stored in UTC, read back aware (UTC) on both.

    PostgreSQL: ``timestamptz``. SQLite: fixed-width ISO-8601 text
    ``YYYY-MM-DD HH:MM:SS.ffffff+00:00`` so text order is time order.
    A naive datetime raises ValidationError on both: store does not guess a
    timezone. Microsecond precision on both.
    """

    field_type = "TIMESTAMPTZ"

    def __init__(self, *args, auto_now=False, **kwargs):
        self.auto_now = auto_now
        if auto_now:
            kwargs.setdefault("default", utcnow)
        super().__init__(*args, **kwargs)

    def _aware(self, value):
        if isinstance(value, str):
            try:
                value = _dt.datetime.fromisoformat(value)
            except ValueError:
                raise self.invalid(f"{value!r} is not an ISO-8601 timestamp") from None
        if not isinstance(value, _dt.datetime):
            raise self.invalid(f"{value!r} is not a datetime")
        if value.tzinfo is None or value.utcoffset() is None:
            raise self.invalid("naive datetime: attach a timezone "
                               "(e.g. datetime.now(timezone.utc))")
        return value.astimezone(UTC)

    def validate(self, value):
        if value is not None and not isinstance(value, Node):
            self._aware(value)

    def db_value(self, value):
        if value is None or isinstance(value, Node):
            return value
        value = self._aware(value)
        if self.backend == "postgresql":
            return value
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") + "+00:00"

    def python_value(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            value = _dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Re-exported unchanged: their behaviour is already the same on both backends.
ForeignKeyField = peewee.ForeignKeyField
AutoField = peewee.AutoField
BigAutoField = peewee.BigAutoField
DateField = peewee.DateField
CompositeKey = peewee.CompositeKey
