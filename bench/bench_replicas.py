"""Past one PostgreSQL, measured: a read replica and a transaction pooler.

    python bench/bench_replicas.py [--seconds 3] [--rows 10000]

Starts its own primary, streaming replica and pgbouncer (transaction pooling,
10 server connections) on loopback under a temporary directory
(``tests/pgcluster.py``; as root the servers run as ``postgres``), fills a
table, then measures primary-key lookups through store's models, each phase
``--seconds`` long:

1. reads: 4 client processes against the primary alone, then against
   primary + replica (``?replica=``: every read goes to the replica);
2. pooling: 100 client connections (4 processes x 25 threads), each running
   short transactions (a lookup and an update), straight to the primary (100
   server connections), then through pgbouncer onto 10 server connections.

Prints operations per second and the ratios. On one machine primary, replica
and clients share the same cores: the replica ratio measures what routing
costs, not the capacity a replica on its own machine adds (see docs/scale.md).
Everything it started is stopped at the end.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import psycopg
from pgcluster import Cluster

import store


class Item(store.Model):
    name = store.CharField(max_length=40)
    qty = store.IntegerField(default=0)

    class Meta:
        table_name = "item"


def _client(url, threads, rows, start_at, seconds, write, queue):
    """One client process: ``threads`` connections, each looping until the
    end of the phase; puts (operations, errors, routes seen)."""
    db = store.connect(url, models=[Item])
    counts, errors, routes = [0] * threads, [0] * threads, set()

    def loop(slot):
        rng = random.Random(os.getpid() * 1000 + slot)
        Item.get_by_id(1)                                 # connect before the clock
        while time.time() < start_at:
            time.sleep(0.005)
        end = start_at + seconds
        while time.time() < end:
            key = rng.randint(1, rows)
            try:
                if write:
                    with db.atomic():
                        Item.get_by_id(key)
                        Item.update(qty=Item.qty + 1).where(Item.id == key).execute()
                else:
                    Item.get_by_id(key)
                counts[slot] += 1
            except Exception:  # noqa: BLE001 - counted and reported
                errors[slot] += 1
        routes.add(getattr(db, "last_route", "primary"))
        db.close()

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put((sum(counts), sum(errors), sorted(routes)))


def phase(name, url, *, processes, threads, rows, seconds, write=False):
    queue = multiprocessing.Queue()
    start_at = time.time() + 1.0 + 0.02 * processes * threads
    procs = [multiprocessing.Process(target=_client,
                                     args=(url, threads, rows, start_at, seconds, write, queue))
             for _ in range(processes)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120 + seconds) for _ in procs]
    for p in procs:
        p.join()
    ops = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    routes = sorted({route for r in results for route in r[2]})
    rate = ops / seconds
    print(f"  {name:<44} {rate:>10,.0f} ops/s  errors {errors}  ran on {', '.join(routes)}")
    return rate, errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args(argv)

    with Cluster() as cluster:
        t0 = time.monotonic()
        cluster.start_primary()
        cluster.start_replica()
        cluster.start_pgbouncer(pool_size=10, max_clients=300)
        url = cluster.create_database("bench")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE item (id serial PRIMARY KEY, name varchar(40) NOT NULL,"
                         " qty integer NOT NULL DEFAULT 0)")
            conn.execute("INSERT INTO item (name) SELECT 'item ' || g "
                         "FROM generate_series(1, %s) g", (args.rows,))
            conn.execute("VACUUM ANALYZE item")
        cluster.wait_replayed()
        print(f"primary :{cluster.primary_port}, replica :{cluster.replica_port}, "
              f"pgbouncer :{cluster.bouncer_port} (transaction pooling, 10 server "
              f"connections) up in {time.monotonic() - t0:.1f} s; {args.rows:,} rows; "
              f"{os.cpu_count()} cores; {args.seconds:g} s per phase")

        print("reads, 4 client processes (primary-key lookups outside a transaction):")
        alone, _ = phase("primary alone", url, processes=4, threads=1, rows=args.rows,
                         seconds=args.seconds)
        routed, _ = phase("primary + replica (reads on the replica)",
                          f"{url}?replica={cluster.replica_address}", processes=4, threads=1,
                          rows=args.rows, seconds=args.seconds)

        print("100 client connections, short transactions (lookup + update):")
        direct, direct_errors = phase("direct: 100 server connections", url, processes=4,
                                      threads=25, rows=args.rows, seconds=args.seconds,
                                      write=True)
        pooled, pooled_errors = phase("through pgbouncer: 10 server connections",
                                      cluster.bouncer_url("bench"), processes=4, threads=25,
                                      rows=args.rows, seconds=args.seconds, write=True)
        with psycopg.connect(cluster.conninfo(cluster.primary_port), autocommit=True) as conn:
            backends = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                    "'bench'").fetchone()[0]

        print("ratios:")
        print(f"  reads, primary + replica / primary alone:            {routed / alone:.2f}")
        print(f"  100 clients, pgbouncer (10 server conns) / direct:  {pooled / direct:.2f}")
        print(f"  server connections to 'bench' left open by pgbouncer: {backends} (pool 10)")
        if direct_errors or pooled_errors:
            print(f"  errors: direct {direct_errors}, pgbouncer {pooled_errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
