"""Fast paths for the hot loops: bulk insert, lookup and update by primary key.

    from store.fast import bulk_insert, get_by_pk, update_by_pk

    bulk_insert(Forecast, rows)               # rows: dicts (or model instances)
    forecast = get_by_pk(Forecast, "F1")      # == Forecast.get_by_id("F1")
    fetch(Forecast.select().where(...))       # == list(that query)
    update_by_pk(Forecast, "F1", {"peak_week": 3})   # == Forecast.update(...).where(pk == ...)

Peewee builds the SQL of every query again on every call, and that is most of
its cost. Here the SQL text is rendered by peewee once per model, column set
and backend, cached, and fed with converted values straight to the driver
(``executemany``; PostgreSQL ``COPY`` for large loads). The drivers reuse
the statement: sqlite3 keeps a per-connection cache of prepared statements,
and psycopg 3 prepares a query on the server after 5 executions of it.

What is kept exactly as the ORM path (``store.Model``) does it, and tested
by parity tests on both backends:

* every value a caller gives is checked by the field's ``validate()`` and
  converted by its ``db_value()`` (a bad one raises the same
  ``store.ValidationError`` naming ``table.column``), for all rows of a
  ``bulk_insert`` before its first statement or ``COPY`` is sent, so a
  refused value leaves the table as it was and the connection usable, on
  both backends, inside a caller's transaction or not; a missing one takes
  the field's Python default (a callable is called per row) as peewee's
  insert does, else NULL for a nullable field, else ``ValueError``;
* the stored values: the same bytes as ``Model.insert_many`` /
  ``Model.update`` store, on SQLite and PostgreSQL, by ``executemany`` or
  ``COPY``;
* database refusals are the same ``store.CheckViolation``,
  ``UniqueViolation``, ``ForeignKeyViolation``, ``NotNullViolation`` with
  the same table and constraint names;
* ``get_by_pk`` returns an instance ``==`` to ``Model.get_by_id`` with the
  same ``__data__`` (each column through the field's ``python_value``);
* ``update_by_pk`` refreshes ``auto_now`` fields as ``Model.update`` does.

How it stays fast without changing a result: for store's own field types a
value of the plain expected Python type that is already valid is passed as it
is (``"abc"`` to a ``TextField``, a float that is not NaN to a
``FloatField``, a ``date`` to a ``DateField``: what ``db_value`` would
return), and anything else goes through ``validate()`` + ``db_value()``;
JSON is encoded once (the ORM path encodes it twice: validate, then
write). Two shortcuts are proved on the running database before they are
used, else the plain path is taken: on SQLite, compact JSON text equals what
the ORM path's ``json(text)`` stores (so no ``json()`` call per row), and
the aware timestamp text equals ``DateTimeTZField.db_value``.

Differences from ``Model.insert_many``, on purpose: ``bulk_insert`` takes
values, not SQL expressions (a ``peewee.Node`` value raises ``TypeError``);
a row with a field the first row lacks raises ``ValueError`` (peewee ignores
the value silently); the whole call is one transaction (a savepoint inside
the caller's), so a row the database refuses (a CHECK, UNIQUE, FOREIGN KEY
or NOT NULL violation) leaves nothing of the call behind.
"""
from __future__ import annotations

import datetime as _dt
import inspect
import json
import threading
import weakref

import peewee
from peewee import Node, Value, fn

from . import fields as F
from .errors import ConfigError

__all__ = ["bulk_insert", "get_by_pk", "update_by_pk", "fetch", "clear_cache",
           "COPY_THRESHOLD", "BATCH_SIZE"]

#: Rows from which ``bulk_insert`` uses COPY on PostgreSQL (``copy=None``).
COPY_THRESHOLD = 1000
#: Rows sent per ``executemany`` / ``COPY`` (one savepoint each); all rows
#: are validated and converted before the first batch is sent.
BATCH_SIZE = 10_000

UTC = _dt.timezone.utc
_EXC = peewee.__exception_wrapper__
_MISSING = object()
_PLANS: dict = {}
_PROBES: dict = {}
_CURSORS = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def clear_cache():
    """Forget every cached statement (after changing a model's fields)."""
    with _LOCK:
        _PLANS.clear()


