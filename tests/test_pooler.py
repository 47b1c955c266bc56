"""store behind pgbouncer 1.18 in transaction pooling mode, on real servers
started for this run (tests/pgcluster.py): what keeps working, what is
refused, and how."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from pgcluster import pg_bouncer  # noqa: F401 - the session fixture

import store
from store.database import open_database
from store.migrate import App, StoreRouter
from store.replicas import PoolerRefused, ScaledPostgresStore

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def dbname(pg_bouncer):  # noqa: F811
    name = "pool_" + uuid.uuid4().hex[:8]
    pg_bouncer.create_database(name)
    return name


@pytest.fixture
def bouncer_url(pg_bouncer, dbname):  # noqa: F811
    return pg_bouncer.bouncer_url(dbname)


def test_psycopg_prepared_statements_break_behind_pgbouncer(pg_bouncer, dbname):  # noqa: F811
    """The control: psycopg's prepared statements, as it makes them by
    default, collide on pgbouncer's shared server connections."""
    raw = pg_bouncer.conninfo(pg_bouncer.bouncer_port, dbname)
    a = psycopg.connect(raw, autocommit=True, prepare_threshold=0)
    b = psycopg.connect(raw, autocommit=True, prepare_threshold=0)
    try:
        with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
            for n in range(5):
                a.execute("SELECT %s::int", (n,))
                b.execute("SELECT %s::int", (n,))
    finally:
        a.close()
        b.close()


def test_no_prepared_statements_through_the_pooler(bouncer_url):
    db = store.connect(bouncer_url)
    try:
        assert isinstance(db, ScaledPostgresStore)
        assert db.connection().prepare_threshold is None
        plain = open_database(bouncer_url)             # the CLI's copy path: same URL rule
        assert plain.connect_params["prepare_threshold"] is None
        db.execute_sql("CREATE TABLE hits (id serial PRIMARY KEY, n int)")
        errors = []

        def client():
            local = store.connect(bouncer_url)
            try:
                for n in range(30):                    # far past psycopg's threshold of 5
                    local.execute_sql("INSERT INTO hits (n) VALUES (%s)", (n,))
                    local.execute_sql("SELECT count(*) FROM hits WHERE n = %s", (n,)).fetchone()
            except Exception as exc:  # noqa: BLE001 - asserted below
                errors.append(exc)
            finally:
                local.close()

        threads = [threading.Thread(target=client) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:2]
        assert db.execute_sql("SELECT count(*) FROM hits").fetchone()[0] == 180
    finally:
        db.close()


def test_prepare_threshold_option(pg_bouncer, dbname):  # noqa: F811
    direct = pg_bouncer.url(dbname)
    assert "prepare_threshold" not in open_database(direct).connect_params
    assert open_database(direct + "?prepare_threshold=none").connect_params[
        "prepare_threshold"] is None
    assert open_database(direct + "?prepare_threshold=2").connect_params[
        "prepare_threshold"] == 2
    with pytest.raises(store.ConfigError, match="prepare_threshold"):
        open_database(direct + "?prepare_threshold=often")
    with pytest.raises(store.ConfigError, match="pooler"):
        open_database(direct + "?pooler=odyssey")


def test_utc_session_survives_other_clients_time_zones(pg_bouncer, bouncer_url, dbname):  # noqa: F811
    """store's SET TIME ZONE 'UTC' is a parameter pgbouncer tracks per client."""
    db = store.connect(bouncer_url)
    raw = psycopg.connect(pg_bouncer.conninfo(pg_bouncer.bouncer_port, dbname),
                          autocommit=True, prepare_threshold=None)
    try:
        raw.execute("SET TIME ZONE 'Asia/Tokyo'")
        for _ in range(10):
            assert db.execute_sql("SHOW TIME ZONE").fetchone()[0] == "UTC"
            assert raw.execute("SHOW TIME ZONE").fetchone()[0] == "Asia/Tokyo"
            with db.atomic():
                assert db.execute_sql("SHOW TIME ZONE").fetchone()[0] == "UTC"
    finally:
        raw.close()
        db.close()


