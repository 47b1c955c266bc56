"""Database URLs: parsing, validation and password masking.

Accepted forms::

    sqlite:///relative/path.db      (relative to the working directory)
    sqlite:////absolute/path.db
    sqlite:///:memory:   or   sqlite://
    postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?OPTIONS]   (also postgres://)

PostgreSQL options are libpq's (``sslmode``, ``application_name``,
``connect_timeout``, ``options``, ...) plus store's own ``pool``
(``true``/``false``), ``max_connections`` and ``stale_timeout``.
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
        """Keyword arguments for psycopg.connect (PostgreSQL only)."""
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
    options = _query(parts.query, LIBPQ_OPTIONS | STORE_PG_OPTIONS, raw)
    return DatabaseURL(
        "postgresql", database,
        user=_plain(unquote(parts.username), "user", raw) if parts.username else None,
        password=_plain(unquote(parts.password), "password", raw) if parts.password else None,
        host=parts.hostname, port=port, options=options)