# --- the database behind a model --------------------------------------------------

def _database(model):
    db = model._meta.database
    if db is None or not hasattr(db, "features"):
        raise ConfigError(f"{model.__name__} is not bound to a store database "
                          "(store.connect(url, models=[...]))")
    return db


def _translated(db, exc, sql, params):
    """The typed store error for a driver error, as ``execute_sql`` raises it."""
    if isinstance(exc, peewee.IntegrityError):
        driver_exc = getattr(exc, "orig", None) or exc
        translated = db._translate(driver_exc, sql, params)
        if translated is not None:
            translated.orig = driver_exc
            translated.__cause__ = driver_exc
            return translated
    if isinstance(exc, peewee.PeeweeException):
        db._mask_exception(exc)
    return exc


def _cursor(db):
    """One cursor per driver connection, reused: a new psycopg cursor sets
    up its adapters again (about 30 us a statement); sqlite3's is cheap
    either way. Connections are per thread in peewee, so is the cursor."""
    if db.is_closed():
        db.cursor()                            # connects, or refuses, as peewee does
    conn = db._state.conn
    try:
        return _CURSORS[conn]
    except KeyError:
        cursor = _CURSORS[conn] = conn.cursor()
        return cursor
    except TypeError:                          # pragma: no cover - no weak references
        return conn.cursor()


def _execute(db, sql, params):
    """``cursor.execute`` with the errors ``db.execute_sql`` would raise."""
    cursor = _cursor(db)
    try:
        cursor.execute(sql, params)
    except Exception as exc:
        try:
            with _EXC:                         # the driver's error as peewee's
                raise
        except peewee.PeeweeException as wrapped:
            raise _translated(db, wrapped, sql, params) from exc
    return cursor


def _render(db, query):
    return db.get_sql_context().sql(query).query()[0]


def _render_params(db, query):
    """SQL text and its parameter list (placeholder markers) from peewee."""
    return db.get_sql_context().sql(query).query()


def _quoted(db, *names):
    return ", ".join(_render(db, peewee.Entity(n)) for n in names)


# --- shortcuts proved on the running database ---------------------------------------

_COMPACT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_JSON_PROBE = {"s": "caf\u00e9 \"q\" \\ \n\t\x01 \U0001F600 /", "n": [0, -1, 2.5, -0.0, 1e16,
               1.5e-07, 12345678901234567890, True, False, None], "o": {"": {}, "k": []}}


def _compact_json_ok(db) -> bool:
    """Whether SQLite's ``json(text)`` of store's JSON is Python's compact JSON."""
    key = ("json", db.features.name)
    if key not in _PROBES:
        text = json.dumps(_JSON_PROBE, ensure_ascii=False)
        stored = db.cursor().execute("SELECT json(?)", (text,)).fetchone()[0]
        _PROBES[key] = stored == _COMPACT.encode(_JSON_PROBE)
    return _PROBES[key]


def _timestamp_text(value):
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") + "+00:00"


def _timestamp_text_ok(field) -> bool:
    probes = (_dt.datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC),
              F.TIMESTAMP_MIN, F.TIMESTAMP_MAX, _dt.datetime(2024, 1, 1, tzinfo=UTC))
    return all(field.db_value(p) == _timestamp_text(p) for p in probes)


# --- converting one value the way the ORM path does ---------------------------------

def _is(field, cls, *methods):
    """The field's class uses ``cls``'s own ``methods`` (not overridden)."""
    kind = type(field)
    return isinstance(field, cls) and all(
        getattr(kind, m) is getattr(cls, m) for m in methods)


def _node_error(field):
    return TypeError(f"{field.model._meta.table_name}.{field.column_name}: fast paths take "
                     "values, not SQL expressions; use the model's insert/update for those")


def _checked(field):
    """``validate()`` then ``db_value()``: the ORM path's write conversion."""
    validate = getattr(field, "validate", None)
    db_value = field.db_value

    def convert(value):
        if isinstance(value, Node):
            raise _node_error(field)
        if validate is not None:
            validate(value)
        return db_value(value)
    return convert