@pytest.mark.parametrize("sql, match", [
    ("SELECT pg_advisory_lock(42)", "session advisory lock"),
    ("SELECT pg_try_advisory_lock(42)", "session advisory lock"),
    ("SELECT pg_advisory_unlock(42)", "session advisory lock"),
    ("LISTEN jobs", "LISTEN"),
    ("SET search_path TO tenant", "SET LOCAL search_path"),
    ("SET statement_timeout = 5", "SET LOCAL statement_timeout"),
    ("RESET search_path", "SET LOCAL search_path"),
    ("PREPARE p AS SELECT 1", "PREPARE"),
    ("CREATE TEMP TABLE scratch (x int)", "temporary table"),
])
def test_session_state_is_refused_clearly(bouncer_url, sql, match):
    db = store.connect(bouncer_url)
    try:
        with pytest.raises(PoolerRefused, match=match) as info:
            db.execute_sql(sql)
        assert "pooler=pgbouncer" in str(info.value)
    finally:
        db.close()


def test_what_keeps_working_in_a_transaction(bouncer_url):
    db = store.connect(bouncer_url)
    try:
        with db.atomic():
            db.execute_sql("SELECT pg_advisory_xact_lock(42)")
            db.execute_sql("SET LOCAL statement_timeout = 5000")
            assert db.execute_sql("SHOW statement_timeout").fetchone()[0] == "5s"
            db.execute_sql("CREATE TEMP TABLE scratch (x int) ON COMMIT DROP")
            db.execute_sql("SET TIME ZONE 'UTC'")       # tracked by pgbouncer
    finally:
        db.close()


def test_search_path_of_a_namespace_through_the_pooler(pg_bouncer, bouncer_url, dbname):  # noqa: F811
    with psycopg.connect(pg_bouncer.url(dbname), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA tenant")
    url = bouncer_url + "&options=" + quote("-csearch_path=tenant")
    # pgbouncer 1.18 refuses the startup parameter: a plain connection says so
    with pytest.raises(store.ConfigError, match="options=.*pooler=pgbouncer"):
        open_database(url)
    with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter"):
        psycopg.connect(pg_bouncer.conninfo(pg_bouncer.bouncer_port, dbname),
                        options="-csearch_path=tenant").close()
    # store.connect sets it per transaction (SET LOCAL), outside one too
    db = store.connect(url)
    other = store.connect(bouncer_url)
    try:
        db.execute_sql("CREATE TABLE notes (id serial PRIMARY KEY, body text)")
        db.execute_sql("INSERT INTO notes (body) VALUES ('x')")
        assert other.execute_sql("SHOW search_path").fetchone()[0] == '"$user", public'
        with db.atomic():
            assert db.execute_sql("SHOW search_path").fetchone()[0] == "tenant"
        assert db.execute_sql("SELECT count(*) FROM notes").fetchone()[0] == 1
        assert other.execute_sql("SELECT count(*) FROM tenant.notes").fetchone()[0] == 1
        assert not other.table_exists("notes")                    # not in public
    finally:
        db.close()
        other.close()


INITIAL = '''
import store

def migrate(migrator, database, fake=False):
    @migrator.create_model
    class Parent(store.Model):
        name = store.CharField(max_length=50, null=True)
        class Meta:
            table_name = "parent"

def rollback(migrator, database, fake=False):
    migrator.remove_model("parent")
'''

SLOW = '''
import time, store

def migrate(migrator, database, fake=False):
    migrator.run(time.sleep, 0.5)
    migrator.add_fields("parent", rank{n}=store.IntegerField(default=0))

def rollback(migrator, database, fake=False):
    migrator.remove_fields("parent", "rank{n}")
'''

RACE = '''
import sys, store
from store.migrate import App, StoreRouter
db = store.connect(sys.argv[1])
print(",".join(StoreRouter(db, App("shop", [], sys.argv[2])).run()))
'''


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(text))


def test_two_migrate_processes_through_pgbouncer_apply_each_once(bouncer_url, tmp_path):
    folder = tmp_path / "migrations" / "shop"
    _write(folder, "001_initial", INITIAL)
    for n in (2, 3, 4):
        _write(folder, f"00{n}_rank{n}", SLOW.format(n=n))
    script = tmp_path / "race.py"
    script.write_text(RACE)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, str(script), bouncer_url, str(folder)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outputs]
    applied = [name for out, _ in outputs for name in out.strip().split(",") if name]
    expected = ["001_initial", "002_rank2", "003_rank3", "004_rank4"]
    assert sorted(applied) == expected                       # each once, by one of them
    db = store.connect(bouncer_url)
    try:
        assert StoreRouter(db, App("shop", [], folder)).done == expected
        columns = {c.name for c in db.get_columns("parent")}
        assert {"rank2", "rank3", "rank4"} <= columns
    finally:
        db.close()


