"""Read replicas on real servers: a primary and a streaming replica started on
loopback for this run (tests/pgcluster.py), no mocks."""
from __future__ import annotations

import threading
import time
import uuid
import warnings

import psycopg
import pytest
from pgcluster import pg_cluster  # noqa: F401 - the session fixture

import store
from store.replicas import (
    ReplicaWarning,
    ScaledPostgresStore,
    is_replica_read,
    replica_lag,
)

PW = "Replica-S3cret"


class Item(store.Model):
    name = store.CharField(max_length=40)
    qty = store.IntegerField(default=0)


@pytest.fixture(scope="module")
def app_url(pg_cluster):  # noqa: F811
    url = pg_cluster.create_database("rep_" + uuid.uuid4().hex[:8])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE item (id serial PRIMARY KEY, name varchar(40) NOT NULL, "
                     "qty integer NOT NULL DEFAULT 0)")
    pg_cluster.wait_replayed()
    return url


@pytest.fixture
def db(pg_cluster, app_url):  # noqa: F811
    database = store.connect(f"{app_url}?replica={pg_cluster.replica_address}",
                             models=[Item], replica_check_interval=0.1)
    Item.delete().execute()
    yield database
    _apply_delay(pg_cluster, None)
    database.close()


def _apply_delay(cluster, delay: str | None) -> None:
    """Make the replica apply commits ``delay`` late (None: at once)."""
    with psycopg.connect(cluster.conninfo(cluster.replica_port), autocommit=True) as conn:
        if delay is None:
            conn.execute("ALTER SYSTEM RESET recovery_min_apply_delay")
        else:
            conn.execute(f"ALTER SYSTEM SET recovery_min_apply_delay = '{delay}'")
        conn.execute("SELECT pg_reload_conf()")
    time.sleep(0.2)


def _server_port(db) -> int:
    """The port of the server the read ran on (a plain SELECT: routable)."""
    return db.execute_sql("SELECT inet_server_port()").fetchone()[0]


def test_reads_outside_a_transaction_go_to_the_replica(db, pg_cluster):  # noqa: F811
    Item.create(name="a", qty=1)
    assert db.last_route == "primary"
    pg_cluster.wait_replayed()
    assert [i.name for i in Item.select()] == ["a"]
    assert db.last_route == pg_cluster.replica_address
    assert _server_port(db) == pg_cluster.replica_port


def test_everything_else_goes_to_the_primary(db, pg_cluster):  # noqa: F811
    Item.create(name="b")
    pg_cluster.wait_replayed()
    with db.atomic():                                     # a transaction: one connection
        assert _server_port(db) == pg_cluster.primary_port
        assert Item.select().count() == 1
        assert db.last_route == "primary"
    with db.atomic():
        assert Item.select().where(Item.name == "b").for_update().get().name == "b"
        assert db.last_route == "primary"
    Item.update(qty=5).execute()
    assert db.last_route == "primary"
    with db.primary():
        assert _server_port(db) == pg_cluster.primary_port
    db.table_exists("item")                               # catalog: primary
    assert db.last_route == "primary"


def test_statement_classification():
    assert is_replica_read('SELECT "t1"."id" FROM "item" AS "t1"')
    assert is_replica_read("  (SELECT 1) UNION (SELECT 2)")
    for sql in ("SELECT 1 FROM item FOR UPDATE", "SELECT * FROM item FOR NO KEY UPDATE",
                "SELECT * FROM item FOR SHARE", "SELECT nextval('item_id_seq')",
                "SELECT pg_advisory_xact_lock(1)", "SELECT * FROM pg_catalog.pg_class",
                "SELECT * FROM information_schema.tables",
                "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
                "INSERT INTO item (name) VALUES ('x')",
                'SELECT * FROM "forecast_migrate_history"', "SELECT * INTO copy FROM item"):
        assert not is_replica_read(sql), sql


def test_read_your_writes(db, pg_cluster):  # noqa: F811
    _apply_delay(pg_cluster, "400ms")          # the replica is behind every commit
    for n in range(5):
        Item.create(name=f"w{n}")
        # the write is not on the replica yet: this read goes to the primary
        assert Item.select().count() == n + 1
        assert db.last_route == "primary"
    pg_cluster.wait_replayed()                 # the replica has replayed them
    assert Item.select().count() == 5
    assert db.last_route == pg_cluster.replica_address


def test_read_your_writes_can_be_turned_off(pg_cluster, app_url):  # noqa: F811
    _apply_delay(pg_cluster, "400ms")
    db = store.connect(f"{app_url}?replica={pg_cluster.replica_address}"
                       "&read_your_writes=false", models=[Item], replica_check_interval=0.1)
    try:
        Item.delete().execute()
        pg_cluster.wait_replayed()
        Item.create(name="unseen")
        assert Item.select().count() == 0         # stale, as documented
        assert db.last_route == pg_cluster.replica_address
        pg_cluster.wait_replayed()
        assert Item.select().count() == 1
    finally:
        _apply_delay(pg_cluster, None)
        db.close()