def _converted(field):
    """``db_value()`` alone, for fields whose ``db_value`` raises exactly
    what their ``validate`` raises (enum, UUID, aware timestamp)."""
    db_value = field.db_value

    def convert(value):
        if isinstance(value, Node):
            raise _node_error(field)
        return db_value(value)
    return convert


def _compact_encoder():
    """Python's C JSON encoder made once (``json.dumps`` makes one per call),
    compact, non-ASCII as itself (as ``JSONField`` writes it), NaN refused. No
    circular-reference bookkeeping, so it holds no state and threads may share
    it; a cycle ends in RecursionError, turned into the field's own error by
    ``JSONField._strict_dumps``."""
    try:
        from json.encoder import c_make_encoder, encode_basestring
    except ImportError:                         # pragma: no cover - pure-Python json
        c_make_encoder = None
    if c_make_encoder is None:                  # pragma: no cover
        return _COMPACT.encode
    make = c_make_encoder(None, _COMPACT.default, encode_basestring, None,
                          ":", ",", False, False, False)
    join = "".join

    def encode(value):
        return join(make(value, 0))
    return encode


_ENCODE = _compact_encoder()


def _json_text(field, compact):
    """JSON text of a value, encoded once; errors are the field's own."""
    dumps = field._dumps
    own = getattr(dumps, "__func__", None) is F.JSONField._strict_dumps
    if not (own and compact):
        def convert(value):
            if value is None:
                return None
            if isinstance(value, Node):
                raise _node_error(field)
            return dumps(value)                # validates (raises ValidationError)
        return convert
    encode = _ENCODE

    def convert(value):
        if value is None:
            return None
        if isinstance(value, Node):
            raise _node_error(field)
        return dumps(value, encode)            # the field's checks and document, compact
    return convert


def _timestamp(field, backend):
    db_value = field.db_value
    fast = _timestamp_text if backend == "sqlite" else None
    datetime = _dt.datetime

    low, high = F.TIMESTAMP_MIN, F.TIMESTAMP_MAX

    def convert(value):
        if value.__class__ is datetime and value.tzinfo is UTC and low <= value <= high:
            return fast(value) if fast is not None else value
        if isinstance(value, Node):
            raise _node_error(field)
        return db_value(value)
    return convert


def _pass_guard(field):
    """A Python expression over ``{v}``, true only when ``v`` is what
    ``db_value(v)`` returns and ``validate(v)`` accepts; or None."""
    if isinstance(field, peewee.ForeignKeyField):
        if not _is(field, peewee.ForeignKeyField, "db_value"):
            return None
        own = getattr(type(field), "validate", None)
        if own is None:                        # peewee's: not validated
            return _plain_guard(field.rel_field, unchecked=True)
        if own is getattr(F.ForeignKeyField, "validate", None):
            return _pass_guard(field.rel_field)    # validated as the referenced key
        return None
    if _is(field, F._TextMixin, "validate") and _is(field, peewee._StringField, "adapt", "db_value"):
        guard = '{v}.__class__ is str and {v}.isascii() and "\\x00" not in {v}'
        if getattr(field, "max_length", None):
            guard += " and len({v}) <= %d" % int(field.max_length)
        return guard
    if _is(field, F._IntegerMixin, "validate") and _is(field, peewee.IntegerField, "adapt", "db_value"):
        low, high = F._INT_RANGES[field.field_type]
        return "{v}.__class__ is int and %d <= {v} <= %d" % (low, high)
    if (getattr(type(field), "validate", None) is F.FloatField.validate
            and getattr(type(field), "db_value", None) is F.FloatField.db_value
            and _is(field, peewee.FloatField, "adapt")):
        return "{v}.__class__ is float and {v} == {v} and {v} != 0"   # not NaN, not -0.0
    if (getattr(type(field), "validate", None) is getattr(F.DateField, "validate", _MISSING)
            and _is(field, peewee.DateField, "adapt", "db_value")):
        return "{v}.__class__ is DATE"
    if isinstance(field, F.StoreField) and not _is(field, F.StoreField, "validate"):
        return None
    return _plain_guard(field)


