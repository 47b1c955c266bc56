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


# --- SQLite -----------------------------------------------------------------

class _SqliteContext(Context):
    """Renders LIKE case-sensitively and ILIKE Unicode-case-insensitively, as
    on PostgreSQL, with deterministic SQL only (so usable in indexes).

    ``a LIKE 'p'`` -> ``a GLOB 'g'`` (``like_to_glob``); ``a ILIKE 'p'`` ->
    ``store_lower(a) GLOB 'g'``, ``g`` from ``'p'.lower()``; a pattern or
    escape that is SQL -> ``store_like(a, p, e)`` / ``store_ilike(a, p, e)``.
    Backslash is the default escape; an ``ESCAPE`` clause is honoured
    (``ESCAPE ''``: none). Nothing here depends on a connection setting, so
    the same SQL is valid in partial indexes, index expressions and CHECKs.

    ORDER BY sorts NULLs as PostgreSQL does (last ascending, first
    descending; SQLite's own order is the reverse), so the same query pages
    the same rows: a term of a SELECT's ORDER BY that may be NULL (anything
    but a NOT NULL column) and names no ``nulls=`` gets PostgreSQL's.
    """
    __slots__ = ()

    def as_new(self):
        return type(self)(**self.state.settings)

    def sql(self, obj):
        if isinstance(obj, Expression) and obj.op in (OP.LIKE, OP.ILIKE):
            obj = _sqlite_like(obj)
        elif isinstance(obj, peewee.SelectBase) and getattr(obj, "_order_by", None):
            order = [_pg_nulls(item) for item in obj._order_by]
            if any(a is not b for a, b in zip(order, obj._order_by)):
                obj = obj.clone()
                obj._order_by = order
        return super().sql(obj)


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
    def _translate(self, exc, sql, params):
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

    def _schemas(self):
        """``main`` and every attached database (namespaces)."""
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


class _PostgresContext(Context):
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
    """
    __slots__ = ()

    def as_new(self):
        return type(self)(**self.state.settings)

    def literal(self, keyword):
        if "%" in keyword and keyword != "%s":      # "%s": the placeholder itself
            keyword = keyword.replace("%", "%%")
        return super().literal(keyword)

    def sql(self, obj):
        if isinstance(obj, SQL) and obj.params:
            Context.literal(self, obj.sql)            # the caller's psycopg text
            for param in obj.params:
                self.value(param, False, add_param=False)
            return self
        if isinstance(obj, Expression) and obj.op in (OP.LIKE, OP.ILIKE):
            _like_operands(obj)
        return super().sql(obj)


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
