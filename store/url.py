"""Database URLs: parsing, validation and password masking.

Accepted forms::

    sqlite:///relative/path.db      (relative to the working directory)
    sqlite:////absolute/path.db
    sqlite:///:memory:   or   sqlite://
    postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?OPTIONS]   (also postgres://)

PostgreSQL options are libpq's (``sslmode``, ``application_name``,
``connect_timeout``, ``options``, ...) plus store's own ``pool``
(``true``/``false``), ``max_connections`` and ``stale_timeout``, and those of
read replicas and poolers (``store.replicas``, docs/scale.md):

* ``replica=HOST[:PORT]``, repeated or comma-separated: streaming replicas of
  this database (same database name, user and password) that serve the reads
  made outside a transaction;
* ``max_replica_lag=SECONDS`` (default 5): a replica further behind is skipped;
* ``read_your_writes=true|false`` (default true): after a write, this
  thread's reads go to the primary until a replica has replayed it;
* ``pooler=pgbouncer`` (or ``none``): the URL reaches PostgreSQL through a
  transaction-pooling pgbouncer: no prepared statements, no startup
  ``options`` (applied per transaction instead), session state refused;
* ``prepare_threshold=N|none``: psycopg's (default 5; ``none`` with a pooler).

SQLite options: ``timeout`` (busy timeout in seconds).

A ``DatabaseURL`` never shows its password: ``str()``, ``repr()`` and every
error message use the masked form.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import ConfigError

ACCEPTED = ("sqlite:///PATH", "sqlite:///:memory:",
            "postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME",
            "postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME")
POSTGRES_SCHEMES = ("postgresql", "postgres")
STORE_PG_OPTIONS = {"pool", "max_connections", "stale_timeout", "timeout"}
#: read routing and poolers (store.replicas); never passed to libpq
SCALE_OPTIONS = {"replica", "max_replica_lag", "read_your_writes", "pooler",
                 "prepare_threshold"}
POOLERS = ("pgbouncer", "none")
DEFAULT_MAX_REPLICA_LAG = 5.0
LIBPQ_OPTIONS = {
    "sslmode", "sslrootcert", "sslcert", "sslkey", "application_name",
    "connect_timeout", "options", "target_session_attrs", "keepalives",
    "keepalives_idle", "client_encoding", "gssencmode", "channel_binding",
}
SQLITE_OPTIONS = {"timeout"}
MASK = "***"


def mask_password(text: str, url: "DatabaseURL | str | None") -> str:
    """Replace the password of ``url`` wherever it appears in ``text``."""
    if url is None:
        return text
    password = url.password if isinstance(url, DatabaseURL) else _raw_password(url)
    if password:
        text = text.replace(password, MASK)
    return text


def _raw_password(raw: str) -> str | None:
    try:
        return urlsplit(raw).password
    except ValueError:
        return None


def _masked_raw(raw: str) -> str:
    """Mask a URL string we could not parse (best effort, never leaks)."""
    try:
        password = urlsplit(raw).password
    except ValueError:
        password = None
    if password and ":" + password + "@" in raw:
        return raw.replace(":" + password + "@", ":" + MASK + "@", 1)
    # urlsplit misreads a password holding '/', '?' or '#': cut at the last '@'
    scheme, sep, rest = raw.partition("://")
    if not sep:
        scheme, rest = "", raw
    if "@" in rest:
        creds, host = rest.rsplit("@", 1)
        user, colon, _ = creds.partition(":")
        if colon:
            return f"{scheme}{sep}{user}:{MASK}@{host}"
    return raw


@dataclass(frozen=True)
class DatabaseURL:
    backend: str                    # "sqlite" or "postgresql"
    database: str                   # file path, ":memory:" or database name
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    host: str | None = None
    port: int | None = None
    options: tuple = ()             # sorted (key, value) pairs

    @property
    def is_memory(self) -> bool:
        return self.backend == "sqlite" and self.database == ":memory:"

    @property
    def file_missing(self) -> bool:
        """A SQLite file that is not there (connecting would create it)."""
        return (self.backend == "sqlite" and not self.is_memory
                and not os.path.exists(self.database))

    def option(self, key, default=None):
        return dict(self.options).get(key, default)

    # -- replicas and poolers (store.replicas) ---------------------------------------
    @property
    def pooler(self) -> str | None:
        """``"pgbouncer"`` when the URL goes through a transaction pooler."""
        value = (self.option("pooler") or "none").lower()
        return None if value == "none" else value

    def replica_addresses(self) -> list[tuple[str, int | None]]:
        """``[(host, port)]`` of the URL's ``replica=`` options, in order."""
        out = []
        for key, value in self.options:
            if key != "replica":
                continue
            for item in filter(None, (v.strip() for v in value.split(","))):
                out.append(_host_port(item))
        return out

    def replica_url(self, host: str, port: int | None) -> DatabaseURL:
        """This URL pointed at a replica: same database, user, password and
        libpq options, none of the routing or pooler options (a replica is
        reached directly)."""
        import dataclasses
        kept = tuple((k, v) for k, v in self.options
                     if k in LIBPQ_OPTIONS or (k == "prepare_threshold" and not self.pooler))
        return dataclasses.replace(self, host=host, port=port, options=kept)

    def read_your_writes(self) -> bool:
        return _flag(self, "read_your_writes", True)

    def max_replica_lag(self) -> float:
        value = self.option("max_replica_lag")
        if value is None:
            return DEFAULT_MAX_REPLICA_LAG
        try:
            lag = float(value)
        except ValueError:
            lag = -1.0
        if not 0 <= lag < float("inf"):
            raise ConfigError(f"database URL option max_replica_lag={value!r} must be a "
                              f"non-negative number of seconds")
        return lag

    def prepare_threshold(self):
        """psycopg's ``prepare_threshold``: the URL's, else None behind a
        pooler (pgbouncer 1.18 in transaction mode cannot carry prepared
        statements), else psycopg's default (``...``: not passed)."""
        value = self.option("prepare_threshold")
        if value is None:
            return None if self.pooler else ...
        if value.lower() in ("none", "off", "false"):
            return None
        if not value.isdigit():
            raise ConfigError(f"database URL option prepare_threshold={value!r} must be a "
                              f"non-negative integer or none")
        return int(value)

    def session_options(self) -> list[tuple[str, str]]:
        """``[(name, value)]`` of the ``-c name=value`` (``--name=value``)
        settings in libpq's ``options``."""
        return _settings(self.option("options") or "")

    def masked(self) -> str:
        if self.backend == "sqlite":
            return "sqlite:///" + self.database
        auth = ""
        if self.user:
            auth = self.user + (":" + MASK if self.password else "") + "@"
        host = self.host or ""
        if self.port:
            host += f":{self.port}"
        query = "&".join(f"{k}={v}" for k, v in self.options)
        return f"postgresql://{auth}{host}/{self.database}" + (f"?{query}" if query else "")

    __str__ = masked

    def __repr__(self) -> str:
        return f"DatabaseURL({self.masked()!r})"

    def connect_params(self) -> dict:
        """Keyword arguments for psycopg.connect (PostgreSQL only).

        Behind ``pooler=pgbouncer``: ``prepare_threshold=None``, and libpq's
        ``options`` are refused (pgbouncer 1.18 refuses that startup
        parameter): ``store.replicas.ScaledPostgresStore`` sends none and
        sets them with ``SET LOCAL`` in each transaction instead."""
        params = {}
        if self.user:
            params["user"] = self.user
        if self.password:
            params["password"] = self.password
        if self.host:
            params["host"] = self.host
        if self.port:
            params["port"] = self.port
        for key, value in self.options:
            if key in LIBPQ_OPTIONS:
                params[key] = value
        threshold = self.prepare_threshold()
        if threshold is not ...:
            params["prepare_threshold"] = threshold
        if self.pooler and "options" in params:
            raise ConfigError(
                f"database URL {self.masked()!r}: option options={params['options']!r} "
                f"cannot go through pooler={self.pooler} (pgbouncer 1.18 refuses the "
                f"startup parameter 'options'); open it with store.connect(), which sets "
                f"them with SET LOCAL in each transaction, or reach PostgreSQL directly "
                f"(a URL without the pooler)")
        return params