def _plain_guard(field, unchecked=False):
    """The guard of a field with no validation of its own (or whose
    validation is not applied: ``unchecked``)."""
    if not unchecked and getattr(type(field), "validate", None) not in (None, F.StoreField.validate):
        return None
    for cls, kind in ((peewee._StringField, "str"), (peewee.IntegerField, "int"),
                      (peewee.FloatField, "float"), (peewee.BooleanField, "bool")):
        if _is(field, cls, "adapt", "db_value"):
            return "{v}.__class__ is %s" % kind
    return None


class _Writer:
    """How one column's value goes to the driver.

    ``convert(value)`` is the ORM path's conversion (``validate`` then
    ``db_value``, or a fused equivalent) and accepts anything, None too;
    ``guard`` (a Python expression over ``v``, or None) is true when ``v``
    can be sent as it is; ``placeholder`` is ``"json"`` when the SQL must
    wrap the parameter in SQLite's ``json()`` as the ORM path does;
    ``db_value`` converts without validating (defaults, as peewee does).
    """

    def __init__(self, field, db):
        backend = db.features.name
        self.field = field
        self.guard = None
        self.placeholder = None
        if isinstance(field, F.JSONField) and _is(field, F.JSONField, "validate", "db_value"):
            compact = backend != "sqlite" or _compact_json_ok(db)
            self.convert = _json_text(field, compact)
            if backend == "sqlite" and not compact:
                self.placeholder = "json"
        elif _is(field, F.DateTimeTZField, "validate", "db_value"):
            ok = backend != "sqlite" or _timestamp_text_ok(field)
            self.convert = _timestamp(field, backend) if ok else _converted(field)
        elif (_is(field, F.EnumField, "validate", "db_value")
              or _is(field, F.UUIDField, "validate", "db_value")):
            self.convert = _converted(field)
        else:
            self.guard = _pass_guard(field)
            self.convert = _checked(field)
            self.db_value = field.db_value
            return
        self.db_value = self.convert           # these validate inside db_value anyway

    def param(self, placeholder_node):
        return fn.json(placeholder_node) if self.placeholder == "json" else placeholder_node


# --- bulk insert -----------------------------------------------------------------------

def _columns_of(model, first):
    """The insert's fields, from the first row (and the defaults) as peewee does."""
    meta = model._meta
    if isinstance(first, peewee.Model):
        fields = [f for f in meta.sorted_fields
                  if not (meta.auto_increment and f is meta.primary_key)]
        return fields, tuple(f.name for f in fields)
    if not isinstance(first, dict):
        raise TypeError(f"{model.__name__}: bulk_insert rows are dicts or "
                        f"{model.__name__} instances, got {type(first).__name__}")
    chosen, keys = {}, {}
    for key in first:
        field = key if isinstance(key, peewee.Field) else meta.combined.get(key)
        if field is None or field.model is not model:
            raise ValueError(f'{model.__name__}: unrecognized field name: "{key}"')
        chosen[field] = None
        keys.setdefault(field, key)
    for field in meta.defaults:
        chosen.setdefault(field, None)
    order = {f: i for i, f in enumerate(meta.sorted_fields)}
    fields = sorted(chosen, key=order.__getitem__)
    return fields, tuple(keys.get(f, f.name) for f in fields)


def _slow_row(model, fields, keys, writers):
    """Parameters of a row lacking some usual key: the value under another
    key peewee accepts, else the default (a callable called), else NULL for a
    nullable field, else ValueError (peewee's rules). Defaults are converted
    with ``db_value`` and not validated, as by ``Model.insert_many``."""
    defaults = model._meta.defaults
    plan = [(f, (k, f, f.name, f.column_name), w.convert, w.db_value, defaults.get(f, _MISSING))
            for f, k, w in zip(fields, keys, writers)]

    def convert(row):
        out = []
        for field, lookups, conv, db_value, default in plan:
            for lookup in lookups:
                if lookup in row:
                    out.append(conv(row[lookup]))
                    break
            else:
                if default is not _MISSING:
                    out.append(db_value(default() if callable(default) else default))
                elif field.null:
                    out.append(None)
                else:
                    raise ValueError(f"Missing value for {field.name}.")
        return tuple(out)
    return convert


