"""URL -> a ready peewee Database, one subclass per backend.

Everything that differs between SQLite and PostgreSQL at the connection level
lives here, behind ``open_database`` and ``features``:

* SQLite: every connection has ``foreign_keys=ON``, WAL journal (files only),
  transactions that take the write lock when they begin (``BEGIN IMMEDIATE``),
  a busy timeout and the JSON functions (checked: SQLite >= 3.38).
  ``like``/``ilike`` (and ``contains``/``startswith``/``endswith``) mean what
  they mean on PostgreSQL: LIKE case-sensitive, ILIKE Unicode-case-insensitive,
  backslash the default escape. store renders them, it does not change
  SQLite's LIKE (no ``case_sensitive_like``, which makes LIKE unusable in
  indexes): a known pattern becomes GLOB, one computed by SQL the
  deterministic functions ``store_like``/``store_ilike`` (see
  ``_SqliteContext``). LIKE written as raw SQL text keeps SQLite's meaning
  (ASCII case-insensitive). On both backends a known pattern that ends with
  its escape character is refused before the database is touched
  (``ValidationError``).
* PostgreSQL: psycopg 3, the URL's libpq options, optional pooling.
* Both: integrity errors are translated into ``store.errors`` types with the
  same table and constraint names (see ``_translate_*``); a write refused by
  an append-only guard (``store.appendonly``) is an ``AppendOnlyViolation``.
"""
from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass

try:
    import fcntl
except ImportError:                    # Windows: SQLite's busy handler alone
    fcntl = None

import peewee
from peewee import OP, Context, Expression, Node, NodeList, SQL, Value, fn
from playhouse.pool import _PooledPostgresqlDatabase

from . import appendonly, errors
from .fields import quote_ident
from .url import DatabaseURL, mask_password, parse_url

MIN_SQLITE = (3, 38, 0)   # JSON functions built in (json_valid, ->, ->>)
sqlite_version_info = sqlite3.sqlite_version_info


@dataclass(frozen=True)
class Features:
    """What a backend can do; tests and code branch on these, not on names."""
    name: str
    native_json: bool
    native_uuid: bool
    native_decimal: bool
    native_timestamptz: bool
    transactional_ddl: bool = True
    advisory_locks: bool = False


SQLITE_FEATURES = Features("sqlite", native_json=False, native_uuid=False,
                           native_decimal=False, native_timestamptz=False)
POSTGRES_FEATURES = Features("postgresql", native_json=True, native_uuid=True,
                             native_decimal=True, native_timestamptz=True,
                             advisory_locks=True)


def features(db) -> Features:
    return db.features


def _number(url: DatabaseURL, key, default, cast=int):
    value = url.option(key)
    if value is None:
        return default
    try:
        number = cast(value)
    except ValueError:
        number = -1
    if not 0 <= number < float("inf"):
        raise errors.ConfigError(f"database URL option {key}={value!r} must be a "
                                 f"non-negative {'integer' if cast is int else 'number'}")
    return number


class StoreDatabaseMixin:
    """Shared behaviour: masked repr, model binding, error translation."""

    url: DatabaseURL
    features: Features

    def __repr__(self):
        return f"<{type(self).__name__} {self.url.masked()}>"

    def get_context_options(self):
        options = super().get_context_options()
        options["store_backend"] = self.features.name    # read by StoreField.ddl
        return options

    def bind_models(self, models, bind_refs=True, bind_backrefs=True):
        """Bind ``models`` to this database (re-binding from another is fine),
        and what their foreign keys reach, as peewee's ``Model.bind`` does.
        One walk of the graph for all of them: peewee's ``Database.bind``
        walks it once per model, quadratic in a project of linked tables."""
        todo, seen = list(models), set()
        while todo:
            model = todo.pop()
            if model in seen:
                continue
            seen.add(model)
            model._meta.set_database(self)
            if bind_refs:
                todo.extend(model._meta.refs.values())
            if bind_backrefs:
                todo.extend(model._meta.backrefs.values())
        return self

    def execute_sql(self, sql, params=None):
        try:
            return super().execute_sql(sql, params)
        except errors.ConstraintViolation:
            raise
        except peewee.IntegrityError as exc:
            driver_exc = getattr(exc, "orig", None) or exc
            translated = self._translate(driver_exc, sql, params)
            if translated is None:
                raise
            translated.orig = driver_exc
            raise translated from driver_exc
        except peewee.PeeweeException as exc:
            self._mask_exception(exc)
            raise

    def transaction_lost(self) -> bool:
        """Whether the backend ended an open transaction on its own after an
        error (see ``SqliteStore``); PostgreSQL keeps it, aborted, until the
        rollback."""
        return False

    def _mask_exception(self, exc):
        if self.url.password and exc.args:
            exc.args = tuple(mask_password(a, self.url) if isinstance(a, str) else a
                             for a in exc.args)

    def _connect(self):
        try:
            return super()._connect()
        except Exception as exc:
            if self.url.password:
                message = mask_password(str(exc), self.url)
                raise peewee.OperationalError(
                    f"cannot connect to {self.url.masked()}: {message}") from None
            raise


# --- LIKE / ILIKE (both backends) ---------------------------------------------
#
# store gives LIKE PostgreSQL's meaning on SQLite without changing SQLite's own
# LIKE: PRAGMA case_sensitive_like makes LIKE non-deterministic, so SQLite
# refuses it in partial indexes, CHECKs and generated columns, and a file that
# already has such an index gets entries other clients disagree with. A pattern
# known when the statement is rendered becomes a GLOB (case-sensitive,
# deterministic, an SQL literal); a pattern that is SQL goes through the
# deterministic functions ``store_like``/``store_ilike``, a port of
# PostgreSQL's matcher. ILIKE folds case with Python's ``str.lower``
# (``store_lower``, Unicode-aware) on both sides, as before.

_ESCAPE = "\\"                       # PostgreSQL's default LIKE escape
_GLOB_LITERAL = {"*": "[*]", "?": "[?]", "[": "[[]"}
_NOT_LITERAL = object()


def _like_tokens(pattern: str, escape: str):
    """``(is_wildcard, char)`` of a LIKE pattern read as PostgreSQL reads it
    (``escape`` "" for none); ``ValueError`` when it ends with the escape."""
    chars = iter(pattern)
    for ch in chars:
        if escape and ch == escape:
            nxt = next(chars, None)
            if nxt is None:
                raise ValueError(f"LIKE pattern {pattern!r} ends with the escape character "
                                 f"{escape!r} (write {escape * 2!r} for a literal {escape!r})")
            yield False, nxt
        else:
            yield ch in "%_", ch


def _check_escape(escape: str) -> str:
    if len(escape) > 1:
        raise ValueError(f"LIKE ESCAPE {escape!r} must be one character or empty")
    return escape


def like_to_glob(pattern: str, escape: str = _ESCAPE) -> str:
    """The GLOB pattern matching what LIKE ``pattern`` matches case-sensitively:
    ``%`` -> ``*``, ``_`` -> ``?``; ``*``, ``?``, ``[`` of the text bracketed."""
    return "".join(("*" if ch == "%" else "?") if wild else _GLOB_LITERAL.get(ch, ch)
                   for wild, ch in _like_tokens(pattern, _check_escape(escape)))


