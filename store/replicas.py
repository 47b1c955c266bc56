"""Past one PostgreSQL: read replicas and a transaction-mode pooler.

``ScaledPostgresStore`` is a ``PostgresStore`` that decides, per statement,
where it runs. ``store.connect`` returns one when the URL (or the call) names
replicas or a pooler::

    db = store.connect("postgresql://app@primary/shop?replica=r1:5432,r2:5432")
    db = store.connect("postgresql://app@primary/shop",
                       replicas=["postgresql://app:pw@r1/shop"])
    db = store.connect("postgresql://app@bouncer:6432/shop?pooler=pgbouncer")

Read routing (replicas)
    A ``SELECT`` made outside a transaction runs on a replica; everything else
    runs on the primary: writes, every statement inside ``db.atomic()`` (a
    transaction is one connection), ``SELECT ... FOR UPDATE``/``FOR SHARE``,
    a SELECT that calls ``nextval``/``setval``/``pg_*`` functions or reads
    the catalogs (introspection, migrations) or a ``*_migrate_history``
    table, ``WITH`` queries (they may write), and everything inside
    ``with db.primary():``. ``store.connect(..., migrate=True)``, ``migrate``
    (each migration is a transaction) and ``copy`` (one transaction on each
    side) run on the primary. Models need no change.

    Each thread has one connection per replica (opened on first use,
    ``connect_timeout`` 2 s unless the URL says). A replica is checked at
    most every ``replica_check_interval`` seconds (default 1), the result
    shared by the process's threads: it must be in recovery, streaming from
    its primary and at most ``max_replica_lag`` seconds behind (default 5;
    ``now() - pg_last_xact_replay_timestamp()`` while it has WAL left to
    replay). A replica that fails the check, cannot be reached or fails a
    query on its connection is skipped (a ``ReplicaWarning`` and a log line
    on ``store.replicas``, once per change) and the read runs on the
    primary; it is tried again after the interval. A read that a replica
    cancels (a conflict with recovery) or that names a table the replica
    does not have yet runs again on the primary.

Read-your-writes (``read_your_writes=true``, the default)
    After a statement on the primary that may write, this thread's next
    read outside a transaction first asks the primary for its WAL position
    (``pg_current_wal_lsn()``: at or after the write's commit), and runs on
    a replica only once that replica's ``pg_last_wal_replay_lsn()`` has
    reached it; until then on the primary. The bound: a thread's reads go to
    the primary for as long as the replica is behind its last write, at most
    ``max_replica_lag`` seconds in steady state (a replica further behind is
    skipped anyway). It covers this thread of this process, not another
    thread or process (their writes are seen after the replica's lag).
    ``read_your_writes=false`` turns it off: reads may then miss the
    thread's own writes for up to the lag.

Behind a transaction pooler (``pooler=pgbouncer``)
    A server connection belongs to a client for one transaction only, so:

    * psycopg prepares nothing (``prepare_threshold=None``, from the URL):
      pgbouncer 1.18 cannot carry a prepared statement to the next
      transaction's server connection;
    * libpq's startup ``options`` (``-csearch_path=tenant``: how namespaces
      and the tests place a connection in a schema) are refused by
      pgbouncer 1.18; this class sends none and sets them with ``SET LOCAL``
      at the start of each transaction, and runs a statement made outside a
      transaction inside one (BEGIN, the settings, the statement, COMMIT).
      Models bound to a namespace name their schema anyway;
    * ``SET TIME ZONE`` (store's session setting) and the other parameters
      pgbouncer tracks per client (client_encoding, DateStyle,
      standard_conforming_strings, application_name) keep working;
    * refused with a ``PoolerRefused`` that says what to do, before anything
      reaches the server: a session advisory lock (``pg_advisory_lock``,
      ``pg_try_advisory_lock``, ``pg_advisory_unlock``; use the ``_xact_``
      forms inside ``db.atomic()``; a migration with ``atomic = False``
      takes one: run it with a URL that reaches PostgreSQL directly),
      ``LISTEN``/``UNLISTEN``, ``SET``/``RESET`` of another parameter (use
      ``SET LOCAL`` inside ``db.atomic()``), SQL ``PREPARE``, ``DECLARE ...
      WITH HOLD`` and ``CREATE TEMP TABLE`` outside a transaction.
"""
from __future__ import annotations