def test_a_lagging_replica_is_skipped_with_a_warning(pg_cluster, app_url):  # noqa: F811
    db = store.connect(f"{app_url}?replica={pg_cluster.replica_address}"
                       "&max_replica_lag=0.3&read_your_writes=false", models=[Item],
                       replica_check_interval=0.1)
    try:
        Item.delete().execute()
        pg_cluster.wait_replayed()
        _apply_delay(pg_cluster, "2s")
        Item.create(name="slow")
        time.sleep(0.6)
        with pytest.warns(ReplicaWarning, match=r"lags .*max_replica_lag=0\.3"):
            assert Item.select().count() == 1      # the primary answers
        assert db.last_route == "primary"
        _apply_delay(pg_cluster, None)
        pg_cluster.wait_replayed()
        time.sleep(0.2)
        with pytest.warns(ReplicaWarning, match="is back"):
            Item.select().count()
        assert db.last_route == pg_cluster.replica_address
    finally:
        _apply_delay(pg_cluster, None)
        db.close()


def test_replica_killed_mid_run(db, pg_cluster):  # noqa: F811
    Item.insert_many([{"name": f"k{n}"} for n in range(10)]).execute()
    pg_cluster.wait_replayed()
    results, failures, routes = [], [], set()
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                results.append(Item.select().count())
                routes.add(db.last_route)
            except Exception as exc:  # noqa: BLE001 - counted, asserted below
                failures.append(exc)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            pg_cluster.stop_replica()                     # kill -9 of its postmaster, as it were
            time.sleep(1.0)
            down = set(routes)
            routes.clear()
            time.sleep(0.5)
            after_kill = set(routes)
        finally:
            pg_cluster.restart_replica()
            time.sleep(0.5)
            stop.set()
            for t in threads:
                t.join()
        down_warnings = [w for w in caught if issubclass(w.category, ReplicaWarning)]
    assert not failures, failures[:3]
    assert set(results) == {10}
    assert pg_cluster.replica_address in down          # it served reads before the kill
    assert after_kill == {"primary"}                   # then the primary did, alone
    assert any("skipped" in str(w.message) for w in down_warnings)
    # the replica is back: reads go to it again
    time.sleep(0.3)
    deadline = time.monotonic() + 10
    while True:
        Item.select().count()
        if db.last_route == pg_cluster.replica_address or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert db.last_route == pg_cluster.replica_address


def test_replica_credentials_never_shown(pg_cluster, app_url, caplog):  # noqa: F811
    dead = f"postgresql://postgres:{PW}@127.0.0.1:1/nothing"
    live = app_url.replace("postgres@", f"postgres:{PW}@").replace(
        f":{pg_cluster.primary_port}/", f":{pg_cluster.replica_port}/")
    db = store.connect(app_url, models=[Item], replicas=[dead, live],
                       replica_check_interval=0.1)
    try:
        assert isinstance(db, ScaledPostgresStore)
        assert PW not in repr(db)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(20):
                Item.select().count()
        messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
        assert any("127.0.0.1:1" in m for m in messages)
        assert all(PW not in m for m in messages)
        assert db.last_route == pg_cluster.replica_address   # the live one serves
    finally:
        db.close()


def test_bad_replica_options_are_named(app_url):
    with pytest.raises(store.ConfigError, match="replica"):
        store.connect(f"{app_url}?replica=user:{PW}@host:5432")
    with pytest.raises(store.ConfigError, match="max_replica_lag"):
        store.connect(f"{app_url}?replica=h&max_replica_lag=soon")
    with pytest.raises(store.ConfigError, match="read_your_writes"):
        store.connect(f"{app_url}?replica=h&read_your_writes=maybe")


def test_migrate_runs_on_the_primary(pg_cluster):  # noqa: F811
    url = pg_cluster.create_database("mig_" + uuid.uuid4().hex[:8])
    pg_cluster.wait_replayed()
    db = store.connect(f"{url}?replica={pg_cluster.replica_address}", apps=["forecast"],
                       migrate=True, replica_check_interval=0.1)
    try:
        with db.primary():
            applied = db.execute_sql("SELECT count(*) FROM forecast_migrate_history").fetchone()
        assert applied[0] >= 1
    finally:
        db.close()


def test_lag_bounds():
    assert replica_lag(True, 600.0, None) == 0.0
    assert replica_lag(False, 600.0, None) == 600.0      # never seen caught up
    assert replica_lag(False, 600.0, 0.5) == 0.5          # idle, then one write
    assert replica_lag(False, 2.0, 30.0) == 2.0