def _pg_like_escape(pattern: str, escape: str) -> str:
    """PostgreSQL's ``like_escape``: ``pattern ESCAPE escape`` as a pattern
    whose escape is a backslash (ESCAPE '' doubles every backslash)."""
    if escape == _ESCAPE:
        return pattern
    if escape == "":
        return pattern.replace("\\", "\\\\")
    out, after = [], False
    for ch in pattern:
        if ch == escape and not after:
            out.append("\\")
            after = True
        else:
            out.append("\\\\" if ch == "\\" and not after else ch)
            after = False
    return "".join(out)


_TRUE, _FALSE, _ABORT = 1, 0, -1


def _match_text(t: str, ti: int, p: str, pi: int) -> int:
    """PostgreSQL's ``MatchText`` (like_match.c), step for step, so that a
    pattern ending with its escape fails for exactly the rows it fails for
    on PostgreSQL (the error comes when the match reaches it)."""
    tn, pn = len(t), len(p)
    if pn - pi == 1 and p[pi] == "%":
        return _TRUE
    while ti < tn and pi < pn:
        c = p[pi]
        if c == "\\":
            pi += 1
            if pi >= pn:
                raise ValueError("LIKE pattern must not end with escape character")
            if p[pi] != t[ti]:
                return _FALSE
        elif c == "%":
            pi += 1
            while pi < pn:
                if p[pi] == "%":
                    pi += 1
                elif p[pi] == "_":
                    if ti >= tn:
                        return _ABORT
                    ti += 1
                    pi += 1
                else:
                    break
            if pi >= pn:
                return _TRUE
            if p[pi] == "\\":
                if pi + 1 >= pn:
                    raise ValueError("LIKE pattern must not end with escape character")
                first = p[pi + 1]
            else:
                first = p[pi]
            while ti < tn:
                if t[ti] == first:
                    matched = _match_text(t, ti, p, pi)
                    if matched != _FALSE:
                        return matched
                ti += 1
            return _ABORT
        elif c != "_" and c != t[ti]:
            return _FALSE
        ti += 1
        pi += 1
    if ti < tn:
        return _FALSE
    while pi < pn and p[pi] == "%":
        pi += 1
    return _TRUE if pi >= pn else _ABORT


def _like_match(value, pattern, escape, fold):
    if value is None or pattern is None or escape is None:
        return None
    value, pattern, escape = (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                              for v in (value, pattern, escape))
    pattern = _pg_like_escape(pattern, _check_escape(escape))
    if fold:                         # as PostgreSQL: lowered after like_escape
        value, pattern = value.lower(), pattern.lower()
    return int(_match_text(value, 0, pattern, 0) == _TRUE)


def _like(value, pattern, escape):
    """``store_like(value, pattern, escape)``: PostgreSQL's LIKE (case-sensitive)
    for a pattern that is SQL; raises where PostgreSQL raises."""
    return _like_match(value, pattern, escape, False)


def _ilike(value, pattern, escape):
    """``store_ilike(value, pattern, escape)``: ILIKE, case folded by ``str.lower``."""
    return _like_match(value, pattern, escape, True)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _literal(node, converter):
    """The Python value ``node`` renders as (converted as peewee would), or
    ``_NOT_LITERAL`` when it is SQL (a column, an expression, a function)."""
    if isinstance(node, Value) and not node.multi and not isinstance(node.value, Node):
        if node.converter:
            return node.converter(node.value)
        return converter(node.value) if node.converter is None and converter else node.value
    if isinstance(node, Node) or peewee.is_model(node):
        return _NOT_LITERAL
    return converter(node) if converter else node


def _like_operands(expr):
    """``(lhs, pattern, escape)`` of a LIKE/ILIKE expression; pattern and
    escape are Python strings when known at render time, else nodes. A known
    pattern that ends with its escape character (an error on PostgreSQL, no
    match on SQLite) is refused here, before the database is touched."""
    lhs, rhs = expr.lhs, expr.rhs
    node = lhs.unwrap() if isinstance(lhs, peewee.WrappedNode) else lhs
    converter, where = None, "LIKE pattern"
    if isinstance(node, peewee.Field):
        if getattr(lhs, "_coerce", True):
            converter = node.db_value
        model = getattr(node, "model", None)
        where = f"{model._meta.table_name}.{node.column_name}" if model else node.name
    escaped = (isinstance(rhs, NodeList) and len(rhs.nodes) == 3
               and isinstance(rhs.nodes[1], SQL) and rhs.nodes[1].sql.upper() == "ESCAPE")
    pattern_node = rhs.nodes[0] if escaped else rhs
    pattern = _literal(pattern_node, converter)
    escape = _literal(rhs.nodes[2], None) if escaped else _ESCAPE
    try:
        if isinstance(escape, str):
            _check_escape(escape)
            if isinstance(pattern, str):
                for _ in _like_tokens(pattern, escape):
                    pass
    except ValueError as exc:
        raise errors.ValidationError(where, str(exc), pattern) from None
    if not isinstance(escape, str):          # SQL, or ESCAPE NULL
        escape = rhs.nodes[2]
    if pattern is _NOT_LITERAL:
        pattern = pattern_node
    return lhs, pattern, escape


# --- query rendering shared by both contexts (issue 13) -------------------------
#
# What a query means must not depend on the backend or on the PostgreSQL
# database's locale and the session's settings. The two contexts rewrite the
# few constructs whose meaning differs, at render time, and refuse (with a
# ValidationError, before the database is touched, the same on both) those
# that cannot be made to mean the same:
#
# * text order (ORDER BY, a window's ORDER BY, <, <=, >, >=, BETWEEN, a row
#   comparison (a, b) > (x, y), MIN/MAX of text) is the code-point order on
#   both: SQLite's BINARY collation; on PostgreSQL
#   ``COLLATE "C"`` (``USING ~<~`` in a SELECT DISTINCT, whose ORDER BY must
#   repeat the select list), whatever the database's collation;
# * ``fn.lower``, ``ilike`` (and contains/startswith/endswith) fold case by
#   Unicode's full case mapping on both: Python's ``str.lower`` on SQLite
#   (``store_lower``), ICU's root locale on PostgreSQL (``COLLATE
#   "und-x-icu"``) whatever the database's ctype; ``fn.upper`` is ICU's on
#   PostgreSQL too, and SQLite's own (ASCII-only: a documented difference);
# * ``fn.ROUND`` of a float rounds half away from zero on both;
# * integer arithmetic is 64-bit on both (PostgreSQL widens int/smallint
#   operands to bigint); division and modulo by zero are NULL on both;
# * ``AVG`` of an integer or float column is a float on both, ``SUM`` of a
#   bigint column an int; ``DateField.truncate()`` a naive datetime on both;
# * refused: SUM/AVG of a non-numeric column, MIN/MAX of a boolean, UUID or
#   JSON column, ORDER BY a JSON value, a negative LIMIT/OFFSET, an integer
#   parameter beyond 64 bits (SQLite cannot bind it), regexp()/iregexp().

_INT64_MIN, _INT64_MAX = -2 ** 63, 2 ** 63 - 1
_TEXT_TYPES = frozenset({"VARCHAR", "TEXT", "CHAR"})
_NUMERIC_TYPES = frozenset({"INT", "BIGINT", "SMALLINT", "AUTO", "BIGAUTO", "FLOAT",
                            "DOUBLE", "REAL", "DECIMAL", "EXACT_DECIMAL"})