import logging
import random
import re
import threading
import time
import warnings
from contextlib import contextmanager

import peewee

from . import errors
from .errors import PoolerRefused, ReplicaWarning
from .database import PostgresStore
from .url import DatabaseURL, mask_password, parse_url

log = logging.getLogger("store.replicas")

DEFAULT_CHECK_INTERVAL = 1.0
REPLICA_CONNECT_TIMEOUT = "2"


# --- what a statement is ---------------------------------------------------------

_SELECT = re.compile(r"\s*\(?\s*SELECT\b", re.IGNORECASE)
_PRIMARY_ONLY = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE)\b|\bFOR\s+KEY\s+SHARE\b|\bINTO\b"
    r"|\b(?:nextval|setval|currval|lastval|set_config|txid_current\w*)\s*\("
    r"|\bpg_\w+|\binformation_schema\b|_migrate_history\b", re.IGNORECASE)


def is_replica_read(sql: str) -> bool:
    """Whether ``sql`` may run on a replica: a plain SELECT (no locking
    clause, no sequence or ``pg_*`` function, no catalog)."""
    return bool(_SELECT.match(sql)) and not _PRIMARY_ONLY.search(sql)


_TRACKED = {"timezone", "time zone", "client_encoding", "datestyle",
            "standard_conforming_strings", "application_name", "names"}
_SESSION_LOCK = re.compile(r"\bpg_(?:try_)?advisory_(?:un)?lock(?:_shared|_all)?\s*\(", re.IGNORECASE)
_SET = re.compile(r"\s*(SET|RESET)\s+(?:SESSION\s+)?(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)"
                  r"(TIME\s+ZONE|\"?[\w.]+\"?)", re.IGNORECASE)
_LISTEN = re.compile(r"\s*(?:UN)?LISTEN\b", re.IGNORECASE)
_PREPARE = re.compile(r"\s*PREPARE\b", re.IGNORECASE)
_HOLD = re.compile(r"\s*DECLARE\b.*\bWITH\s+HOLD\b", re.IGNORECASE | re.DOTALL)
_TEMP = re.compile(r"\s*CREATE\s+(?:GLOBAL\s+|LOCAL\s+)?TEMP(?:ORARY)?\s+TABLE\b", re.IGNORECASE)

_DIRECT = ("connect with a URL that reaches PostgreSQL directly (without pooler=) "
           "for this")


def pooler_refusal(sql: str, in_transaction: bool, pooler: str) -> str | None:
    """Why ``sql`` cannot run through a transaction pooler (None: it can)."""
    where = f"through pooler={pooler} (transaction pooling)"
    if _SESSION_LOCK.search(sql):
        return (f"a session advisory lock cannot be held {where}: it stays on a server "
                f"connection that other clients get next; use pg_advisory_xact_lock "
                f"inside db.atomic(). A migration with atomic = False takes one: run "
                f"`migrate` with a URL that reaches the primary directly")
    if _LISTEN.match(sql):
        return (f"LISTEN/UNLISTEN cannot work {where}: notifications go to whichever "
                f"client holds the server connection; {_DIRECT}")
    m = _SET.match(sql)
    if m:
        name = " ".join(m.group(2).strip('"').lower().split())
        if name not in _TRACKED:
            return (f"{m.group(1).upper()} {name} {where} would change the session of a "
                    f"server connection other clients share; use SET LOCAL {name} inside "
                    f"db.atomic() (or the URL's options=-c{name}=..., which store sets "
                    f"per transaction)")
    if _PREPARE.match(sql):
        return f"a prepared statement (PREPARE) does not survive a transaction {where}"
    if not in_transaction and _HOLD.match(sql):
        return f"a cursor WITH HOLD does not survive its transaction {where}; {_DIRECT}"
    if not in_transaction and _TEMP.match(sql):
        return (f"a temporary table made outside a transaction would outlive it on a "
                f"shared server connection {where}; make it inside db.atomic() "
                f"(ON COMMIT DROP)")
    return None