def _key_checker(model, fields, keys):
    names = {k for k in keys if isinstance(k, str)} | {f.name for f in fields} \
        | {f.column_name for f in fields}
    ids = {id(f) for f in fields}               # Fields by identity (== is SQL)

    def check(row):
        for key in row:
            if key not in names if isinstance(key, str) else id(key) not in ids:
                raise ValueError(f"{model.__name__}: a row has {key!r}, which the first row "
                                 "lacks (bulk_insert takes its columns from the first row "
                                 "and the fields' defaults)")
    return check


def _compile_rows(model, fields, keys, writers):
    """A function converting a list of dict rows to parameter tuples: one
    unrolled statement per column, no per-value loop or dispatch."""
    n = len(fields)
    names = ", ".join(f"v{i}" for i in range(n))
    ns = {"len": len, "DATE": _dt.date, "slow": _slow_row(model, fields, keys, writers),
          "check": _key_checker(model, fields, keys)}
    lines = ["def convert(rows, append):", "    for row in rows:", "        try:"]
    for i, key in enumerate(keys):
        ns[f"K{i}"] = key
        lines.append(f"            v{i} = row[K{i}]")
    lines += ["        except KeyError:", "            append(slow(row))", "        else:"]
    for i, w in enumerate(writers):
        ns[f"C{i}"] = w.convert
        if w.guard is None:
            lines.append(f"            v{i} = C{i}(v{i})")
        else:
            lines.append(f"            if not ({w.guard.format(v=f'v{i}')}):")
            lines.append(f"                v{i} = C{i}(v{i})")
    lines += [f"            append(({names},))",
              f"        if len(row) != {n}:", "            check(row)"]
    exec(compile("\n".join(lines), f"<store.fast insert {model.__name__}>", "exec"), ns)
    return ns["convert"]


class _InsertPlan:
    def __init__(self, model, db, fields, keys):
        self.fields = fields
        self.writers = [_Writer(f, db) for f in fields]
        row = tuple(w.param(Value(i, converter=False)) for i, w in enumerate(self.writers))
        self.sql, order = _render_params(
            db, peewee.ModelInsert(model, [row], columns=fields, returning=()))
        if order != list(range(len(fields))):      # peewee keeps columns= in order
            raise RuntimeError(f"unexpected parameter order {order!r} in {self.sql}")
        meta = model._meta
        table = peewee.Entity(*[p for p in (meta.schema, meta.table_name) if p])
        self.copy_sql = (f"COPY {_render(db, table)} "
                         f"({_quoted(db, *[f.column_name for f in fields])}) FROM STDIN")
        self.convert_dicts = _compile_rows(model, fields, keys, self.writers)
        self.instance_names = [f.name for f in fields]

    def convert(self, rows, append=None):
        """Parameter tuples of ``rows`` (every value validated and
        converted), given to ``append`` one by one or returned as a list."""
        if rows and isinstance(rows[0], peewee.Model):
            names = self.instance_names
            rows = [{n: r.__data__.get(n) for n in names} for r in rows]
        if append is not None:
            return self.convert_dicts(rows, append)
        out = []
        self.convert_dicts(rows, out.append)
        return out


def _cached(kind, model, extra, make):
    """The plan ``make(model, db, extra)`` for the model's database, built
    once per backend, table and ``extra`` (the column keys)."""
    meta = model._meta
    try:
        backend = meta.database.features.name
    except AttributeError:
        _database(model)                       # raises the ConfigError
        raise
    key = (kind, model, backend, meta.schema, meta.table_name, extra)
    plan = _PLANS.get(key)
    if plan is None:
        plan = make(model, _database(model), extra)
        with _LOCK:
            _PLANS[key] = plan
    return plan


