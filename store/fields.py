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
import math
import re
import threading
import uuid

import peewee
from peewee import SQL, FieldDatabaseHook, Node, NodeList

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


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (the same on both backends)."""
    return '"%s"' % name.replace('"', '""')


_quote = quote_ident


def _literal(value: str) -> str:
    return "'%s'" % value.replace("'", "''")


class _Now:
    """The ``server_default`` meaning "the database's current time"."""

    def __repr__(self):
        return "store.NOW"

    def __reduce__(self):
        return "NOW"


NOW = _Now()
_BACKEND_LOCK = threading.Lock()


def sql_literal(value) -> str:
    """A Python value as an SQL literal valid on both backends."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, decimal.Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (_dt.datetime, _dt.date, uuid.UUID)):
        value = value.isoformat(sep=" ") if isinstance(value, _dt.datetime) else str(value)
    if isinstance(value, str):
        return _literal(value)
    raise ConfigError(f"cannot write {value!r} as an SQL literal")


class StoreField:
    """Mixin: qualified name for errors, write-time validation, CHECKs, and
    ``server_default``: the column's DEFAULT in the database, for rows
    written by raw SQL or other programs (the ORM sends ``default``).

    ``server_default`` is a Python value (rendered per backend the way the
    field stores it: JSON as ``'[]'::jsonb`` / ``'[]'``, a decimal scaled on
    SQLite), ``store.NOW`` for the current time (aware timestamp fields), or
    ``peewee.SQL("...")`` for an expression used as given on both.
    """

    def __init__(self, *args, server_default=None, **kwargs):
        self.server_default = server_default
        super().__init__(*args, **kwargs)

    def server_default_sql(self, backend: str):
        """The DEFAULT expression on ``backend``, or None."""
        value = self.server_default
        if value is None:
            return None
        if isinstance(value, SQL):
            return value.sql
        if value is NOW:
            return self.now_sql(backend)
        self.validate(value)
        return self.literal_on(backend, value)

    def now_sql(self, backend: str):
        raise ConfigError(f"{self.qualified_name()}: server_default=store.NOW needs an "
                          f"aware timestamp field (DateTimeTZField)")

    def literal_on(self, backend: str, value) -> str:
        """``value`` as an SQL literal of this column on ``backend``."""
        if not hasattr(self, "backend"):
            return sql_literal(self.db_value(value))
        with _BACKEND_LOCK:
            saved, self.backend = self.backend, backend
            try:
                return sql_literal(self.db_value(value))
            finally:
                self.backend = saved

    def ddl(self, ctx):
        node = super().ddl(ctx)
        backend = ctx.state.store_backend
        default = self.server_default_sql(backend) if backend else None
        if default is not None:
            node = NodeList((node, SQL(f"DEFAULT {default}")))
        return node

    def qualified_name(self) -> str:
        model = getattr(self, "model", None)
        if model is not None:      # the declared name, without a SQLite namespace prefix
            from .names import base_table
            return f"{base_table(model)}.{self.column_name}"
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
        try:
            text = self.adapt(value)
        except UnicodeDecodeError:             # bytes that are not UTF-8
            raise self.invalid(f"{value!r} is not UTF-8 text") from None
        if "\x00" in text:
            raise self.invalid("text contains a NUL character (PostgreSQL cannot store it)")
        if not text.isascii() and _SURROGATE.search(text):
            raise self.invalid("text contains a lone surrogate (not UTF-8: neither "
                               "backend can store it)")
        max_length = getattr(self, "max_length", None)
        if max_length and len(text) > max_length:
            raise self.invalid(f"{len(text)} characters exceed max_length={max_length}")


# a UTF-16 surrogate code point: a Python str may hold one, UTF-8 cannot
_SURROGATE = re.compile("[\ud800-\udfff]")