_NARROW_INT_TYPES = frozenset({"INT", "SMALLINT", "AUTO"})
_FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE", "REAL"})
_NO_MIN_MAX_TYPES = frozenset({"BOOL", "UUID", "JSON"})
_RANGE = frozenset({OP.LT, OP.LTE, OP.GT, OP.GTE, OP.BETWEEN})
_CASE_FUNCTIONS = frozenset({"lower", "upper"})
_TEXT_FUNCTIONS = frozenset({"lower", "upper", "trim", "ltrim", "rtrim", "substr",
                             "substring", "replace", "store_lower"})
_DATE_TRUNC_SQLITE = {"year": "%Y-01-01 00:00:00", "month": "%Y-%m-01 00:00:00",
                      "day": "%Y-%m-%d 00:00:00"}


class _Collate(peewee.WrappedNode):
    """``node COLLATE "name"``; unwraps to the node (converters are kept)."""

    def __init__(self, node, collation):
        super().__init__(node)
        self.collation = collation

    def __sql__(self, ctx):
        return ctx.sql(self.node).literal(f' COLLATE "{self.collation}"')


def _field_of(node):
    node = node.unwrap() if isinstance(node, Node) else node
    if isinstance(node, peewee.ForeignKeyField):
        return node.rel_field
    return node if isinstance(node, peewee.Field) else None


def _field_type(node):
    field = _field_of(node)
    return getattr(field, "field_type", None) if field is not None else None


def _field_name(field) -> str:
    qualified = getattr(field, "qualified_name", None)
    if qualified is not None:
        return qualified()
    model = getattr(field, "model", None)
    return f"{model._meta.table_name}.{field.column_name}" if model else str(field.name)


def _is_text(node) -> bool:
    """Whether ``node`` is text store knows of: a text column, a JSON path
    read as text, or a text function of one."""
    if isinstance(node, _Collate):
        return False
    if isinstance(node, peewee.JSONPath):
        return bool(node._as_text)
    if isinstance(node, peewee.Function):
        return (node.name or "").lower() in _TEXT_FUNCTIONS and bool(node.arguments) \
            and _is_text(node.arguments[0])
    if isinstance(node, peewee.Alias):
        return _is_text(node.node)
    return _field_type(node) in _TEXT_TYPES


def _is_json(node) -> bool:
    if isinstance(node, peewee.JSONPath):
        return not node._as_text
    return isinstance(_field_of(node), peewee.JSONField)


def _refuse(where: str, reason: str, value=None):
    raise errors.ValidationError(where, reason, value)