def bulk_insert(model, rows, *, batch_size: int = BATCH_SIZE, copy: bool | None = None) -> int:
    """Insert ``rows`` (dicts keyed by field name, column name or Field, or
    model instances) into ``model``'s table; return how many.

    All or nothing: every value of every row is validated and converted
    before anything is sent (a refused one raises ``store.ValidationError``
    naming ``table.column``, the database untouched), then the rows go in
    one transaction (a savepoint inside the caller's); a row the database
    refuses rolls all of them back and leaves the connection usable. The
    columns are the first row's plus every field with a default (peewee's
    rule). SQLite: one prepared INSERT fed to ``executemany`` per batch.
    PostgreSQL: ``COPY ... FROM STDIN`` when ``copy`` is true, or when it is
    None and there are at least ``COPY_THRESHOLD`` rows; else
    ``executemany`` (psycopg 3 pipelines it). Both store the same values.
    """
    rows = rows if isinstance(rows, (list, tuple)) else list(rows)
    if not rows:
        return 0
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    fields, keys = _columns_of(model, rows[0])
    plan = _cached("insert", model, keys, lambda m, db, _k: _InsertPlan(m, db, fields, keys))
    db = model._meta.database
    use_copy = db.features.name == "postgresql" and (
        copy if copy is not None else len(rows) >= COPY_THRESHOLD)
    if copy and not use_copy:
        raise ConfigError("COPY needs PostgreSQL")
    send = _send_copy if use_copy else _send_many
    # Every value is validated and converted before anything is sent, as
    # Model.insert_many does: a refused value touches no table, and no
    # statement (no COPY) is ever left half-sent by it.
    batches = [plan.convert(rows[start:start + batch_size])
               for start in range(0, len(rows), batch_size)]
    with db.atomic():
        for params in batches:
            try:
                with db.atomic():
                    send(db, plan, params)
            except (peewee.IntegrityError, peewee.DataError) as exc:
                _replay(db, plan, params, exc)
    return len(rows)


def _send_many(db, plan, params):
    with _EXC:
        _cursor(db).executemany(plan.sql, params)


class _CopyAborted(Exception):
    """Raised in a COPY block in place of the real error (see ``_send_copy``)."""


def _send_copy(db, plan, params):
    """``COPY ... FROM STDIN`` of converted rows. An error raised while the
    COPY is open (the driver cannot dump a value, an interrupt) ends it with
    a short message of ours and is then raised as it was: psycopg sends the
    text of the error it sees to the server (CopyFail), and PostgreSQL closes
    the connection when that text exceeds its message limit (10,000 bytes:
    an error quoting a long value). The savepoint around the batch is then
    rolled back and the connection stays usable."""
    failure = None
    with _EXC:
        try:
            with _cursor(db).copy(plan.copy_sql) as copy:
                write_row = copy.write_row
                try:
                    for row in params:
                        write_row(row)
                except BaseException as exc:
                    failure = exc
                    raise _CopyAborted("store.fast: COPY aborted") from None
        except _CopyAborted:
            pass
        if failure is not None:
            raise failure


def _replay(db, plan, params, exc):
    """A batch was refused (its savepoint is rolled back): insert its rows
    one by one, as the ORM path would, to raise the same typed error for the
    first bad row."""
    for row in params:
        _execute(db, plan.sql, row)
    raise _translated(db, exc, plan.sql, None)


# --- lookup by primary key ---------------------------------------------------------

def _reader_guard(field):
    """A Python expression over ``{v}`` true when ``python_value(v)`` is ``v``."""
    if isinstance(field, peewee.ForeignKeyField) and _is(field, peewee.ForeignKeyField, "python_value"):
        field = field.rel_field
    if _json_reader(field) == "driver":
        return "True"                          # psycopg decoded it; peewee keeps it
    if not _is(field, peewee.Field, "python_value"):
        return None
    for cls, kind in ((peewee._StringField, "str"), (peewee.IntegerField, "int"),
                      (peewee.FloatField, "float")):
        if _is(field, cls, "adapt"):
            return "{v} is None or {v}.__class__ is %s" % kind
    return None