# --- LSNs ---------------------------------------------------------------------------

def lsn(text) -> int | None:
    """``'16/B374D848'`` as a number (None stays None)."""
    if text is None:
        return None
    hi, _, lo = str(text).partition("/")
    return (int(hi, 16) << 32) | int(lo, 16)


# --- replicas -------------------------------------------------------------------------

_CHECK_SQL = (
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
    "EXISTS (SELECT 1 FROM pg_stat_wal_receiver), "
    "pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn(), "
    "COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)::float8")


def replica_lag(caught_up: bool, since_last_replayed: float, since_caught_up: float | None):
    """Seconds a replica is behind, at most: 0 when it has replayed all it
    received; else the smaller of two upper bounds: the age of the last
    transaction it replayed (everything older is in) and the time since it
    was last seen caught up (everything before is in). The first alone
    overstates the lag of a replica that was idle, then gets a write."""
    if caught_up:
        return 0.0
    if since_caught_up is None:
        return max(since_last_replayed, 0.0)
    return max(min(since_last_replayed, since_caught_up), 0.0)


class Replica:
    """One replica: its database (one connection per thread) and its health,
    shared by the threads of the process."""

    def __init__(self, url: DatabaseURL, **kwargs):
        self.url = url
        self.db = PostgresStore(url, **kwargs)
        if "connect_timeout" not in dict(url.options):
            self.db.connect_params.setdefault("connect_timeout", REPLICA_CONNECT_TIMEOUT)
        self.lock = threading.Lock()
        self.checked_at = float("-inf")
        self.healthy: bool | None = None        # None: never checked
        self.reason = ""
        self.replay_lsn: int | None = None
        self.warned: str | None = None          # the reason last warned about
        self.caught_up_at: float | None = None  # monotonic time of a check that saw it so

    def __repr__(self):
        return f"<Replica {self.url.masked()} {'up' if self.healthy else self.reason or '?'}>"

    @property
    def name(self) -> str:
        return f"{self.url.host}:{self.url.port or 5432}"

    def mask(self, text: str) -> str:
        return mask_password(text, self.url)

    def drop_connection(self) -> None:
        """Forget this thread's connection (broken, or the replica is down)."""
        try:
            if not self.db.is_closed():
                self.db.close()
        except Exception:  # noqa: BLE001 - a broken connection may refuse to close
            self.db._state.reset()

    def replayed(self) -> int | None:
        """The replica's replay position, asked now."""
        row = self.db.execute_sql("SELECT pg_last_wal_replay_lsn()::text").fetchone()
        value = lsn(row[0])
        if value is not None:
            with self.lock:
                if self.replay_lsn is None or value > self.replay_lsn:
                    self.replay_lsn = value
        return value


