"""Scratch databases for a benchmark run, and the same database as each
library reaches it.

SQLite: a file in a temporary directory (WAL, ``synchronous=NORMAL``,
foreign keys on: what store sets), removed at the end. PostgreSQL: a
database ``bench_<hex>`` created on the server of ``--postgres-url`` (else
``STORE_BENCH_POSTGRES_URL``, else ``postgresql://postgres@127.0.0.1:5432/postgres``)
and dropped at the end.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
SQLITE_PRAGMAS = ("PRAGMA journal_mode = wal", "PRAGMA synchronous = normal",
                  "PRAGMA foreign_keys = on", "PRAGMA busy_timeout = 10000")


@dataclass
class Scratch:
    backend: str          # "sqlite" or "postgresql"
    url: str              # store / peewee URL
    path: str | None = None

    @property
    def sqlalchemy_url(self) -> str:
        if self.backend == "sqlite":
            return self.url
        return self.url.replace("postgresql://", "postgresql+psycopg://", 1)

    def raw_connect(self):
        """A driver connection in autocommit mode, configured like store's."""
        if self.backend == "sqlite":
            conn = sqlite3.connect(self.path, isolation_level=None)
            for pragma in SQLITE_PRAGMAS:
                conn.execute(pragma)
            return conn
        return psycopg.connect(self.url, autocommit=True)

    def placeholder(self) -> str:
        return "?" if self.backend == "sqlite" else "%s"


def postgres_server_url(option: str | None) -> str:
    return option or os.environ.get("STORE_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES


@contextmanager
def scratch(backend: str, postgres_url: str | None = None, tag: str = ""):
    """Yield a ``Scratch`` for an empty database; remove it afterwards."""
    if backend == "sqlite":
        folder = tempfile.mkdtemp(prefix="store_bench_")
        path = os.path.join(folder, f"bench{tag}.db")
        try:
            yield Scratch("sqlite", f"sqlite:///{path}", path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    server = postgres_server_url(postgres_url)
    name = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = server.rsplit("/", 1)[0].split("?", 1)[0]
    try:
        yield Scratch("postgresql", f"{base}/{name}")
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_available(postgres_url: str | None) -> bool:
    try:
        psycopg.connect(postgres_server_url(postgres_url), connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001 - reported as "skipped" by the caller
        return False