def _json_reader(field):
    """How peewee reads this JSON column: ``"driver"`` (PostgreSQL: the
    driver decoded it, the value is kept), ``"loads"`` (SQLite: text parsed
    with ``json.loads``, kept as text if it is not JSON), or None."""
    if not _is(field, peewee.JSONField, "python_value") or field._helper is None:
        return None
    reader = type(field._helper).make_value_reader
    if reader is peewee.PostgresqlJSONMethods.make_value_reader:
        return "driver"
    if reader is peewee.BaseJSONMethods.make_value_reader and field._loads is json.loads:
        return "loads"
    return None


_SCAN = json.JSONDecoder().scan_once


def _compile_reader(model, fields):
    """A function from a fetched row to the dict of field values peewee's
    cursor would build: one unrolled statement per column. JSON text from
    SQLite is parsed by the scanner ``json.loads`` ends in; anything it
    would not take whole goes to ``python_value`` itself."""
    ns = {"SCAN": _SCAN, "len": len}
    names = [f.name for f in fields]
    lines = ["def read(row):", "    " + "".join(f"v{i}, " for i in range(len(fields))) + "= row"]
    for i, field in enumerate(fields):
        ns[f"P{i}"] = field.python_value
        guard = _reader_guard(field)
        if _json_reader(field) == "loads":
            lines += [f"    if v{i}.__class__ is str:",
                      "        try:",
                      f"            o, e = SCAN(v{i}, 0)",
                      "        except Exception:",
                      f"            v{i} = P{i}(v{i})",
                      "        else:",
                      f"            v{i} = o if e == len(v{i}) else P{i}(v{i})",
                      f"    elif v{i} is not None:",
                      f"        v{i} = P{i}(v{i})"]
        elif guard is None:
            lines.append(f"    v{i} = P{i}(v{i})")
        elif guard != "True":
            lines.append(f"    if not ({guard.format(v=f'v{i}')}):")
            lines.append(f"        v{i} = P{i}(v{i})")
    lines.append("    return {" + ", ".join(f"{n!r}: v{i}" for i, n in enumerate(names)) + "}")
    exec(compile("\n".join(lines), f"<store.fast read {model.__name__}>", "exec"), ns)
    return ns["read"]


def _instance_factory(model):
    """``data -> instance`` as peewee's cursor builds one from a row
    (``model(__no_default__=True, **data)``, then nothing dirty).

    When the model keeps peewee's and store's constructor and plain field
    accessors, the instance is assembled directly (four attributes instead
    of one descriptor call per field): proved equal to the constructor's on
    a probe before it is used."""
    def construct(data):
        obj = model(__no_default__=True, **data)
        obj._dirty.clear()
        return obj

    setters = (peewee.FieldAccessor.__set__, peewee.ForeignKeyAccessor.__set__)
    plain = (model.__setattr__ is object.__setattr__ and model.__new__ is object.__new__
             and all(getattr(type(inspect.getattr_static(model, f.name, None)), "__set__", None)
                     in setters for f in model._meta.sorted_fields))
    if not plain:
        return construct
    new = object.__new__

    def assemble(data):
        obj = new(model)
        obj.__data__ = data
        obj._dirty = set()
        obj.__rel__ = {}
        obj._store_unsaved_default_pk = False
        return obj

    probe = {f.name: None for f in model._meta.sorted_fields}
    reference, mine = construct(dict(probe)), assemble(dict(probe))
    if vars(reference) != vars(mine):
        return construct
    return assemble


class _SelectPlan:
    def __init__(self, model, db, _extra):
        meta = model._meta
        if not isinstance(meta.primary_key, peewee.Field) or meta.composite_key:
            raise ConfigError(f"{model.__name__}: get_by_pk needs a single-column primary key")
        fields = meta.sorted_fields
        query = model.select(*fields).where(meta.primary_key == Value(None, converter=False))
        self.sql = _render(db, query)
        self.pk_value = meta.primary_key.db_value
        self.read = _compile_reader(model, fields)
        self.instance = _instance_factory(model)


