"""Real PostgreSQL topologies on loopback for the scale tests and benchmark:
a primary (``initdb``, ``wal_level=replica``), a streaming replica of it
(``pg_basebackup -R -X stream``) and a pgbouncer in transaction pooling
mode in front of the primary, each on a free 127.0.0.1 port, under one
temporary directory removed at the end.

Run as root, the servers run as the ``postgres`` user (``runuser``), which
owns the directory; run as another user, as that user. Binaries: ``initdb``
and friends from ``STORE_PG_BINDIR``, else Debian's
``/usr/lib/postgresql/<N>/bin``, else ``PATH``; ``pgbouncer`` from ``PATH``
(or ``/usr/sbin``).

Fixtures (session-scoped, shared by every test module that imports them):
``pg_cluster`` (primary + replica), ``pg_bouncer`` (the cluster's primary
behind pgbouncer). When a component cannot be started the tests that need it
skip with the reason, or fail under ``CI=true``. ``Cluster`` is usable on its
own (the benchmark uses it)::

    with Cluster() as cluster:
        cluster.start_primary(); cluster.start_replica(); cluster.start_pgbouncer()
        cluster.url("app"), cluster.replica_address, cluster.bouncer_url("app")
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import psycopg

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


class Unavailable(RuntimeError):
    """A component of the topology cannot be started here (the reason)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindir() -> str | None:
    env = os.environ.get("STORE_PG_BINDIR")
    if env:
        return env
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _pgbouncer() -> str | None:
    env = os.environ.get("STORE_PGBOUNCER")
    if env:
        return env if os.path.exists(env) else None
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)