def parse_url(raw: str) -> DatabaseURL:
    """Parse and validate ``raw``; raise ConfigError naming what is wrong."""
    if isinstance(raw, DatabaseURL):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        raise _error("empty database URL", None)
    raw = raw.strip()
    if "://" not in raw:
        raise _error(f"malformed database URL {_masked_raw(raw)!r}", raw)
    scheme = raw.split("://", 1)[0].lower()
    if scheme == "sqlite":
        return _parse_sqlite(raw)
    if scheme in POSTGRES_SCHEMES:
        return _parse_postgres(raw)
    raise _error(f"unsupported database URL scheme {scheme!r} in "
                 f"{_masked_raw(raw)!r}", raw)


def _error(message: str, raw: str | None) -> ConfigError:
    message = f"{message}; accepted: {', '.join(ACCEPTED)}"
    if raw:
        message = message.replace(raw, _masked_raw(raw))
    return ConfigError(message)


def _flag(url: DatabaseURL, key: str, default: bool) -> bool:
    value = url.option(key)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"database URL option {key}={value!r} must be true or false")


def _host_port(item: str) -> tuple[str, int | None]:
    """``host[:port]`` of a ``replica=`` option (no user, password or path:
    a replica shares the URL's; a full URL goes to ``store.connect(replicas=)``)."""
    host, colon, port = item.rpartition(":") if item.count(":") == 1 else (item, "", "")
    if ("@" in item or "/" in item or not host
            or any(not (c.isalnum() or c in ".-_") for c in host)):
        raise ConfigError("database URL option replica: each replica must be HOST or "
                          "HOST:PORT (credentials and database come from the URL; pass "
                          "full URLs as store.connect(replicas=[...]))")
    if colon:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"database URL option replica={item!r}: bad port")
        return host, int(port)
    return host, None