def get_by_pk(model, pk):
    """The row of ``model`` whose primary key is ``pk``, as a model instance
    equal to ``model.get_by_id(pk)`` (same ``__data__``, nothing dirty);
    ``model.DoesNotExist`` if there is none. One cached SELECT."""
    plan = _cached("select", model, None, _SelectPlan)
    row = _execute(model._meta.database, plan.sql, (plan.pk_value(pk),)).fetchone()
    if row is None:
        raise model.DoesNotExist(f"{model.__name__} with primary key {pk!r} does not exist")
    return plan.instance(plan.read(row))


def fetch(query) -> list:
    """``list(query)`` for a ``Model.select()`` of the model's own fields
    (any WHERE, ORDER BY, LIMIT; no joins, no ``.dicts()``/``.tuples()``),
    with the rows made into instances by the reader ``get_by_pk`` uses:
    the same instances, in the same order, several times faster per row.
    The query's SQL is still built by peewee; errors are ``execute_sql``'s.
    Any other query is simply run as ``list(query)``."""
    model = getattr(query, "model", None)
    if not (isinstance(query, peewee.ModelSelect) and query._is_default and not query._joins
            and query._row_type is None and len(query._from_list) == 1
            and query._from_list[0] is model):
        return list(query)
    plan = _cached("select", model, None, _SelectPlan)
    sql, params = query.sql()
    rows = _execute(model._meta.database, sql, params).fetchall()
    read, instance = plan.read, plan.instance
    return [instance(read(row)) for row in rows]


# --- update by primary key ---------------------------------------------------------

class _UpdatePlan:
    def __init__(self, model, db, keys):
        meta = model._meta
        if not isinstance(meta.primary_key, peewee.Field) or meta.composite_key:
            raise ConfigError(f"{model.__name__}: update_by_pk needs a single-column primary key")
        fields = []
        for key in keys:
            field = key if isinstance(key, peewee.Field) else meta.combined.get(key)
            if field is None or field.model is not model:
                raise ValueError(f'{model.__name__}: unrecognized field name: "{key}"')
            if any(field is f for f in fields):   # not ``in``: Field.__eq__ is SQL
                raise ValueError(f"{model.__name__}: {field.name} is given twice")
            fields.append(field)
        if not fields:
            raise ValueError(f"{model.__name__}: update_by_pk needs at least one value")
        given = {id(f) for f in fields}
        auto_now = [f for f in meta.auto_now_fields if id(f) not in given]
        writers = [_Writer(f, db) for f in fields + auto_now]
        # Each parameter is rendered as its own position, so the statement's
        # parameter order (peewee sorts SET columns) is read back, not assumed.
        query = peewee.ModelUpdate(model, {f: w.param(Value(i, converter=False))
                                           for i, (f, w) in enumerate(zip(fields + auto_now, writers))})
        query = query.where(meta.primary_key == Value(-1, converter=False))
        self.sql, order = _render_params(db, query)
        sources = list(keys) + [None] * len(auto_now)
        self.order = [("pk", None, meta.primary_key.db_value) if i == -1 else
                      ("now", None, writers[i].db_value) if sources[i] is None else
                      ("value", sources[i], writers[i].convert) for i in order]
        self.auto_now = bool(auto_now)

    def params(self, values, pk):
        """Given values validated and converted; ``auto_now`` fields the
        current time, converted (``Model.update`` sets them after validating)."""
        now = F.utcnow() if self.auto_now else None
        return [convert(values[key]) if kind == "value" else
                convert(pk) if kind == "pk" else convert(now)
                for kind, key, convert in self.order]


def update_by_pk(model, pk, values=None, **kwargs) -> int:
    """``UPDATE`` the row of ``model`` whose primary key is ``pk`` with
    ``values`` (a dict keyed by field name, column name or Field, and/or
    keyword arguments); return the number of rows changed (0 or 1).
    Validated and converted like ``Model.update``; ``auto_now`` fields not
    given are set to the current time. One cached statement per column set."""
    if values is None:
        values = kwargs
    elif kwargs:
        values = {**values, **kwargs}
    plan = _cached("update", model, tuple(values), _UpdatePlan)
    return _execute(model._meta.database, plan.sql, plan.params(values, pk)).rowcount