def test_a_non_atomic_migration_through_pgbouncer_is_refused(bouncer_url, tmp_path):
    folder = tmp_path / "migrations" / "shop"
    _write(folder, "001_initial", INITIAL)
    _write(folder, "002_index", '''
        atomic = False

        def migrate(migrator, database, fake=False):
            migrator.sql("CREATE INDEX CONCURRENTLY parent_name ON parent (name)")

        def rollback(migrator, database, fake=False):
            migrator.sql("DROP INDEX CONCURRENTLY parent_name")
    ''')
    db = store.connect(bouncer_url)
    try:
        router = StoreRouter(db, App("shop", [], folder))
        # PoolerRefused from store.replicas, or the runner's own MigrationError
        with pytest.raises((PoolerRefused, store.MigrationError), match="atomic = False.*directly"):
            router.run()
        assert router.done == ["001_initial"]
    finally:
        db.close()


def test_copy_into_a_database_behind_pgbouncer(bouncer_url, tmp_path):
    source = f"sqlite:///{tmp_path / 'source.db'}"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "examples/forecast.py", source], cwd=ROOT,
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    copy = subprocess.run([sys.executable, "cli.py", "copy", "--app", "forecast", "-q",
                           source, bouncer_url], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert copy.returncode == 0, copy.stderr[-2000:] + copy.stdout[-2000:]
    assert "counts and checksums match" in copy.stdout
    src, dst = store.connect(source), store.connect(bouncer_url)
    try:
        sql = "SELECT count(*) FROM forecasts"
        assert dst.execute_sql(sql).fetchone() == src.execute_sql(sql).fetchone()
        assert dst.execute_sql(sql).fetchone()[0] > 0
    finally:
        src.close()
        dst.close()


def test_namespaced_app_migrates_through_pgbouncer(bouncer_url):
    """dental lives in the schema ``dental``: its migrations run with
    search_path set to it, which pgbouncer 1.18 refuses as a startup option;
    store sets it with SET LOCAL in each transaction instead."""
    from store import namespaces
    try:
        db = store.connect(bouncer_url, apps=["dental"], migrate=True)
    except store.ConfigError as exc:
        assert "pooler=pgbouncer" in str(exc) and "options" in str(exc)   # refused clearly
        if "reopen" not in namespaces.open_namespace.__code__.co_names:
            pytest.xfail("store.namespaces.open_namespace does not use db.reopen yet "
                         "(the one-line hook of issue 18)")
        raise
    try:
        tables = db.execute_sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'dental'"
                                ).fetchone()[0]
        assert tables > 0
        assert db.execute_sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                              "AND tablename NOT LIKE '%migrate_history'").fetchone()[0] == 0
        assert db.execute_sql("SELECT count(*) FROM dental.dental_migrate_history"
                              ).fetchone()[0] >= 1
    finally:
        db.close()


def test_replicas_and_a_pooler_together(pg_bouncer, bouncer_url):  # noqa: F811
    """Writes through pgbouncer to the primary, reads straight to the replica."""
    pg_bouncer.wait_replayed()                          # the new database is on the replica
    db = store.connect(f"{bouncer_url}&replica={pg_bouncer.replica_address}",
                       replica_check_interval=0.1)
    try:
        db.execute_sql("CREATE TABLE kv (k text PRIMARY KEY, v int)")
        db.execute_sql("INSERT INTO kv VALUES ('a', 1)")
        assert db.execute_sql("SELECT v FROM kv WHERE k = 'a'").fetchone()[0] == 1
        assert db.execute_sql("SELECT inet_server_port()").fetchone()[0] in (
            pg_bouncer.replica_port, pg_bouncer.primary_port)
        pg_bouncer.wait_replayed()
        assert db.execute_sql("SELECT inet_server_port()").fetchone()[0] == \
            pg_bouncer.replica_port
        assert db.last_route == pg_bouncer.replica_address
        db.execute_sql("UPDATE kv SET v = 2")                     # through pgbouncer
        assert db.last_route == "primary"
        assert db.execute_sql("SELECT v FROM kv").fetchone()[0] == 2   # read-your-writes
    finally:
        db.close()