def _settings(options: str) -> list[tuple[str, str]]:
    """``-c name=value`` / ``--name=value`` settings of libpq's ``options``
    (backslash escapes a space, as libpq reads it)."""
    words, word, escaped = [], "", False
    for ch in options:
        if escaped:
            word, escaped = word + ch, False
        elif ch == "\\":
            escaped = True
        elif ch.isspace():
            if word:
                words.append(word)
            word = ""
        else:
            word += ch
    if word:
        words.append(word)
    out, i = [], 0
    while i < len(words):
        w = words[i]
        if w == "-c" and i + 1 < len(words):
            setting, i = words[i + 1], i + 2
        elif w.startswith(("-c", "--")):
            setting, i = w[2:], i + 1
        else:
            raise ConfigError(f"database URL option options: cannot read {w!r} (store "
                              f"understands -c name=value and --name=value)")
        name, eq, value = setting.partition("=")
        if not eq or not name:
            raise ConfigError(f"database URL option options: {setting!r} is not name=value")
        out.append((name.replace("-", "_"), value))
    return out


def _plain(value, part: str, raw: str):
    """``value`` (decoded from the URL) if it holds no control character.
    libpq ends a string at NUL: ``pw%00x@host/appdb`` would reach another
    database than the one the URL names, so store refuses, naming the part."""
    if value is not None and any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigError(f"database URL {_masked_raw(raw)!r}: the {part} holds a control "
                          f"character (such as %00); it cannot be passed on safely")
    return value


def _query(raw_query: str, allowed: set, raw: str) -> tuple:
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    for key, value in pairs:
        _plain(key, "option name", raw)
        _plain(value, f"option {key}", raw)
    for key, _ in pairs:
        if key not in allowed:
            raise ConfigError(
                f"unknown database URL option {key!r} in {_masked_raw(raw)!r}; "
                f"accepted options: {', '.join(sorted(allowed))}")
    return tuple(sorted(pairs))


def _parse_sqlite(raw: str) -> DatabaseURL:
    rest = raw.split("://", 1)[1]
    path, _, query = rest.partition("?")
    options = _query(query, SQLITE_OPTIONS, raw)
    if path in ("", "/", "/:memory:", ":memory:"):
        return DatabaseURL("sqlite", ":memory:", options=options)
    if not path.startswith("/"):
        raise _error(f"malformed SQLite URL {_masked_raw(raw)!r} (a host is not allowed; "
                     "use three slashes for a relative path, four for an "
                     "absolute one)", raw)
    path = _plain(unquote(path[1:]), "path", raw)
    return DatabaseURL("sqlite", path, options=options)


def _parse_postgres(raw: str) -> DatabaseURL:
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        detail = "bad port" if "port" in str(exc).lower() else "bad host"
        raise _error(f"malformed PostgreSQL URL {_masked_raw(raw)!r} ({detail})", raw) from None
    _plain(unquote(parts.hostname or ""), "host", raw)
    database = _plain(unquote(parts.path.lstrip("/")), "database name", raw)
    if not database:
        raise _error(f"PostgreSQL URL {_masked_raw(raw)!r} names no database", raw)
    options = _query(parts.query, LIBPQ_OPTIONS | STORE_PG_OPTIONS | SCALE_OPTIONS, raw)
    url = DatabaseURL(
        "postgresql", database,
        user=_plain(unquote(parts.username), "user", raw) if parts.username else None,
        password=_plain(unquote(parts.password), "password", raw) if parts.password else None,
        host=parts.hostname, port=port, options=options)
    _check_scale_options(url)
    return url


def _check_scale_options(url: DatabaseURL) -> None:
    """Refuse a bad routing or pooler option now, naming it."""
    pooler = (url.option("pooler") or "none").lower()
    if pooler not in POOLERS:
        raise ConfigError(f"database URL option pooler={url.option('pooler')!r}: "
                          f"accepted: {', '.join(POOLERS)}")
    url.replica_addresses()
    url.max_replica_lag()
    url.read_your_writes()
    url.prepare_threshold()