class CharField(_TextMixin, peewee.CharField):
    """VARCHAR(n) on both; the length is enforced on SQLite by a CHECK
    ``ck_<table>_<column>_max_length`` (PostgreSQL enforces the type itself;
    the same CHECK is declared there too so both schemas carry the same names).
    On write, more than ``max_length`` characters or a NUL character raises
    ValidationError on both before the database is touched.
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
    "AUTO": (-2 ** 31, 2 ** 31 - 1),
    "BIGAUTO": (-2 ** 63, 2 ** 63 - 1),
}


class _IntegerMixin(StoreField):
    def validate(self, value):
        if value is None or isinstance(value, Node):
            return
        if isinstance(value, float) and not value.is_integer():
            raise self.invalid(f"{value!r} is not an integer")
        if isinstance(value, decimal.Decimal) and not (
                value.is_finite() and value == value.to_integral_value()):
            raise self.invalid(f"{value!r} is not an integer")   # int() would truncate
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise self.invalid(f"{value!r} is not an integer") from None
        low, high = _INT_RANGES[self.field_type]
        if not low <= number <= high:
            raise self.invalid(f"{number} is outside the {self.field_type} range "
                               f"[{low}, {high}]")


class IntegerField(_IntegerMixin, peewee.IntegerField):
    """32-bit on both: ``integer`` on PostgreSQL, INTEGER on SQLite. Values
    outside [-2**31, 2**31-1] raise ValidationError on write (SQLite would
    silently store 64 bits), as do non-integers (``1.5``, ``Decimal('1.5')``,
    NaN, ``'12x'``); integral floats/Decimals and numeric strings are accepted.
    WHERE operands are not range-checked (``f < 10**12`` is a fine query)."""


class BigIntegerField(_IntegerMixin, peewee.BigIntegerField):
    """64-bit on both (``bigint`` / INTEGER); outside [-2**63, 2**63-1] or not
    an integer raises ValidationError on write."""


class SmallIntegerField(_IntegerMixin, peewee.SmallIntegerField):
    """16-bit on both (``smallint`` / INTEGER); outside [-2**15, 2**15-1] or
    not an integer raises ValidationError on write."""


class BooleanField(StoreField, peewee.BooleanField):
    """BOOLEAN on PostgreSQL, 0/1 INTEGER on SQLite; reads back ``bool`` on both."""


class FloatField(StoreField, peewee.FloatField):
    """A Python float, 8 bytes on both: REAL on SQLite, ``double precision``
    on PostgreSQL (peewee's FloatField is 4-byte ``real`` there, which reads
    1000.123456789 back as 1000.1235 while SQLite keeps it).

    On write, anything ``float()`` takes is accepted (ints, bools, Decimals,
    numeric strings, infinities); NaN (SQLite would store NULL), a number too
    large for a float, or a non-number (``'abc'``, a date, a UUID) raises
    ValidationError on both. -0.0 is written as 0.0 on both (SQLite stores a
    zero without its sign), so it reads back 0.0 everywhere. Infinities are
    stored and read back on both (also as ``server_default``)."""

    field_type = "DOUBLE"

    def validate(self, value):
        if value is None or isinstance(value, Node):
            return
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise self.invalid(f"{value!r} is not a number") from None
        if number != number:
            raise self.invalid("NaN cannot be stored (SQLite would store NULL)")

    def db_value(self, value):
        if value is None:
            return None
        value = self.adapt(value)
        if value == 0 and value.__class__ is float:
            return 0.0                         # -0.0: SQLite keeps no sign on zero
        return value

    def literal_on(self, backend: str, value) -> str:
        self.validate(value)
        number = self.db_value(value)
        if number in (_INF, -_INF):            # repr() writes inf, no SQL literal
            sign = "-" if number < 0 else ""
            if backend == "postgresql":
                return f"'{sign}Infinity'::double precision"
            return f"{sign}9e999"              # SQLite reads an overflowing literal as inf
        return sql_literal(number)


_INF = float("inf")


class DoubleField(StoreField, peewee.DoubleField):
    """REAL (8 bytes) on SQLite, ``double precision`` on PostgreSQL; validated
    and converted on write as ``FloatField`` (-0.0 is written as 0.0)."""

    validate = FloatField.validate
    db_value = FloatField.db_value
    literal_on = FloatField.literal_on


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
    both backends. The document is written as JSONB gives it back, so both
    backends return the same one: object keys in JSONB's order (shorter
    first, then by UTF-8 bytes), non-ASCII characters as themselves (not
    ``\\u`` escapes), -0.0 as 0.0, non-string keys as JSON writes them
    (``1`` -> ``"1"``). Refused with ValidationError on both: a lone
    surrogate, two keys JSON writes alike (``1`` and ``"1"``), nesting deeper
    than ``MAX_JSON_DEPTH`` (500) levels.

    Path queries (``f['a'][0] == x``), ``contains``,
    ``has_key`` come from peewee's JSONField and give the same rows on both.
    Comparing a path with a number (``f['weeks'][2] > 10``, ``<``, ``<=``,
    ``>=``, ``between``, ``==``, ``!=``) compares numerically on both and
    ``<``/``<=``/``>``/``>=``/``between``/``==`` match only rows whose path
    holds a JSON number (SQLite would otherwise compare JSON text, ``'9' >
    '10'``). ``f['k'].as_text()`` is the value as text on both (strings
    unquoted, numbers and booleans as JSON text: ``'1'``, ``'true'``; JSON
    null is SQL NULL); the text of floats in exponent form and of objects may
    differ in spacing/notation. ``f.is_null()`` is SQL NULL; ``None`` writes
    SQL NULL.

    Known, documented difference: JSONB normalises numbers, so a float of
    magnitude 1e16 or more (Python writes those in exponent form, ``1e+16``;
    all of them are integral) reads back from PostgreSQL as an ``int``: the
    integer its shortest text names, ``int(Decimal(repr(f)))``. ``float()`` of
    it is the original float on both; it is ``==`` the float when the float is
    exactly that integer (``1e16``, ``-3e20``; not ``1.5e300``, whose binary
    value differs from 15 followed by 299 zeros). SQLite returns the float.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("dumps", self._strict_dumps)
        super().__init__(*args, **kwargs)

    def _strict_dumps(self, value, encode=None):
        """The JSON text store writes for ``value`` (``encode``: a
        ``JSONEncoder(ensure_ascii=False, allow_nan=False).encode`` of other
        separators), the same document on both backends: keys in JSONB's
        order, -0.0 as 0.0, non-ASCII as itself; refused with ValidationError
        when the backends could not both store it and give it back."""
        encode = encode or _JSON_ENCODE
        try:
            text = encode(value)
        except RecursionError:
            raise self.invalid(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
        except ValueError as exc:
            if "float" in str(exc):
                raise self.invalid("NaN and Infinity are not JSON") from None
            raise self.invalid(f"not JSON: {exc}") from None
        except TypeError as exc:
            raise self.invalid(f"not JSON-serialisable: {exc}") from None
        if not text.isascii() and _SURROGATE.search(text):
            raise self.invalid("JSON text contains a lone surrogate (not UTF-8: neither "
                               "backend can store it)")
        if "\\u0000" in text and _JSON_NUL.search(text):
            raise self.invalid("JSON text contains a NUL character (\\u0000)")
        if "{" in text or "-0.0" in text or text.count("[") > MAX_JSON_DEPTH:
            # objects (key order, duplicate keys), a negative zero or deep
            # nesting: write the document as JSONB keeps it
            form = self._jsonb_form(value, 0)
            if form is not value:              # else it already is
                text = encode(form)
        return text

    def _jsonb_form(self, value, depth):
        """``value`` as PostgreSQL's JSONB gives it back, so that SQLite
        stores (and returns) the same document: object keys as JSON writes
        them (``1`` -> ``"1"``) in JSONB's order (shorter keys first, then by
        their UTF-8 bytes), -0.0 as 0.0 (JSONB has no negative zero). Two
        keys that JSON writes alike (``1`` and ``"1"``) are refused (JSONB
        would keep one, SQLite both), as is nesting deeper than
        ``MAX_JSON_DEPTH`` (SQLite refuses 2,000 levels, Python's json reader
        about 1,000). Returns ``value`` itself when it is already so."""
        if isinstance(value, dict):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise self.invalid(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            items = {}
            changed = False
            for key, item in value.items():
                if isinstance(key, str):
                    name = key
                else:
                    name = _JSON_KEY_ENCODE({key: 0})[2:-4]
                    changed = True
                if name in items:
                    raise self.invalid(f"duplicate JSON object key {name!r} (from {key!r})")
                form = items[name] = self._jsonb_form(item, depth)
                changed = changed or form is not item
            order = sorted(items, key=_jsonb_key_order)
            if not changed and order == list(items):
                return value
            return {k: items[k] for k in order}
        if isinstance(value, (list, tuple)):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise self.invalid(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            items = []
            changed = False
            for item in value:                 # a loop: one frame per level, not two
                form = self._jsonb_form(item, depth)
                items.append(form)
                changed = changed or form is not item
            return items if changed else value
        if value.__class__ is float and value == 0 and math.copysign(1.0, value) < 0:
            return 0.0
        return value

    _jsonb = None
    _json_types = ()

    def literal_on(self, backend: str, value) -> str:
        text = _literal(self._strict_dumps(value))
        # SQLite: the json() the ORM path wraps values in (minified text)
        return f"{text}::jsonb" if backend == "postgresql" else f"(json({text}))"

    def _db_hook(self, database):
        super()._db_hook(database)
        self._helper = _query_helper(self._helper)      # path queries: see _StoreSqliteJSON
        features = getattr(database, "features", None)
        if features is not None and features.native_json:
            adapter = database._adapter
            self._jsonb = adapter.jsonb_type
            self._json_types = (adapter.json_type, adapter.jsonb_type)
        else:
            self._jsonb = None
            self._json_types = ()

    def __getitem__(self, key):
        return _JSONPath(self, (key,))

    def path(self, *keys):
        return _JSONPath(self, keys)

    def has_key(self, key):
        _check_json_key(self, key, has_key=True)
        return super().has_key(key)

    def db_value(self, value):
        if value is None or isinstance(value, Node):
            return value
        if self._wrap is None:
            return value
        if self._json_types and isinstance(value, self._json_types):
            return value                       # already wrapped (contains, set, ...)
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


#: The deepest nesting of lists and objects a JSONField document may have, on
#: both backends: SQLite's JSON functions refuse 2,000 levels, and Python's
#: json reads back (from either backend) only what its recursion limit allows
#: (1,000 frames by default, some taken by the caller).
MAX_JSON_DEPTH = 500

_JSON_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
# a key as json.dumps writes it (True -> "true", 1.5 -> "1.5"); ValueError,
# TypeError as json.dumps raises them
_JSON_KEY_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False,
                                    separators=(",", ":")).encode


def _jsonb_key_order(key: str):
    """JSONB's order of object keys: shorter (in UTF-8 bytes) first, then
    bytewise (the code point order of the same-length UTF-8 strings)."""
    return (len(key) if key.isascii() else len(key.encode("utf-8")), key)


# the escape of a NUL character: \u0000 after an even number of backslashes
# (a string holding the six characters \u0000 is written \\u0000: no NUL)
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_INT64 = (-2 ** 63, 2 ** 63 - 1)


_RANGE_OPS = (peewee.OP.LT, peewee.OP.LTE, peewee.OP.GT, peewee.OP.GTE)


class _JSONPath(peewee.JSONPath):
    """peewee's JSONPath, with comparisons against a number made numeric on
    both backends (see ``JSONField``), ``<``/``<=``/``>``/``>=``/``between``
    against a string made a code-point comparison of JSON strings on both,
    and ``in_`` of numbers numeric. A key must be a string or an int (an int
    is an array index, a string an object key, on both); a string key with a
    double quote is refused (SQLite's JSON paths cannot name it)."""

    def __init__(self, field, keys=(), as_text=False):
        for key in keys:
            _check_json_key(field, key)
        super().__init__(field, keys, as_text)

    def _numeric(self, op, rhs):
        field, keys = self._field, self._keys
        helper = field._helper
        if helper is None:
            return None
        if field._jsonb is not None:            # PostgreSQL: jsonb compares numbers numerically
            lhs = helper.extract(field, keys)
            is_number = peewee.fn.jsonb_typeof(lhs) == "number"
            value = helper.compare_value(field, rhs)
        else:                                   # SQLite: ->> yields an SQL number
            # the path inline, not a bound parameter: SQLite matches an index
            # on an expression only when the query spells it the same way
            path = SQL(_literal(_sqlite_json_path(keys)))
            lhs = peewee.Expression(field, "->>", path)
            is_number = peewee.fn.json_type(field, path).in_(["integer", "real"])
            value = rhs
            if isinstance(rhs, int) and not _INT64[0] <= rhs <= _INT64[1]:
                if op in (peewee.OP.EQ, peewee.OP.NE):
                    return None                # exact JSON-text equality below
                value = float(rhs)
        if op == peewee.OP.NE:
            return ~(is_number & peewee.Expression(lhs, peewee.OP.EQ, value))
        compare = peewee.Expression(lhs, op, value)
        if field._jsonb is None and op in _RANGE_OPS:
            # SQLite keeps no statistics on expression values and guesses a
            # range keeps 1/4 of the rows, so with an ORDER BY it walks the
            # primary key instead of a JSON-path index (seen: 1.0x instead of
            # 500x over 1M rows). A selective guess lets it use the index; it
            # changes no result.
            compare = peewee.fn.likelihood(compare, SQL("0.001"))
        return is_number & compare

    def _cmp(self, op, rhs):
        if not self._as_text and _is_number(rhs):
            expr = self._numeric(op, rhs)
            if expr is not None:
                return expr
        if not self._as_text and op in _RANGE_OPS and not isinstance(rhs, Node):
            return self._ordered(op, rhs)
        return super()._cmp(op, rhs)

    def _is_string(self):
        field, keys = self._field, self._keys
        if field._jsonb is not None:
            return peewee.fn.jsonb_typeof(field._helper.extract(field, keys)) == "string"
        return peewee.fn.json_type(field, field._helper._path(keys)) == "text"

    def _ordered(self, op, rhs):
        """``path < 'x'``: JSON strings compared by code point on both (JSONB
        would order them by the database's collation, SQLite their JSON text);
        anything else than a string or a number is refused."""
        if not isinstance(rhs, str):
            raise self._field.invalid(
                f"cannot compare a JSON path with {rhs!r} by order (only numbers and "
                f"strings have the same order on both backends)", rhs)
        return self._is_string() & peewee.Expression(self.as_text(), op, rhs)

    def in_(self, rhs):
        if isinstance(rhs, Node) or self._as_text:
            return super().in_(rhs)
        rhs = list(rhs)
        if not any(_is_number(v) for v in rhs):
            return super().in_(rhs)
        # numbers compare numerically (1.0 matches 1 on both), one = each;
        # None matches nothing, as in SQL's IN
        terms = [self == v for v in rhs if v is not None]
        if not terms:
            return peewee.Expression(SQL("0"), peewee.OP.EQ, SQL("1"))
        expr = terms[0]
        for term in terms[1:]:
            expr = expr | term
        return expr

    def has_key(self, key):
        _check_json_key(self._field, key, has_key=True)
        return super().has_key(key)

    def __eq__(self, rhs):
        return self._cmp(peewee.OP.EQ, rhs) if _is_number(rhs) else super().__eq__(rhs)

    def __ne__(self, rhs):
        return self._cmp(peewee.OP.NE, rhs) if _is_number(rhs) else super().__ne__(rhs)

    __hash__ = peewee.JSONPath.__hash__

    def index_key(self):
        """The expression to index so that numeric comparisons of this path
        (``f['weeks'][2] > 10``) use the index on both backends:
        ``Model.index(Model.f['weeks'][2].index_key(), name="ix_...")``.
        SQLite: ``f ->> '$.weeks[2]'`` (the SQL value); PostgreSQL:
        ``f #> '{weeks,2}'`` (the jsonb value)."""
        return _JSONIndexKey(self._field, self._keys)

    def __sql__(self, ctx):
        field, keys = self._field, self._keys
        if self._as_text and keys and field._helper is not None and field._jsonb is None:
            # SQLite's ->> yields SQL numbers (1, 0 for true/false); render
            # PostgreSQL's #>> text instead: strings unquoted, JSON null as
            # SQL NULL, other values as their JSON text.
            helper = field._helper
            return ctx.sql(peewee.Case(
                peewee.fn.json_type(field, helper._path(keys)),
                [("text", helper.extract_text(field, keys)), ("null", None)],
                helper.extract(field, keys)))
        return super().__sql__(ctx)

    def between(self, lo, hi):
        if not self._as_text and _is_number(lo) and _is_number(hi):
            low, high = self._numeric(peewee.OP.GTE, lo), self._numeric(peewee.OP.LTE, hi)
            if low is not None and high is not None:
                return low & high
        if not self._as_text and not isinstance(lo, Node) and not isinstance(hi, Node):
            return self._ordered(peewee.OP.GTE, lo) & self._ordered(peewee.OP.LTE, hi)
        return super().between(lo, hi)


class _JSONIndexKey(peewee.ColumnBase):
    """See ``_JSONPath.index_key``: rendered for the backend of the context."""

    def __init__(self, field, keys):
        self._field, self._keys = field, keys

    def __sql__(self, ctx):
        field, keys = self._field, self._keys
        backend = ctx.state.store_backend
        if backend is None:
            backend = "postgresql" if field._jsonb is not None else "sqlite"
        if backend == "sqlite":
            return ctx.sql(peewee.NodeList(
                (field, SQL("->>"), SQL(_literal(_sqlite_json_path(keys)))), parens=True))
        return ctx.sql(peewee.NodeList((_pg_json_extract(field, keys, False),), parens=True))


def _check_json_key(field, key, has_key=False):
    if isinstance(key, bool) or not isinstance(key, (str, int)) \
            or (has_key and not isinstance(key, str)):
        raise field.invalid(f"JSON {'key' if has_key else 'path element'} {key!r} must be "
                            f"a string{'' if has_key else ' (an object key) or an int (an array index)'}",
                            key)
    if isinstance(key, str) and '"' in key:
        raise field.invalid(f"JSON key {key!r} holds a double quote, which SQLite's JSON "
                            f"paths cannot name", key)


def _sqlite_json_path(keys) -> str:
    """``$."a"[2]``: the JSON path SQLite's -> and ->> take. A key is written
    as store writes it in the document (JSON string escapes, non-ASCII as
    itself): SQLite 3.40 compares a path's key with the document's key text
    as it is, escapes and all."""
    parts = ["$"]
    for key in keys:
        if isinstance(key, int) and not isinstance(key, bool):
            parts.append("[#%d]" % key if key < 0 else "[%d]" % key)
        else:
            parts.append('."%s"' % _JSON_KEY_TEXT(str(key))[1:-1])
    return "".join(parts)


_JSON_KEY_TEXT = json.JSONEncoder(ensure_ascii=False).encode
_INT_TEXT = re.compile(r"-?[0-9]+\Z")


def _pg_json_extract(field, keys, as_text):
    """PostgreSQL's path lookup meaning what SQLite's ``$."k"[0]`` means: an
    int is an array index only, a string an object key only. ``#>``/``#>>``
    with a text[] path (what peewee writes, and what an index may hold) when
    no element could be read both ways; else a chain of ``->`` with typed
    operands (``-> 'k' -> 0``), since ``#>`` reads '0' as an index of an
    array and as a key of an object."""
    if not any(isinstance(k, int) or _INT_TEXT.match(k) for k in keys):
        parts = ",".join('"%s"' % str(k).replace("\\", "\\\\").replace('"', '\\"')
                         for k in keys)
        path = SQL(_literal("{%s}" % parts) + "::text[]")
        return peewee.Expression(field, "#>>" if as_text else "#>", path)
    expr = field
    for i, key in enumerate(keys):
        op = "->>" if as_text and i == len(keys) - 1 else "->"
        if isinstance(key, int):
            # jsonb reads a scalar as a one-element array ('1.5' -> 0 is
            # 1.5); SQLite's $[0] of a scalar is NULL
            expr = peewee.Case(None, [(peewee.fn.jsonb_typeof(expr) == SQL("'array'"),
                                       peewee.Expression(expr, op, SQL(str(key))))])
        else:
            expr = peewee.Expression(expr, op, SQL(_literal(key)))
    return expr


class _StoreSqliteJSON(peewee.SqliteJSONMethods):
    """peewee's SQLite JSON helper with store's path spelling (see
    ``_sqlite_json_path``)."""

    def _path(self, keys, suffix=""):
        return peewee.Value(_sqlite_json_path(keys) + suffix, converter=False)


class _StorePostgresJSON(peewee.PostgresqlJSONMethods):
    """peewee's PostgreSQL JSON helper made to mean what SQLite's does:
    typed path elements (``_pg_json_extract``); ``has_key`` true only for a
    key of an object (``?`` also matches a string of an array and a string
    scalar); ``length()`` 0 for a non-array and NULL for a missing path
    (``jsonb_array_length`` raises on non-arrays)."""

    def extract(self, field, keys):
        return _pg_json_extract(field, keys, False) if keys else field

    def extract_text(self, field, keys):
        return _pg_json_extract(field, keys, True) if keys else field

    def _object(self, field, keys):
        return peewee.fn.jsonb_typeof(self.extract(field, keys)) == "object"

    def has_key(self, field, keys, key):
        return self._object(field, keys) & super().has_key(field, keys, key)

    def has_keys(self, field, keys, key_list):
        return self._object(field, keys) & super().has_keys(field, keys, key_list)

    def has_any_keys(self, field, keys, key_list):
        return self._object(field, keys) & super().has_any_keys(field, keys, key_list)

    def length(self, field, keys):
        value = self.extract(field, keys)
        return peewee.Case(None, [
            (peewee.fn.jsonb_typeof(value) == "array", peewee.fn.jsonb_array_length(value)),
            (value.is_null(False), 0)])


def _query_helper(helper):
    """The store subclass of peewee's JSON helper ``helper`` (None: None)."""
    if type(helper) is peewee.SqliteJSONMethods:
        helper.__class__ = _StoreSqliteJSON
    elif type(helper) is peewee.PostgresqlJSONMethods:
        helper.__class__ = _StorePostgresJSON
    return helper


# --- Enum -------------------------------------------------------------------------

class EnumField(StoreField, peewee.CharField):
    """A Python ``enum.Enum`` stored as the member's text value (VARCHAR) with
    ``CHECK (col IN (...))`` named ``ck_<table>_<column>_enum`` on both
    backends; never a PostgreSQL enum type, so dropping the table leaves
    nothing behind. Accepts a member or its value; anything else (another
    enum's member, a name, an unhashable value) raises ValidationError before
    the database is touched; raw SQL with another value is refused by the
    CHECK (``store.CheckViolation``). Reads back the member.
    ``check_name="rule"`` names the CHECK ``ck_<table>_rule`` instead (to
    keep a name a specification gives).
    """

    def __init__(self, enum_class, *args, check_name=None, **kwargs):
        self.check_name = check_name
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
        try:
            member = self._by_value.get(value)
        except TypeError:                      # unhashable (a list, a dict)
            member = None
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
        return [CheckSpec(self.check_name or f"{self.column_name}_enum",
                          f"{_quote(self.column_name)} IN ({values})")]


# --- Exact decimal -----------------------------------------------------------------

MAX_DIGITS = 15
"""The most digits a DecimalField may declare, on both backends: what SQLite's
8-byte REAL holds exactly (any decimal of 15 significant digits reads back as
itself). PostgreSQL would take more; a model valid on one backend is valid on
the other."""

# rounding half away from zero (PostgreSQL's NUMERIC rule), with digits for
# any value a column holds and the exponent range of any operand
_ROUND = decimal.Context(prec=64, rounding=decimal.ROUND_HALF_UP,
                         Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)

# |scaled sum| up to 2**53: every integer there converts to a double exactly,
# so SUM / 10**scale is the double nearest to the exact decimal sum.
_EXACT_SCALED = 2 ** 53


class DecimalField(_BackendHook, StoreField, peewee.Field):
    """Exact decimals for money: ``NUMERIC(max_digits, decimal_places)`` on both.

    The column holds the number itself on both backends, so SQL sees 9.90
    (arithmetic, comparisons, CHECKs written once such as ``price >= 5.00``,
    raw inserts, the sqlite3 shell, pandas, BI tools). PostgreSQL's NUMERIC is
    exact. SQLite has no exact decimal type: the column has NUMERIC affinity
    and holds an 8-byte number, which is exact for the 15 significant digits
    ``max_digits`` is limited to (``MAX_DIGITS``, checked the same on both
    backends), and store reads it back quantized to the field's scale.

    Values are rounded half away from zero to ``decimal_places`` (PostgreSQL's
    NUMERIC rule) and read back as ``Decimal`` of that scale on both, e.g.
    ``Decimal('0.1')`` in ``DecimalField(10, 2)`` reads ``Decimal('0.10')``.
    A value with more integer digits than ``max_digits - decimal_places``
    (after rounding), NaN, Infinity or a non-number raises ValidationError.
    Values in WHERE clauses are rounded to the scale the same way on both
    (``amount > Decimal('1.505')`` means ``amount > 1.51``).

    Aggregates: ``field.sum()`` is the exact sum as a Decimal on both (0 when
    no rows); on SQLite it adds the values as integers of the last decimal
    place and refuses with ``integer overflow`` a sum of more than 2**53 of
    them (15-16 digits: 90 trillion for a scale of 2), where PostgreSQL goes
    on. ``field.avg()`` is rounded half away from zero to the scale; on SQLite
    it is exact while the unrounded average has at most 15 significant
    digits. Both are numbers in SQL too (``.having(T.amount.sum() > 100)``).
    A bare ``fn.SUM(field)`` returns the backend's own type (a float on
    SQLite, a Decimal on PostgreSQL), as does arithmetic in a SELECT list
    (``T.amount * 2``).
    """

    field_type = "EXACT_DECIMAL"

    def __init__(self, max_digits=10, decimal_places=2, *args, **kwargs):
        if not (isinstance(max_digits, int) and not isinstance(max_digits, bool)
                and 0 < max_digits <= MAX_DIGITS):
            raise ConfigError(f"DecimalField max_digits must be 1..{MAX_DIGITS} (the digits "
                              f"SQLite holds exactly), got {max_digits!r}")
        if not (isinstance(decimal_places, int) and not isinstance(decimal_places, bool)
                and 0 <= decimal_places <= max_digits):
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
        if type(value) is decimal.Decimal:
            number = value
        else:
            if isinstance(value, float):
                value = repr(value)
            try:
                number = decimal.Decimal(value)
            except (decimal.InvalidOperation, TypeError, ValueError):
                raise self.invalid(f"{value!r} is not a decimal number") from None
        if not number.is_finite():
            raise self.invalid(f"{value!r} is not a finite number")
        context = _ROUND
        if number.adjusted() + self.decimal_places + 2 > _ROUND.prec:
            # a WHERE operand such as 1e300 or -10**70: enough digits for it
            context = context.copy()
            context.prec = number.adjusted() + self.decimal_places + 2
        return number.quantize(self._exp, context=context)

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
            # NUMERIC affinity stores the double nearest to the number (an
            # INTEGER when it is whole); python_value gives the decimal back
            return float(number)
        return number

    def python_value(self, value):
        if value is None:
            return None
        if isinstance(value, float):
            value = repr(value)
        return decimal.Decimal(value).quantize(self._exp, context=_ROUND)

    def literal_on(self, backend: str, value) -> str:
        # the same text on both backends: DEFAULT 1.50
        self.validate(value)
        return str(self._quantize(value))

    def sum(self):
        """SUM of the column as an exact Decimal on both backends (0 when empty)."""
        return _DecimalAggregate(self, "sum")

    def avg(self):
        """AVG of the column as a Decimal rounded half away from zero to the scale."""
        return _DecimalAggregate(self, "avg")


class _DecimalAggregate(peewee.ColumnBase):
    """``DecimalField.sum()`` / ``.avg()``, rendered for the backend of the query.

    PostgreSQL: ``COALESCE(SUM(x), 0)`` / ``AVG(x)`` over NUMERIC. SQLite: the
    values as integers of the last decimal place (``CAST(ROUND(x * 100) AS
    INTEGER)``: exact, as each stored double is within far less than half a
    unit of its decimal), summed exactly as 64-bit integers and divided by
    10**scale; a scaled sum beyond 2**53 is refused (``abs()`` of the
    smallest integer raises SQLite's own ``integer overflow``) instead of
    losing its last digits.
    """

    def __init__(self, field, kind):
        self.field, self.kind = field, kind
        self._converter = field.python_value      # a number of the column's scale

    def __sql__(self, ctx):
        field = self.field
        backend = ctx.state.store_backend or field.backend
        if backend != "sqlite":
            if self.kind == "sum":
                return ctx.sql(peewee.fn.COALESCE(peewee.fn.SUM(field), 0))
            return ctx.sql(peewee.fn.AVG(field))
        scale = field.decimal_places
        units = peewee.fn.CAST(peewee.NodeList((
            peewee.fn.ROUND(field * SQL(str(10 ** scale))), SQL("AS INTEGER"))))
        total = peewee.fn.SUM(units)
        if self.kind == "avg":
            # the average in units of the last place first: a half unit
            # (k + 0.5) is exact in binary, so rounding it up is not lost
            units_avg = peewee.fn.CAST(peewee.NodeList((total, SQL("AS REAL")))) \
                / peewee.fn.COUNT(field)
            return ctx.sql(units_avg / SQL(f"{10 ** scale}.0"))
        guarded = peewee.Case(None, [
            (total.is_null(), 0),
            (peewee.fn.abs(total) <= _EXACT_SCALED,
             total / SQL(f"{10 ** scale}.0") if scale else total)],
            peewee.fn.abs(SQL(str(-2 ** 63))))
        return ctx.sql(guarded)


# --- UUID ------------------------------------------------------------------------

class UUIDField(_BackendHook, StoreField, peewee.Field):
    """UUIDs: native ``uuid`` on PostgreSQL, canonical 36-character lowercase
    text on SQLite (with a CHECK ``ck_<table>_<column>_uuid`` on the length).
    Accepts ``uuid.UUID``, any spelling ``uuid.UUID()`` parses, or 16 bytes;
    anything else raises ValidationError on write. Reads back ``uuid.UUID``.
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

#: The aware timestamps a DateTimeTZField takes, on both backends: a day short
#: of each end of Python's datetime range, so that the value is readable in
#: every session time zone (PostgreSQL sends timestamptz in the session's zone:
#: 0001-01-01 00:00 UTC is a year-1 BC time in America/New_York, which psycopg
#: cannot read; 9999-12-31 20:00 UTC is year 10000 in Asia/Tokyo).
TIMESTAMP_MIN = _dt.datetime(1, 1, 2, tzinfo=UTC)
TIMESTAMP_MAX = _dt.datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)


def utcnow() -> _dt.datetime:
    return _dt.datetime.now(UTC)


class DateTimeTZField(_BackendHook, StoreField, peewee.Field):
    """Timezone-aware timestamps, stored in UTC, read back aware (UTC) on both.

    PostgreSQL: ``timestamptz``. SQLite: fixed-width ISO-8601 text
    ``YYYY-MM-DD HH:MM:SS.ffffff+00:00`` so text order is time order.
    Accepts aware datetimes and aware ISO-8601 strings; a naive datetime (or
    naive string), a non-datetime, or one outside ``TIMESTAMP_MIN`` ..
    ``TIMESTAMP_MAX`` (0001-01-02 .. 9999-12-30 UTC: readable in every
    PostgreSQL session time zone) raises ValidationError on both: store does
    not guess a timezone. Microsecond precision on both.
    """

    field_type = "TIMESTAMPTZ"

    def __init__(self, *args, auto_now=False, **kwargs):
        self.auto_now = auto_now
        if auto_now:
            kwargs.setdefault("default", utcnow)
        super().__init__(*args, **kwargs)

    def now_sql(self, backend: str):
        if backend == "postgresql":
            return "CURRENT_TIMESTAMP"
        # the fixed-width text db_value writes: microseconds, +00:00
        return "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000+00:00')"

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
        try:
            value = value.astimezone(UTC)
        except OverflowError:                  # e.g. 0001-01-01 00:00+05:30
            raise self.invalid(f"{value!r} is outside the datetime range in UTC") from None
        if not TIMESTAMP_MIN <= value <= TIMESTAMP_MAX:
            raise self.invalid(f"{value.isoformat()} is outside {TIMESTAMP_MIN.date()} .. "
                               f"{TIMESTAMP_MAX.date()} UTC (the range every session time "
                               f"zone can read back)")
        return value

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


class ForeignKeyField(StoreField, peewee.ForeignKeyField):
    """peewee's ForeignKeyField; a written value is validated as the
    referenced key would be, and a bad one is reported against this column
    (``jobs.file_id``, not ``files.id``)."""

    def validate(self, value):
        if value is None or isinstance(value, (Node, peewee.Model)):
            return
        check = getattr(self.rel_field, "validate", None)
        if check is None:
            return
        try:
            check(value)
        except ValidationError as exc:
            raise self.invalid(exc.reason, value) from None


class DateField(StoreField, peewee.DateField):
    """DATE on both; reads back ``datetime.date``. On write it accepts a
    ``date``, a ``datetime`` (its own date part: the time and any timezone
    are dropped, nothing is converted) and the strings peewee parses as a
    date (``'2024-01-31'``, ``'2024-01-31 12:00:00'``, ISO-8601); anything
    else (the int ``20200101``, ``'garbage'``, bytes, a time) raises
    ValidationError on both backends."""

    def validate(self, value):
        if value is None or isinstance(value, (Node, _dt.date)):
            return
        if isinstance(value, str) and isinstance(self.adapt(value), _dt.date):
            return
        raise self.invalid(f"{value!r} is not a date")

    # ``field.year`` / ``month`` / ``day`` read back as int on both
    # (PostgreSQL's date_part gives a numeric, psycopg a Decimal)
    year = property(lambda self: _int_part(peewee.DateField.year.fget(self)))
    month = property(lambda self: _int_part(peewee.DateField.month.fget(self)))
    day = property(lambda self: _int_part(peewee.DateField.day.fget(self)))


def _int_part(function):
    return function.python_value(lambda v: None if v is None else int(v))


class AutoField(_IntegerMixin, peewee.AutoField):
    """peewee's AutoField (``INTEGER PRIMARY KEY`` / ``serial``); an explicit
    value is validated as ``IntegerField``'s (32-bit on both: SQLite would
    store 2**40 where PostgreSQL refuses it)."""


class BigAutoField(_IntegerMixin, peewee.BigAutoField):
    """peewee's BigAutoField (``bigserial`` on PostgreSQL); an explicit value
    is validated as ``BigIntegerField``'s (64-bit)."""


# Re-exported unchanged: its behaviour is already the same on both backends.
CompositeKey = peewee.CompositeKey