class ScaledPostgresStore(PostgresStore):
    """PostgreSQL with read replicas and/or behind a transaction pooler (see
    the module's text). ``replicas``: URLs (strings or ``DatabaseURL``) added
    to the URL's ``replica=`` options."""

    def __init__(self, url, *, replicas=(), replica_check_interval: float = DEFAULT_CHECK_INTERVAL,
                 **kwargs):
        import dataclasses
        url = parse_url(url)
        self.pooler = url.pooler
        self.session_options = url.session_options() if self.pooler else []
        direct = url
        if self.pooler:                   # pgbouncer refuses startup options: SET LOCAL
            direct = dataclasses.replace(
                url, options=tuple((k, v) for k, v in url.options if k != "options"))
        super().__init__(direct, **kwargs)
        self.url = url
        self.read_your_writes = url.read_your_writes()
        self.max_replica_lag = url.max_replica_lag()
        self.replica_check_interval = float(replica_check_interval)
        targets = [url.replica_url(host, port) for host, port in url.replica_addresses()]
        for item in replicas:
            parsed = parse_url(item)
            if parsed.backend != "postgresql":
                raise errors.ConfigError(f"replica {parsed.masked()!r}: a replica must be a "
                                         f"postgresql:// URL")
            targets.append(parsed)
        self.replicas = [Replica(t) for t in targets]
        self._route = threading.local()

    def __repr__(self):
        extra = ""
        if self.replicas:
            extra += " replicas=[" + ", ".join(r.url.masked() for r in self.replicas) + "]"
        if self.pooler:
            extra += f" pooler={self.pooler}"
        return f"<{type(self).__name__} {self.url.masked()}{extra}>"

    # -- per-thread routing state ----------------------------------------------------
    def _thread(self):
        state = self._route
        if not hasattr(state, "dirty"):
            state.dirty, state.target, state.primary_only, state.last = False, None, 0, None
        return state

    @contextmanager
    def primary(self):
        """Every statement of this thread inside the block runs on the primary."""
        state = self._thread()
        state.primary_only += 1
        try:
            yield self
        finally:
            state.primary_only -= 1

    @property
    def last_route(self) -> str | None:
        """Where this thread's last statement ran: ``"primary"`` or a
        replica's ``host:port`` (for tests and diagnostics)."""
        return self._thread().last

    # -- statements ------------------------------------------------------------------
    def _execute_cursor(self, sql, params, **cursor_options):
        state = self._thread()
        in_txn = self.in_transaction()
        if self.pooler:
            refusal = pooler_refusal(sql, in_txn, self.pooler)
            if refusal:
                raise PoolerRefused(refusal)
        if (self.replicas and not in_txn and not state.primary_only
                and not cursor_options and is_replica_read(sql)):
            cursor = self._on_replica(state, sql, params)
            if cursor is not None:
                return cursor
        elif not _SELECT.match(sql) or _PRIMARY_ONLY.search(sql):
            state.dirty = True             # may write: read-your-writes from here on
        state.last = "primary"
        if self.session_options and not in_txn:
            with self.atomic():            # SET LOCAL needs a transaction
                return super()._execute_cursor(sql, params, **cursor_options)
        return super()._execute_cursor(sql, params, **cursor_options)

    def begin(self, *args, **kwargs):
        super().begin(*args, **kwargs)
        if self.session_options:
            calls = ", ".join("set_config(%s, %s, true)" for _ in self.session_options)
            values = [v for pair in self.session_options for v in pair]
            with peewee.__exception_wrapper__:
                self.cursor().execute(f"SELECT {calls}", values)

    def reopen(self, url) -> ScaledPostgresStore:
        """Another database like this one for ``url`` (a namespace's
        migration connection: ``store.namespaces.open_namespace``): the same
        pooler handling, the primary only."""
        url = parse_url(url)
        import dataclasses
        url = dataclasses.replace(url, options=tuple(
            (k, v) for k, v in url.options if k not in ("replica",)))
        return ScaledPostgresStore(url, replica_check_interval=self.replica_check_interval)

    def close(self):
        closed = super().close()
        for replica in self.replicas:
            replica.drop_connection()
        return closed

    # -- replicas --------------------------------------------------------------------
    def _target(self, state) -> int | None:
        """The WAL position this thread's reads must see (read-your-writes)."""
        if not self.read_your_writes:
            return None
        if state.dirty:
            row = super()._execute_cursor("SELECT pg_current_wal_lsn()::text", None).fetchone()
            state.dirty, state.target = False, lsn(row[0])
        return state.target

    def _on_replica(self, state, sql, params):
        """Run the read on a usable replica; None: run it on the primary."""
        target = self._target(state)
        candidates = [r for r in self.replicas if self._usable(r)]
        random.shuffle(candidates)
        for replica in candidates:
            try:
                if target is not None and (replica.replay_lsn is None
                                           or replica.replay_lsn < target):
                    replayed = replica.replayed()
                    if replayed is None or replayed < target:
                        continue             # behind this thread's write: not yet
                state.target = None              # caught up: no more checks
                cursor = replica.db._execute_cursor(sql, params)
            except peewee.OperationalError as exc:
                if self._retry_on_primary(exc):
                    return None
                self._down(replica, f"query failed: {_first_line(replica.mask(str(exc)))}")
                continue
            except peewee.DatabaseError as exc:
                if self._retry_on_primary(exc):
                    return None
                raise
            state.last = replica.name
            return cursor
        return None

    @staticmethod
    def _retry_on_primary(exc) -> bool:
        """A replica-only failure the primary does not have: a query
        cancelled by a conflict with recovery, a table the replica has not
        replayed yet."""
        orig = getattr(exc, "orig", None) or (exc.args[0] if exc.args else None)
        return getattr(orig, "sqlstate", None) in ("40001", "42P01", "42703", "3F000")

    def _usable(self, replica: Replica) -> bool:
        now = time.monotonic()
        if now - replica.checked_at < self.replica_check_interval:
            return bool(replica.healthy)
        with replica.lock:
            if now - replica.checked_at < self.replica_check_interval:
                return bool(replica.healthy)
            replica.checked_at = now          # one thread checks; the others use the last
        try:
            row = replica.db.execute_sql(_CHECK_SQL).fetchone()
        except peewee.PeeweeException as exc:
            replica.drop_connection()
            self._set(replica, False, f"cannot be reached: "
                                      f"{_first_line(replica.mask(str(exc)))}")
            return False
        in_recovery, replay, streaming, caught_up, since_replayed = row
        if caught_up:
            replica.caught_up_at = now
        lag = replica_lag(caught_up, since_replayed,
                          None if replica.caught_up_at is None else now - replica.caught_up_at)
        if not in_recovery:
            self._set(replica, False, "is not in recovery (not a replica; promoted?)")
        elif not streaming:
            self._set(replica, False, "is not streaming from its primary")
        elif lag > self.max_replica_lag:
            self._set(replica, False, f"lags {lag:.1f} s behind its primary "
                                      f"(max_replica_lag={self.max_replica_lag:g})")
        else:
            with replica.lock:
                replica.replay_lsn = lsn(replay)
            self._set(replica, True, "")
        return bool(replica.healthy)

    def _down(self, replica: Replica, reason: str) -> None:
        replica.drop_connection()
        with replica.lock:
            replica.checked_at = time.monotonic()
        self._set(replica, False, reason)

    def _set(self, replica: Replica, healthy: bool, reason: str) -> None:
        """Record a check's result; warn once per change (down, back)."""
        key = reason.split(":")[0]
        with replica.lock:
            replica.healthy, replica.reason = healthy, reason
            if healthy:
                notify, replica.warned = replica.warned is not None, None
            else:
                notify, replica.warned = replica.warned != key, key
        if not notify:
            return
        if healthy:
            message = f"replica {replica.url.masked()} is back: reads go to it again"
        else:
            message = (f"replica {replica.url.masked()} skipped, reads go to the primary: "
                       f"{reason}")
        log.warning(message)
        warnings.warn(message, ReplicaWarning, stacklevel=5)


def _first_line(text: str) -> str:
    return " ".join(text.strip().split("\n")[0].split())


def needs_scaling(url: DatabaseURL, replicas=()) -> bool:
    """Whether ``url`` (with ``replicas``) needs ``ScaledPostgresStore``."""
    return url.backend == "postgresql" and bool(
        replicas or url.pooler or url.replica_addresses())


def open_scaled(url, *, replicas=(), **kwargs):
    """``ScaledPostgresStore`` for ``url`` (``pool=true`` is refused with
    replicas or a pooler: pgbouncer is the pool)."""
    url = parse_url(url)
    if str(url.option("pool", "false")).lower() in ("1", "true", "yes", "on"):
        raise errors.ConfigError(f"database URL {url.masked()!r}: pool=true cannot be "
                                 f"combined with replicas or pooler= (pgbouncer pools)")
    return ScaledPostgresStore(url, replicas=replicas, **kwargs)