def _check_select(query):
    """LIMIT/OFFSET, and ORDER BY terms that have no common meaning."""
    for name in ("_limit", "_offset"):
        value = getattr(query, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            clause = name[1:].upper()
            _refuse(clause, f"{clause} {value} is negative (SQLite reads a negative LIMIT "
                            f"as none and a negative OFFSET as 0; PostgreSQL refuses both)",
                    value)
    for item in getattr(query, "_order_by", None) or ():
        node = item.node if isinstance(item, peewee.Ordering) else item
        if _is_json(node):
            field = _field_of(node._field if isinstance(node, peewee.JSONPath) else node)
            _refuse(_field_name(field) if field is not None else "ORDER BY",
                    "cannot ORDER BY a JSON value (SQLite orders its text, PostgreSQL "
                    "JSONB's own order): order by path.as_text(), or a cast "
                    "(path.as_int(), path.as_float())")


def _check_function(func):
    name = (func.name or "").lower()
    if name not in ("sum", "avg", "min", "max", "total") or not func.arguments:
        return
    field = _field_of(func.arguments[0])
    if field is None:
        return
    kind = getattr(field, "field_type", None)
    if name in ("sum", "avg", "total") and kind not in _NUMERIC_TYPES:
        _refuse(_field_name(field), f"{name.upper()}() of a {kind} column (SQLite adds "
                                    f"what it can read as numbers, PostgreSQL refuses)")
    if name in ("min", "max") and kind in _NO_MIN_MAX_TYPES:
        _refuse(_field_name(field), f"{name.upper()}() of a {kind} column (PostgreSQL "
                                    f"has none; SQLite compares the stored text or 0/1)")


def _check_value(value, converter):
    if isinstance(value, int) and not isinstance(value, bool) \
            and not _INT64_MIN <= value <= _INT64_MAX:
        field = getattr(converter, "__self__", None)
        where = _field_name(field) if isinstance(field, peewee.Field) else "query parameter"
        _refuse(where, f"the integer {value} is beyond 64 bits (SQLite cannot bind it; "
                       f"no integer column holds such a value)", value)


class _StoreContextMixin:
    """What both contexts check and render the same way."""
    __slots__ = ()

    def value(self, value, converter=None, add_param=True):
        if converter:
            value = converter(value)
        elif converter is None and self.state.converter:
            value = self.state.converter(value)
        if add_param:                       # not SQL(text, params): the caller's own
            _check_value(value, converter or self.state.converter)
        return super().value(value, False, add_param)

    def _store_check(self, obj):
        if isinstance(obj, peewee.SelectBase):
            _check_select(obj)
        elif isinstance(obj, peewee.Function):
            _check_function(obj)
        elif isinstance(obj, Expression) and obj.op in (OP.REGEXP, OP.IREGEXP):
            field = _field_of(obj.lhs)
            _refuse(_field_name(field) if field is not None else "REGEXP",
                    "regexp()/iregexp() are refused on both backends: SQLite has no "
                    "regular expressions built in and PostgreSQL's (POSIX) are not "
                    "Python's; use like()/ilike() or filter in Python")


def _date_trunc_of_date(func):
    """``(part, field)`` when ``func`` is ``DateField.truncate(part)``'s call."""
    if (func.name or "").lower() != "date_trunc" or len(func.arguments) != 2:
        return None
    part, node = func.arguments
    part = part.value if isinstance(part, Value) else part
    if not isinstance(part, str) or _field_type(node) != "DATE":
        return None
    return part.lower(), node


def _with_function(func, name, arguments):
    """A copy of ``func`` (filter, ORDER BY, converter kept) as ``name(arguments)``."""
    new = func.clone()
    new.name, new.arguments = name, tuple(arguments)
    return new


def _with_window_order(window, order):
    """``window`` with ``order`` as its ORDER BY (itself when nothing changed):
    a window orders its rows as a SELECT does."""
    if all(a is b for a, b in zip(order, window.order_by)):
        return window
    new = window.clone()
    new.order_by = tuple(order)
    return new


_ARITHMETIC = frozenset({OP.ADD, OP.SUB, OP.MUL, OP.DIV, OP.MOD})

#: The nodes the contexts check or rewrite; every other node (a column, a
#: value, an alias, an entity) renders as peewee renders it, with no Python
#: frame of store's in between (its children still pass through ``sql``).
_REWRITTEN = (Expression, peewee.Function, peewee.SelectBase, peewee.Window, NodeList)


# --- SQLite -----------------------------------------------------------------

class _SqliteContext(_StoreContextMixin, Context):
    """Renders LIKE case-sensitively and ILIKE Unicode-case-insensitively, as
    on PostgreSQL, with deterministic SQL only (so usable in indexes).

    ``a LIKE 'p'`` -> ``a GLOB 'g'`` (``like_to_glob``); ``a ILIKE 'p'`` ->
    ``store_lower(a) GLOB 'g'``, ``g`` from ``'p'.lower()``; a pattern or
    escape that is SQL -> ``store_like(a, p, e)`` / ``store_ilike(a, p, e)``.
    Backslash is the default escape; an ``ESCAPE`` clause is honoured
    (``ESCAPE ''``: none). Nothing here depends on a connection setting, so
    the same SQL is valid in partial indexes, index expressions and CHECKs.

    ORDER BY (also a window's) sorts NULLs as PostgreSQL does (last
    ascending, first descending; SQLite's own order is the reverse), so the
    same query pages the same rows: a term of a SELECT's ORDER BY that may be NULL (anything
    but a NOT NULL column) and names no ``nulls=`` gets PostgreSQL's.

    ``fn.lower(x)`` is ``store_lower(x)`` (Unicode, as ILIKE folds);
    ``DateField.truncate(part)`` a naive datetime (``strftime``, four-digit
    years); and the checks of "query rendering" above.
    """
    __slots__ = ()

    def as_new(self):
        return type(self)(**self.state.settings)

    def sql(self, obj):
        if not isinstance(obj, _REWRITTEN):            # columns, values, aliases, ...
            return super().sql(obj)
        self._store_check(obj)
        if isinstance(obj, Expression) and obj.op in (OP.LIKE, OP.ILIKE):
            obj = _sqlite_like(obj)
        elif isinstance(obj, peewee.Function):
            name = (obj.name or "").lower()
            if name == "lower" and len(obj.arguments) == 1:
                obj = _with_function(obj, "store_lower", obj.arguments)
            elif name == "date_trunc":
                truncated = _date_trunc_of_date(obj)
                if truncated is not None and truncated[0] in _DATE_TRUNC_SQLITE:
                    obj = _with_function(obj, "strftime",
                                         (SQL(_sql_text(_DATE_TRUNC_SQLITE[truncated[0]])),
                                          truncated[1]))
        elif isinstance(obj, peewee.SelectBase):
            order = [_pg_nulls(item) for item in getattr(obj, "_order_by", None) or ()]
            named = [_pg_output_name(c) for c in obj._returning or ()] \
                if isinstance(obj, peewee.Select) else []
            if any(a is not b for a, b in zip(order, obj._order_by or ())) \
                    or any(a is not b for a, b in zip(named, obj._returning or ())):
                obj = obj.clone()
                if order:
                    obj._order_by = order
                if named:
                    obj._returning = named
        elif isinstance(obj, peewee.Window) and obj.order_by:
            obj = _with_window_order(obj, [_pg_nulls(item) for item in obj.order_by])
        return super().sql(obj)


def _pg_output_name(column):
    """``column`` of a SELECT list, aliased as PostgreSQL names an unaliased
    output column (a function call or window by the function's name, another
    expression or a constant ``?column?``); a column, an alias or raw SQL as
    it is. SQLite names such a column by its text, which peewee then reads as
    a field's name (``AVG("t1"."score") OVER (PARTITION BY "t1"."name")`` was
    taken for ``name`` and converted by its CharField)."""
    if isinstance(column, (peewee.Field, peewee.Alias)):
        return column
    if isinstance(column, peewee.Function):
        return column.alias((column.name or "?column?").lower())
    if _is_over(column):
        return column.alias((column.nodes[0].name or "?column?").lower())
    if isinstance(column, (Expression, Value)):
        return column.alias("?column?")
    return column


def _pg_nulls(item):
    """An ORDER BY term with PostgreSQL's NULL placement made explicit."""
    ordering = item if isinstance(item, peewee.Ordering) else None
    if ordering is not None and ordering.nulls is not None:
        return item
    node = ordering.node if ordering is not None else item
    field = node.unwrap() if isinstance(node, Node) else node
    if isinstance(field, peewee.Field) and not field.null:
        return item                                 # never NULL: nothing to place
    if isinstance(node, (SQL, int)):                # ORDER BY 1, raw SQL: as written
        return item
    direction = ordering.direction if ordering is not None else "ASC"
    return peewee.Ordering(node, direction, ordering.collation if ordering else None,
                           nulls="LAST" if direction.upper() == "ASC" else "FIRST")


def _sql_text(text: str) -> str:
    return "'%s'" % text.replace("'", "''")


def _glob_literal(glob: str):
    """The GLOB pattern as an SQL string literal, not a parameter: SQLite
    matches a query's ``x GLOB ?`` to no partial index (a bound value in a
    function's arguments is never compared), ``x GLOB 'ab*'`` to the index
    ``WHERE x GLOB 'ab*'``. Quotes doubled: nothing else is special in an SQL
    string. A NUL (which would end the SQL text) stays a parameter."""
    if "\0" in glob:
        return Value(glob, converter=False)
    return SQL("'%s'" % glob.replace("'", "''"))


def _sqlite_like(expr):
    lhs, pattern, escape = _like_operands(expr)
    fold = expr.op == OP.ILIKE
    if isinstance(escape, str) and isinstance(pattern, str):
        if fold:
            # as PostgreSQL: ESCAPE applied first, then the pattern lowered
            lhs = fn.store_lower(lhs)
            pattern, escape = _pg_like_escape(pattern, escape).lower(), _ESCAPE
        return Expression(lhs, "GLOB", _glob_literal(like_to_glob(pattern, escape)),
                          flat=expr.flat)
    pattern, escape = (node if isinstance(node, Node) else Value(node, converter=False)
                       for node in (pattern, escape))
    return (fn.store_ilike if fold else fn.store_like)(lhs, pattern, escape)


class _WriterQueue:
    """An exclusive flock() on a file beside the database, held from BEGIN
    to COMMIT/ROLLBACK of a write transaction (see ``SqliteStore.begin``).

    Each hold opens the file anew and closing it releases the lock, so a
    wait that timed out cannot leave a lock behind: its thread closes what
    it gets. Waiting is bounded by the busy timeout, as SQLite's own; then
    "database is locked" as SQLite would say. Without fcntl (Windows) or a
    writable folder, it does nothing and SQLite's busy handler alone waits.
    """

    def __init__(self, path):
        self.path = path if fcntl is not None else None

    def acquire(self, state, timeout: float) -> None:
        if self.path is None or getattr(state, "store_writer_fd", None) is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fd = self._wait(fd, timeout)
        state.store_writer_fd = fd

    def _wait(self, fd, timeout):
        got, lock = threading.Event(), threading.Lock()
        abandoned = []

        def block():
            fcntl.flock(fd, fcntl.LOCK_EX)
            with lock:
                if abandoned:
                    os.close(fd)         # the waiter gave up: let the next one in
                else:
                    got.set()
        threading.Thread(target=block, daemon=True, name="store-writer-wait").start()
        if got.wait(timeout):
            return fd
        with lock:
            if got.is_set():
                return fd
            abandoned.append(True)
        raise peewee.OperationalError(
            f"database is locked: another store connection kept writing for {timeout:g} s "
            f"(the busy timeout, ?timeout= in the URL)")

    def release(self, state) -> None:
        fd = getattr(state, "store_writer_fd", None)
        if fd is not None:
            state.store_writer_fd = None
            os.close(fd)


_UNIQUE_COLS = re.compile(r"UNIQUE constraint failed: (.+)$")
_CREATE_INDEX = re.compile(r'\s*CREATE\s+UNIQUE\s+INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?'
                           r'(?:"[^"]*"\.)?"((?:[^"]|"")+)"', re.IGNORECASE)
_NOT_NULL = re.compile(r"NOT NULL constraint failed: ([^.]+)\.(.+)$")
_CHECK = re.compile(r"CHECK constraint failed: (.+)$")


class SqliteStore(StoreDatabaseMixin, peewee.SqliteDatabase):
    features = SQLITE_FEATURES
    context_class = _SqliteContext
    operations = {"LIKE": "LIKE", "ILIKE": "LIKE"}
    field_types = {**peewee.SqliteDatabase.field_types,
                   "EXACT_DECIMAL": "NUMERIC", "TIMESTAMPTZ": "TEXT"}

    def __init__(self, url: DatabaseURL | str, **kwargs):
        """``url``: a parsed URL, a ``sqlite://`` URL, or a file path as
        peewee's ``SqliteDatabase`` takes it. peewee's ``pragmas=`` are
        applied after store's own (the same pragma: the caller's value wins);
        ``timeout=`` overrides the URL's ``?timeout=``."""
        if isinstance(url, str):
            url = parse_url(url) if "://" in url else DatabaseURL("sqlite", url)
        if sqlite_version_info < MIN_SQLITE:
            raise errors.ConfigError(
                "SQLite %s is too old: store needs %s or newer (JSON functions)"
                % (".".join(map(str, sqlite_version_info)),
                   ".".join(map(str, MIN_SQLITE))))
        self.url = url
        timeout = kwargs.pop("timeout", None)
        if timeout is None:
            timeout = _number(url, "timeout", 10.0, float)
        # recursive_triggers: REPLACE's implicit delete fires DELETE triggers
        # (the append-only guard), as PostgreSQL's ON CONFLICT never deletes
        # (no case_sensitive_like: it makes LIKE non-deterministic; see _SqliteContext)
        # No busy_timeout pragma: sqlite3.connect(timeout=) sets it from
        # db.timeout on every connection, and a pragma fixed here would undo
        # a timeout the caller set since (peewee's ``db.timeout = s``).
        pragmas = {"foreign_keys": 1, "recursive_triggers": 1}
        if not url.is_memory:
            pragmas["synchronous"] = "normal"
        pragmas.update(dict(kwargs.pop("pragmas", None) or ()))
        pragmas = list(pragmas.items())
        path = url.database if url.is_memory else os.path.abspath(url.database)
        # db.atomic() takes the write lock at BEGIN: a transaction that reads
        # and then writes never fails with "database is locked" when another
        # process wrote in between (a deferred one cannot upgrade its snapshot)
        kwargs.setdefault("lock_type", "IMMEDIATE")
        super().__init__(path, pragmas=pragmas, timeout=timeout, **kwargs)
        self._writers = _WriterQueue(None if url.is_memory else path + "-writers")
        self.register_function(_lower, "store_lower", 1, deterministic=True)
        self.register_function(_like, "store_like", 3, deterministic=True)
        self.register_function(_ilike, "store_ilike", 3, deterministic=True)

    def _connect(self):
        try:
            return super()._connect()
        except sqlite3.OperationalError as exc:
            folder = os.path.dirname(self.database) or "."
            why = ("its folder does not exist" if not os.path.isdir(folder)
                   else "check the permissions of the file and its folder")
            raise peewee.OperationalError(
                f"cannot open the SQLite database {self.database}: {exc} ({why})") from exc

    # A transaction SQLite rolled back itself -----------------------------
    # On SQLITE_FULL or an I/O error SQLite may roll the whole transaction
    # back (measured: a disk-full INSERT inside BEGIN leaves the connection
    # outside any transaction). peewee still counts the db.atomic() blocks as
    # open, so the block's next statement would autocommit, and its next
    # savepoint would start a transaction that RELEASE commits: a failed
    # load kept rows. store refuses every statement of such a block instead.
    def _transaction_lost(self) -> bool:
        conn = self._state.conn
        return (conn is not None and not conn.in_transaction
                and not any(isinstance(t, peewee._manual) for t in self._state.transactions))

    def execute_sql(self, sql, params=None):
        if self._state.transactions and self._transaction_lost():
            if sql.startswith("ROLLBACK TO SAVEPOINT"):
                return None                  # nothing left to roll back to
            cause = getattr(self._state, "store_lost_cause", None) or "an error"
            raise errors.TransactionLost(
                f"SQLite rolled the whole transaction back after {cause}; nothing of it "
                f"was kept and this block runs no more statements (leave the "
                f"db.atomic() block and start again)")
        try:
            return super().execute_sql(sql, params)
        except peewee.PeeweeException as exc:
            if self._state.transactions and self._transaction_lost():
                self._state.store_lost_cause = f"{type(exc).__name__}: {exc}"
            raise

    def transaction_lost(self) -> bool:
        """Whether SQLite ended the open ``db.atomic()`` block's transaction itself."""
        return bool(self._state.transactions) and self._transaction_lost()

    def rollback(self):
        self._state.store_lost_cause = None
        try:
            conn = self._state.conn
            if conn is not None and not conn.in_transaction:
                return                       # SQLite rolled back already
            super().rollback()
        finally:
            self._writers.release(self._state)

    # Writers take turns --------------------------------------------------
    # SQLite's busy handler polls with sleeps of up to 100 ms, so a process
    # that commits and begins again at once keeps the write lock: measured
    # with 4 processes running back-to-back read-then-write transactions
    # (bench/bench_contention.py), one committed 1,431 times in 10 s and the
    # other three once each, waiting 10 s. store's write transactions first
    # queue on an flock() of "<database>-writers", which the kernel wakes
    # as soon as it is free: the same throughput, fairness 0.8-0.9, longest
    # wait 0.4 s. (Connections of other programs just use SQLite's lock.)
    def begin(self, lock_type=None):
        lock_type = lock_type or self._lock_type
        writes = lock_type and lock_type.upper() in ("IMMEDIATE", "EXCLUSIVE")
        if writes:
            self._writers.acquire(self._state, self._timeout)
        try:
            super().begin(lock_type)
        except BaseException:
            if writes:
                self._writers.release(self._state)
            raise

    def commit(self):
        try:
            super().commit()
        finally:
            if self._state.conn is None or not self._state.conn.in_transaction:
                self._writers.release(self._state)

    def _set_pragmas(self, conn):
        if not self.url.is_memory:
            self._set_wal(conn)
        super()._set_pragmas(conn)

    def _set_wal(self, conn):
        # Two connections switching a file to WAL at once can get SQLITE_BUSY
        # without the busy handler being called (deadlock avoidance): retry.
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = wal").fetchall()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    # Integrity errors ----------------------------------------------------
    def _translate_in_file(self, exc, sql, params):
        name = getattr(exc, "sqlite_errorname", "") or ""
        message = str(exc)
        if name == "SQLITE_CONSTRAINT_CHECK" or message.startswith("CHECK constraint"):
            m = _CHECK.search(message)
            constraint = m.group(1) if m else None
            table = self._table_of_constraint(constraint) if constraint else None
            return errors.violation("check", table=table, constraint=constraint)
        if name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
            m = _UNIQUE_COLS.search(message)
            if not m:
                return None
            schema, _table = _target(sql)
            prefix = f"{quote_ident(schema)}." if schema else ""
            named = re.fullmatch(r"index '(.+)'", m.group(1).strip())
            if named:                      # a unique index on expressions
                row = self.cursor().execute(
                    f"SELECT tbl_name FROM {prefix}sqlite_master WHERE type = 'index' "
                    f"AND name = ?", (named.group(1),)).fetchone()
                return errors.violation("unique", table=row[0] if row else None,
                                        constraint=named.group(1))
            cols = [c.strip() for c in m.group(1).split(",")]
            table = cols[0].split(".", 1)[0]
            columns = [c.split(".", 1)[1] for c in cols]
            constraint = self._unique_index_name(table, columns,
                                                 name == "SQLITE_CONSTRAINT_PRIMARYKEY", prefix)
            if constraint is None:
                # CREATE UNIQUE INDEX over duplicates: the index does not
                # exist yet, its name is in the statement
                created = _CREATE_INDEX.match(sql or "")
                if created:
                    constraint = created.group(1).replace('""', '"')
            return errors.violation("unique", table=table, constraint=constraint)
        if name == "SQLITE_CONSTRAINT_NOTNULL":
            m = _NOT_NULL.search(message)
            if not m:
                return None
            return errors.violation("not_null", table=m.group(1), constraint=None,
                                    column=m.group(2))
        if name == "SQLITE_CONSTRAINT_TRIGGER":
            # RAISE(ABORT) of an append-only guard; a RESTRICT action also
            # reports SQLITE_CONSTRAINT_TRIGGER ("FOREIGN KEY ...", below).
            refused = appendonly.violation_from_message(message)
            if refused is not None:
                return refused
        if name == "SQLITE_CONSTRAINT_FOREIGNKEY" or message.startswith("FOREIGN KEY"):
            # RESTRICT actions report SQLITE_CONSTRAINT_TRIGGER with this message.
            table, constraint = self._probe_foreign_key(sql, params)
            return errors.violation("foreign_key", table=table, constraint=constraint)
        return None

    def _translate(self, exc, sql, params):
        """The violation, a namespace's names as on PostgreSQL: one file holds
        every namespace, its tables and indexes prefixed (``dental__models``,
        see store.namespaces); the error says ``models``."""
        from .names import split_name, strip
        found = self._translate_in_file(exc, sql, params)
        namespace = split_name(getattr(found, "table", None) or "")[0]
        kind = next((k for k, c in errors.VIOLATIONS.items() if type(found) is c), None)
        if namespace is None or kind is None:
            return found
        return errors.violation(kind, table=strip(found.table, namespace),
                                constraint=strip(found.constraint, namespace),
                                column=getattr(found, "column", None))

    def _schemas(self):
        """``main`` and every attached database (store attaches none: one
        file holds every namespace)."""
        return [r[1] for r in self.cursor().execute("PRAGMA database_list").fetchall()
                if r[1] != "temp"]

    def _table_of_constraint(self, constraint):
        cursor = self.cursor()
        pattern = re.compile(r'CONSTRAINT\s+["`\[]?%s["`\]]?\s' % re.escape(constraint), re.I)
        for schema in self._schemas():
            rows = cursor.execute(
                f"SELECT name, sql FROM {quote_ident(schema)}.sqlite_master WHERE type = 'table' "
                f"AND sql LIKE ?", ('%' + constraint + '%',)).fetchall()
            for table, ddl in rows:
                if pattern.search(ddl or ""):
                    return table
        return None

    def _unique_index_name(self, table, columns, primary, prefix=""):
        cursor = self.cursor()
        for _, index, unique, origin, _partial in cursor.execute(
                f"PRAGMA {prefix}index_list({quote_ident(table)})").fetchall():
            if not unique:
                continue
            cols = [r[2] for r in cursor.execute(
                f"PRAGMA {prefix}index_info({quote_ident(index)})").fetchall()]
            if cols == columns:
                if origin == "pk":
                    return f"{table}_pkey"
                return index
        if primary:
            return f"{table}_pkey"     # INTEGER PRIMARY KEY has no index
        return None

    def _probe_foreign_key(self, sql, params):
        """Find which FK the failed statement broke.

        SQLite's message names no constraint. Re-run the statement inside a
        savepoint with foreign-key checks deferred, ask ``foreign_key_check``
        which row and which FK are broken, then roll the savepoint back:
        nothing of the statement remains.
        """
        conn = self._state.conn
        cursor = conn.cursor()
        outer = conn.in_transaction
        schema, _table = _target(sql)
        prefix = f"{quote_ident(schema)}." if schema else ""
        try:
            cursor.execute("SAVEPOINT store_fk_probe" if outer else "BEGIN")
            try:
                cursor.execute("PRAGMA defer_foreign_keys = ON")
                cursor.execute(sql, params or ())
                rows = cursor.execute(f"PRAGMA {prefix}foreign_key_check").fetchall()
            finally:
                if outer:
                    cursor.execute("ROLLBACK TO store_fk_probe")
                    cursor.execute("RELEASE store_fk_probe")
                    cursor.execute("PRAGMA defer_foreign_keys = OFF")
                else:
                    cursor.execute("ROLLBACK")
        except sqlite3.Error:
            # RESTRICT fires even when checks are deferred: find the child.
            return self._probe_referencing(sql, params)
        if not rows:
            return self._probe_referencing(sql, params)
        table, _rowid, parent, fkid = rows[0]
        column = None
        for row in cursor.execute(f"PRAGMA {prefix}foreign_key_list({quote_ident(table)})"):
            if row[0] == fkid:
                column = row[3]
                break
        return table, self._foreign_key_name(table, column, parent, schema)

    def _probe_referencing(self, sql, params):
        """For a DELETE of referenced rows: which child FK still points at them."""
        m = re.match(r'\s*DELETE FROM (?:"([^"]+)"\.)?"([^"]+)"(.*)$', sql or "", re.S | re.I)
        if not m:
            return None, None
        schema, parent, where = m.group(1), m.group(2), m.group(3)
        prefix = f"{quote_ident(schema)}." if schema else ""
        cursor = self._state.conn.cursor()
        tables = [r[0] for r in cursor.execute(
            f"SELECT name FROM {prefix}sqlite_master WHERE type = 'table'").fetchall()]
        for child in tables:
            for row in cursor.execute(f"PRAGMA {prefix}foreign_key_list({quote_ident(child)})").fetchall():
                if row[2] != parent:
                    continue
                column, ref = row[3], row[4] or "rowid"
                probe = ('SELECT 1 FROM %s"%s" WHERE "%s" IN (SELECT "%s"."%s" FROM %s"%s"%s) LIMIT 1'
                         % (prefix, child, column, parent, ref, prefix, parent, where))
                try:
                    hit = cursor.execute(probe, params or ()).fetchone()
                except sqlite3.Error:
                    continue
                if hit:
                    return child, self._foreign_key_name(child, column, parent, schema)
        return None, None

    def _foreign_key_name(self, table, column, parent, schema=None):
        prefix = f"{quote_ident(schema)}." if schema else ""
        row = self.cursor().execute(
            f"SELECT sql FROM {prefix}sqlite_master WHERE type = 'table' AND name = ?",
            (table,)).fetchone()
        if row and row[0] and column:
            m = re.search(r'CONSTRAINT\s+"([^"]+)"\s+FOREIGN KEY\s*\(\s*"%s"\s*\)'
                          % re.escape(column), row[0], re.I)
            if m:
                return m.group(1)
        return f"fk_{table}_{column}_{parent}" if column else None


_TARGET = re.compile(r'\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM)\s+'
                     r'(?:"([^"]+)"\.)?"([^"]+)"', re.I)


def _target(sql):
    """(schema or None, table) a write statement names."""
    m = _TARGET.match(sql or "")
    return (m.group(1), m.group(2)) if m else (None, None)


# --- PostgreSQL ---------------------------------------------------------------

_PG_KINDS = {"23514": "check", "23505": "unique", "23503": "foreign_key",
             "23502": "not_null"}


class _PostgresContext(_StoreContextMixin, Context):
    """Renders for psycopg, whose placeholders are ``%s``.

    * A ``%`` in the SQL text (``SQL("'100%'")``, a CHECK's ``LIKE '%@%'``,
      an identifier, a literal inlined in DDL) is written ``%%``, so that it
      means itself whether the statement has parameters or not, as it does
      on SQLite (peewee wrote it as is, and psycopg then read it as a broken
      placeholder in any statement with parameters). ``SQL(text, params)``
      is the exception: its text is the caller's, with psycopg's own
      placeholders, and is passed as written.
    * PostgreSQL runs LIKE/ILIKE itself; a pattern known at render time that
      ends with its escape character is refused before the database is
      touched (``ValidationError``), the same way as on SQLite.
    * Text is ordered and compared by code point (``COLLATE "C"``, ``USING
      ~<~`` in a SELECT DISTINCT), case is folded by ICU's root locale
      (``COLLATE "und-x-icu"``: lower, upper, ILIKE), integer arithmetic is
      64-bit and x / 0 is NULL, AVG of integers and floats a float, SUM of
      a bigint an int, ``DateField.truncate()`` a naive datetime: as on
      SQLite, whatever the database's locale (see "query rendering").
    """
    __slots__ = ()

    def as_new(self):
        return type(self)(**self.state.settings)

    def literal(self, keyword):
        if "%" in keyword and keyword != "%s":      # "%s": the placeholder itself
            keyword = keyword.replace("%", "%%")
        return super().literal(keyword)

    def sql(self, obj):
        if not isinstance(obj, _REWRITTEN):            # columns, values, aliases, ...
            if isinstance(obj, SQL) and obj.params:
                Context.literal(self, obj.sql)        # the caller's psycopg text
                for param in obj.params:
                    self.value(param, False, add_param=False)
                return self
            return super().sql(obj)
        self._store_check(obj)
        collate = not self.state.store_code_point_collation
        if isinstance(obj, Expression):
            obj = _pg_expression(obj, collate)
        elif isinstance(obj, peewee.Function):
            return self._function(obj)
        elif _is_over(obj):                     # fn.X(...).over(...): X's rewrite, then OVER
            self._store_check(obj.nodes[0])
            return self._function(obj.nodes[0], over=obj.nodes[2])
        elif isinstance(obj, peewee.CompoundSelectQuery):
            pass    # its ORDER BY names output columns only: PostgreSQL refuses COLLATE there
        elif isinstance(obj, peewee.SelectBase) and getattr(obj, "_order_by", None):
            distinct = bool(getattr(obj, "_simple_distinct", None)) \
                or getattr(obj, "_distinct", None) is not None
            order = [_pg_text_order(item, distinct, collate)
                     for item in obj._order_by]
            if any(a is not b for a, b in zip(order, obj._order_by)):
                obj = obj.clone()
                obj._order_by = order
        elif isinstance(obj, peewee.Window) and obj.order_by:
            obj = _with_window_order(obj, [_pg_text_order(item, False, collate)
                                           for item in obj.order_by])
        return super().sql(obj)

    def _function(self, func, over=None):
        """``func`` rewritten where its meaning differs; ``over``: the window
        of ``func.over(...)``, rendered inside a CAST that wraps the call."""
        name = (func.name or "").lower()
        args = func.arguments or ()
        if name in _CASE_FUNCTIONS and len(args) == 1 and not isinstance(args[0], _Collate):
            func = _with_function(func, func.name, (_Collate(args[0], "und-x-icu"),))
        elif name == "abs" and len(args) == 1 and _field_type(args[0]) in _NARROW_INT_TYPES:
            func = _with_function(func, func.name, (_Widen(args[0]),))
        elif name == "round" and args and _field_type(args[0]) in _FLOAT_TYPES:
            # round(double) rounds half to even and takes no digits; SQLite
            # rounds half away from zero, as round(numeric) does
            self.literal("CAST(")
            _with_function(func, func.name,
                           (peewee.Cast(args[0], "numeric"),) + tuple(args[1:])).__sql__(self)
            return self.literal(" AS double precision)")
        elif name in ("min", "max") and len(args) == 1 and _is_text(args[0]) \
                and not self.state.store_code_point_collation:
            func = _with_function(func, func.name, (_Collate(args[0], "C"),))
        elif name == "date_trunc":
            truncated = _date_trunc_of_date(func)
            if truncated is not None:
                func = _with_function(func, func.name,
                                      (args[0], peewee.Cast(truncated[1], "timestamp")))
        elif name in ("avg", "sum") and len(args) == 1 and not func._filter:
            kind = _field_type(args[0])
            cast = ("double precision" if name == "avg" and kind in _NUMERIC_TYPES
                    and kind not in ("DECIMAL", "EXACT_DECIMAL")
                    else "bigint" if name == "sum" and kind in ("BIGINT", "BIGAUTO") else None)
            if cast:
                self.literal("CAST(")
                self._over(func, over)
                return self.literal(f" AS {cast})")
        return self._over(func, over)

    def _over(self, func, over):
        func.__sql__(self)
        return self if over is None else self.literal(" OVER ").sql(over)


def _is_code_point(collate: str, provider: str) -> bool:
    """Whether a database collation orders text by code point (``c``: libc)."""
    return provider == "c" and collate.lower().replace("-", "") in ("c", "posix", "c.utf8")


def _is_over(node) -> bool:
    """``fn.X(...).over(...)``: peewee's ``NodeList((call, SQL("OVER"), window))``."""
    if type(node) is not peewee.NodeList or len(node.nodes) != 3:
        return False
    call, keyword, _ = node.nodes
    return isinstance(call, peewee.Function) and isinstance(keyword, SQL) \
        and keyword.sql == "OVER"


class _Widen(peewee.WrappedNode):
    """``CAST(x AS bigint)`` of an int/smallint operand (converter kept)."""

    def __sql__(self, ctx):
        return ctx.literal("CAST(").sql(self.node).literal(" AS bigint)")


class _ZeroIsNull(peewee.WrappedNode):
    """``NULLIF(divisor, 0)``: x / 0 and x % 0 are NULL, as on SQLite."""

    def __sql__(self, ctx):
        return ctx.literal("NULLIF(").sql(self.node).literal(", 0)")


def _pg_expression(expr, collate=True):
    """``expr`` as it means on SQLite; ``collate``: text comparisons need
    ``COLLATE "C"`` (the database's own collation is not code-point order)."""
    op = expr.op
    if op in (OP.LIKE, OP.ILIKE):
        _like_operands(expr)
        if op == OP.ILIKE and not isinstance(expr.lhs, _Collate):
            return Expression(_Collate(expr.lhs, "und-x-icu"), op, expr.rhs, expr.flat)
        return expr
    if collate and op in _RANGE and _is_text(expr.lhs):
        return Expression(_Collate(expr.lhs, "C"), op, expr.rhs, expr.flat)
    lhs = expr.lhs
    if collate and op in _RANGE and type(lhs) is NodeList and lhs.parens \
            and lhs.glue.strip() == "," and any(_is_text(n) for n in lhs.nodes):
        # a row comparison (keyset pagination: (a, b) > (x, y)) in the
        # order ORDER BY a, b gives
        lhs = NodeList([_Collate(n, "C") if _is_text(n) else n for n in lhs.nodes],
                       glue=lhs.glue, parens=True)
        return Expression(lhs, op, expr.rhs, expr.flat)
    if op in _ARITHMETIC and not isinstance(expr.lhs, _Widen) \
            and not isinstance(expr.rhs, (_Widen, _ZeroIsNull)):
        lhs, rhs = expr.lhs, expr.rhs
        widened = False
        if _field_type(lhs) in _NARROW_INT_TYPES:
            lhs, widened = _Widen(lhs), True
        if _field_type(rhs) in _NARROW_INT_TYPES:
            rhs, widened = _Widen(rhs), True
        if op in (OP.DIV, OP.MOD):
            rhs = _ZeroIsNull(rhs)
        elif not widened:
            return expr
        return Expression(lhs, op, rhs, expr.flat)
    return expr


def _pg_text_order(item, distinct: bool, collate: bool = True):
    """An ORDER BY term on text in code-point order (``COLLATE "C"``; in a
    SELECT DISTINCT, whose ORDER BY must be a select-list expression, the
    byte-order operators ``~<~``/``~>~``, the same order in UTF-8)."""
    ordering = item if isinstance(item, peewee.Ordering) else None
    node = ordering.node if ordering is not None else item
    if not collate or (ordering is not None and ordering.collation) or not _is_text(node):
        return item
    direction = (ordering.direction if ordering is not None else "ASC").upper()
    nulls = ordering.nulls if ordering is not None else None
    if direction not in ("ASC", "DESC"):
        return item
    if distinct:
        return peewee.Ordering(node, "USING ~<~" if direction == "ASC" else "USING ~>~",
                               nulls=nulls)
    return peewee.Ordering(node, direction, '"C"', nulls=nulls)


class PostgresStore(StoreDatabaseMixin, peewee.PostgresqlDatabase):
    features = POSTGRES_FEATURES
    context_class = _PostgresContext
    field_types = {**peewee.PostgresqlDatabase.field_types,
                   "EXACT_DECIMAL": "NUMERIC", "TIMESTAMPTZ": "TIMESTAMPTZ"}

    def __init__(self, url: DatabaseURL | str, **kwargs):
        """``url``: a parsed URL, a ``postgresql://`` URL, or a database name
        with peewee's keyword arguments (``host=``, ``port=``, ``user=``,
        ``password=``, and psycopg's connection options)."""
        if isinstance(url, str) and "://" not in url:
            port = kwargs.pop("port", None)
            url = DatabaseURL("postgresql", url, user=kwargs.pop("user", None),
                              password=kwargs.pop("password", None),
                              host=kwargs.pop("host", None), port=int(port) if port else None)
        url = parse_url(url)
        kwargs.pop("prefer_psycopg3", None)      # store always uses psycopg 3
        self.url = url
        params = url.connect_params()
        params.update(kwargs)
        super().__init__(url.database, prefer_psycopg3=True, **params)

    # Session settings ----------------------------------------------------
    # Every connection store opens runs in UTC, whatever the server, the
    # database (ALTER DATABASE ... SET timezone), the role, PGTZ or the URL's
    # options say: date_trunc, ::date, date_part and the text of a
    # timestamptz then mean what they mean on SQLite, where timestamps are
    # UTC text (DateTimeTZField reads values back as UTC on both anyway).
    SESSION_SETTINGS = "SET TIME ZONE 'UTC'"

    # Text order: the contexts render COLLATE "C" on text comparisons and
    # ORDER BY (code-point order, as SQLite's BINARY) -- unless the
    # database's own collation already is code-point order (libc C, POSIX,
    # C.UTF-8), where COLLATE "C" would change nothing but keep PostgreSQL
    # from using the columns' indexes for ORDER BY and ranges (measured,
    # 200,000 rows: ORDER BY name LIMIT 10 0.07 ms with the index, 127 ms
    # with COLLATE "C"). Read once per database, on its first connection;
    # until then (a query rendered before any connection) COLLATE is added.
    _code_point_collation = None

    def _connect(self):
        conn = super()._connect()
        try:
            conn.execute(self.SESSION_SETTINGS)      # autocommit: no transaction left open
            if self._code_point_collation is None:
                row = conn.execute(
                    "SELECT datcollate, datlocprovider FROM pg_database "
                    "WHERE datname = current_database()").fetchone()
                self._code_point_collation = bool(row) and _is_code_point(*row)
        except BaseException:
            conn.close()
            raise
        return conn

    def get_context_options(self):
        options = super().get_context_options()
        options["store_code_point_collation"] = self._code_point_collation
        return options

    def execute_sql(self, sql, params=None):
        # peewee hands psycopg ``params or ()``: with a tuple, even an empty
        # one, psycopg reads every % as a placeholder, so DDL such as
        # CHECK (email LIKE '%@%') failed. No parameters: % means itself.
        if not params and "%" in sql:
            sql = sql.replace("%", "%%")
        return super().execute_sql(sql, params)

    def execute(self, query, **context_options):
        # rendered by _PostgresContext: every % of its text is escaped already
        sql, params = self.get_sql_context(**context_options).sql(query).query()
        return StoreDatabaseMixin.execute_sql(self, sql, params)

    def _translate(self, exc, sql, params):
        sqlstate = getattr(exc, "sqlstate", None) or ""
        if sqlstate == appendonly.PG_SQLSTATE:      # an append-only guard, else None
            return appendonly.violation_from_message(exc.diag.message_primary,
                                                     exc.diag.constraint_name)
        kind = _PG_KINDS.get(sqlstate)
        if kind is None:
            return None
        diag = exc.diag
        return errors.violation(kind, table=diag.table_name,
                                constraint=None if kind == "not_null" else diag.constraint_name,
                                column=diag.column_name)


class PooledPostgresStore(_PooledPostgresqlDatabase, PostgresStore):
    """PostgresStore with peewee's connection pool (``?pool=true``)."""

    def __init__(self, url: DatabaseURL, **kwargs):
        super().__init__(url, max_connections=_number(url, "max_connections", 20),
                         stale_timeout=_number(url, "stale_timeout", None),
                         timeout=_number(url, "timeout", None), **kwargs)


# --- opening ------------------------------------------------------------------

def open_database(url: str | DatabaseURL, **kwargs):
    """Build (not yet connect) the store Database for ``url``."""
    parsed = parse_url(url)
    if parsed.backend == "sqlite":
        return SqliteStore(parsed, **kwargs)
    flag = str(parsed.option("pool", "false")).lower()
    if flag not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise errors.ConfigError(f"database URL option pool={flag!r} must be true or false")
    pool = flag in ("1", "true", "yes", "on")
    return (PooledPostgresStore if pool else PostgresStore)(parsed, **kwargs)