class Cluster:
    """A primary, optionally a streaming replica and a pgbouncer, on loopback."""

    def __init__(self, base: str | None = None):
        self.bindir = _bindir()
        self.as_root = os.geteuid() == 0
        self.base = base or tempfile.mkdtemp(prefix="store-pgcluster-")
        os.chmod(self.base, 0o755)
        if self.as_root:
            try:
                shutil.chown(self.base, "postgres", "postgres")
            except LookupError:
                os.rmdir(self.base)
                raise Unavailable("run as root, the servers need a 'postgres' user") from None
        self.primary_port = self.replica_port = self.bouncer_port = None
        self._bouncer = None
        self._lock = threading.Lock()

    # -- helpers -----------------------------------------------------------------
    def _path(self, *parts) -> str:
        return os.path.join(self.base, *parts)

    def _run(self, argv, *, check=True, timeout=120):
        name = os.path.basename(argv[0])
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  cwd=self.base, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise Unavailable(f"{name}: {exc}") from None
        if check and done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise Unavailable(f"{name} failed: {' | '.join(tail)}")
        return done

    def _bin(self, name) -> str:
        if not self.bindir or not os.path.exists(os.path.join(self.bindir, name)):
            raise Unavailable(f"PostgreSQL server binary {name!r} not found (set "
                              f"STORE_PG_BINDIR, or install postgresql)")
        return os.path.join(self.bindir, name)

    @staticmethod
    def _wait(conninfo: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(conninfo, connect_timeout=2).close()
                return
            except psycopg.Error as exc:
                if time.monotonic() > deadline:
                    raise Unavailable(f"server at {conninfo} did not answer: {exc}") from None
                time.sleep(0.1)

    # -- PostgreSQL ----------------------------------------------------------------
    def start_primary(self) -> None:
        data = self._path("primary")
        self.primary_port = free_port()
        self._run([self._bin("initdb"), "-D", data, "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--locale=C", "-N"])
        with open(os.path.join(data, "postgresql.conf"), "a") as conf:
            conf.write("\n# store tests\n"
                       "listen_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.base}'\n"
                       "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n"
                       "max_connections = 150\nshared_buffers = 32MB\n"
                       "fsync = off\nfull_page_writes = off\n"
                       "wal_keep_size = 64MB\n")
        self._pg_start("primary", self.primary_port)

    def _pg_start(self, name, port) -> None:
        data = self._path(name)
        self._run([self._bin("pg_ctl"), "-D", data, "-l", self._path(f"{name}.log"),
                   "-o", f"-p {port}", "-w", "-t", "60", "start"])
        self._wait(self.conninfo(port))

    def start_replica(self) -> None:
        if self.primary_port is None:
            raise Unavailable("no primary to copy a replica from")
        data = self._path("replica")
        self.replica_port = free_port()
        self._run([self._bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary_port),
                   "-U", "postgres", "-D", data, "-R", "-X", "stream", "-c", "fast"])
        self._pg_start("replica", self.replica_port)

    def stop_replica(self, mode: str = "immediate") -> None:
        """Stop the replica (``immediate``: as if the machine went away)."""
        self._run([self._bin("pg_ctl"), "-D", self._path("replica"), "-m", mode, "-w",
                   "stop"], check=False)

    def restart_replica(self) -> None:
        self._pg_start("replica", self.replica_port)

    def wait_replayed(self, timeout: float = 10.0) -> None:
        """Until the replica has replayed everything the primary has written."""
        with psycopg.connect(self.conninfo(self.primary_port), autocommit=True) as p:
            target = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        with psycopg.connect(self.conninfo(self.replica_port), autocommit=True) as r:
            deadline = time.monotonic() + timeout
            while not r.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                                (str(target),)).fetchone()[0]:
                if time.monotonic() > deadline:
                    raise AssertionError("replica did not catch up")
                time.sleep(0.02)

    # -- pgbouncer -------------------------------------------------------------------
    def start_pgbouncer(self, pool_size: int = 10, max_clients: int = 300) -> None:
        exe = _pgbouncer()
        if exe is None:
            raise Unavailable("pgbouncer not found (apt-get install -y pgbouncer)")
        if self.primary_port is None:
            raise Unavailable("no primary to put pgbouncer in front of")
        self.bouncer_port = free_port()
        ini, users = self._path("pgbouncer.ini"), self._path("userlist.txt")
        with open(users, "w") as f:
            f.write('"postgres" ""\n')
        with open(ini, "w") as f:
            f.write("[databases]\n"
                    f"* = host=127.0.0.1 port={self.primary_port}\n"
                    "[pgbouncer]\n"
                    f"listen_addr = 127.0.0.1\nlisten_port = {self.bouncer_port}\n"
                    "unix_socket_dir =\n"
                    "auth_type = trust\n"
                    f"auth_file = {users}\n"
                    "pool_mode = transaction\n"
                    f"default_pool_size = {pool_size}\nmax_client_conn = {max_clients}\n"
                    f"logfile = {self._path('pgbouncer.log')}\n"
                    f"pidfile = {self._path('pgbouncer.pid')}\n"
                    "admin_users = postgres\n")
        if self.as_root:
            for path in (ini, users):
                shutil.chown(path, "postgres", "postgres")
        argv = [exe, ini]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        self._bouncer = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, text=True,
                                         start_new_session=True)
        try:
            self._wait(self.conninfo(self.bouncer_port, "postgres"), timeout=15)
        except Unavailable:
            self.stop_pgbouncer()
            log = []
            if os.path.exists(self._path("pgbouncer.log")):
                with open(self._path("pgbouncer.log")) as f:
                    log = f.read().strip().splitlines()[-2:]
            raise Unavailable(f"pgbouncer did not start: {log}") from None

    def stop_pgbouncer(self) -> None:
        proc, self._bouncer = self._bouncer, None
        if proc is None:
            return
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)      # its own session: pgbouncer only
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)

    # -- URLs ------------------------------------------------------------------------
    @staticmethod
    def conninfo(port: int, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/{dbname}"

    def url(self, dbname: str) -> str:
        return self.conninfo(self.primary_port, dbname)

    @property
    def replica_address(self) -> str:
        return f"127.0.0.1:{self.replica_port}"

    def bouncer_url(self, dbname: str) -> str:
        return self.conninfo(self.bouncer_port, dbname) + "?pooler=pgbouncer"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.conninfo(self.primary_port), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    # -- teardown --------------------------------------------------------------------
    def stop(self) -> None:
        self.stop_pgbouncer()
        for name in ("replica", "primary"):
            if os.path.exists(self._path(name, "postmaster.pid")):
                self._run([self._bin("pg_ctl"), "-D", self._path(name), "-m", "immediate",
                           "-w", "stop"], check=False)
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# --- pytest fixtures ---------------------------------------------------------------

_shared: dict = {"cluster": None, "users": 0, "errors": {}}


def _unavailable(reason: str):
    import pytest
    message = f"scale topology unavailable: {reason}"
    if IN_CI:
        pytest.fail(message + " (CI=true: these tests must run)", pytrace=False)
    pytest.skip(message)


def _acquire(component: str) -> Cluster:
    """The process-wide cluster with ``component`` started (once)."""
    errors = _shared["errors"]
    if component == "pgbouncer" and _pgbouncer() is None:
        errors[component] = "pgbouncer not found (apt-get install -y pgbouncer)"
    if component in errors:
        _unavailable(errors[component])
    cluster = _shared["cluster"]
    try:
        if cluster is None:
            cluster = _shared["cluster"] = Cluster()
            cluster.start_primary()
            cluster.start_replica()
        if component == "pgbouncer" and cluster.bouncer_port is None:
            cluster.start_pgbouncer()
    except Unavailable as exc:
        errors[component] = str(exc)
        if component == "replica" or _shared["users"] <= 0:
            if component == "replica":
                errors["pgbouncer"] = str(exc)     # nothing to put it in front of
            _shared["cluster"] = None               # nobody else uses what was started
            if cluster is not None:
                cluster.stop()
        _unavailable(str(exc))
    return cluster


def _release() -> None:
    _shared["users"] -= 1
    if _shared["users"] <= 0 and _shared["cluster"] is not None:
        _shared["cluster"].stop()
        _shared["cluster"] = None


def _fixture(component):
    import pytest

    @pytest.fixture(scope="session")
    def fixture():
        cluster = _acquire(component)
        _shared["users"] += 1
        try:
            yield cluster
        finally:
            _release()
    return fixture


pg_cluster = _fixture("replica")
pg_bouncer = _fixture("pgbouncer")
