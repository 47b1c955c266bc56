"""Decimal columns: writing and reading them through store against the raw driver.

    python bench/bench_decimals.py [--rows 20000] [--repeat 5] [--backends sqlite,postgresql]
    python bench/bench_decimals.py --store-path /other/checkout     # another store version

A table of three ``DecimalField`` columns (money at scale 2, a rate at scale
3, a 15-digit total); per backend: ``Model.insert_many``,
``store.fast.bulk_insert`` and reading every row into model instances, each
against the raw driver doing the same work in the same run (``executemany``
of the numbers as the driver takes them; ``fetchall`` of the rows). Prints
medians and the ratio to raw. ``--store-path`` imports store from another
checkout, so two versions can be compared (each against its own raw run).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--store-path", default=str(Path(__file__).resolve().parents[1]),
                   help="the checkout whose store is measured (default: this one)")
    return p.parse_args(argv)


def rows_of(n, seed=7):
    rnd = random.Random(seed)
    return [{"price": Decimal(rnd.randrange(0, 10 ** 8)).scaleb(-2),
             "rate": Decimal(rnd.randrange(-10 ** 5, 10 ** 5)).scaleb(-3),
             "total": Decimal(rnd.randrange(-10 ** 13, 10 ** 13)).scaleb(-2)}
            for _ in range(n)]


def measure(variants, repeat):
    times = {name: [] for name, *_ in variants}
    for i in range(repeat):
        for name, prepare, run in variants[i % len(variants):] + variants[:i % len(variants)]:
            prepare()
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def bench_backend(store, backend, args, rows):
    import psycopg
    import sqlite3
    import tempfile
    import uuid
    from store import fast

    tmp = tempfile.mkdtemp()
    if backend == "sqlite":
        url = f"sqlite:///{tmp}/bench.db"
        raw = sqlite3.connect(f"{tmp}/bench.db", isolation_level=None)
        raw.execute("PRAGMA journal_mode = wal")
        marker = "?"
    else:
        name = "bench_dec_" + uuid.uuid4().hex[:8]
        with psycopg.connect(args.postgres_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = args.postgres_url.rsplit("/", 1)[0] + "/" + name
        raw = psycopg.connect(url, autocommit=True)
        marker = "%s"
    db = store.connect(url)

    class Ledger(store.Model):
        price = store.DecimalField(10, 2)
        rate = store.DecimalField(6, 3)
        total = store.DecimalField(15, 2)

        class Meta:
            database = db
            table_name = "ledger"

    db.create_tables([Ledger])
    # the raw driver gets the numbers as it stores them: floats for SQLite's
    # REAL/NUMERIC (store >= 0.2), Decimals for NUMERIC on PostgreSQL
    as_raw = (lambda v: float(v)) if backend == "sqlite" else (lambda v: v)
    raw_rows = [(as_raw(r["price"]), as_raw(r["rate"]), as_raw(r["total"])) for r in rows]
    insert_sql = f"INSERT INTO ledger (price, rate, total) VALUES ({marker}, {marker}, {marker})"

    def empty():
        Ledger.delete().execute()

    def raw_insert():
        cur = raw.cursor()
        if backend == "sqlite":
            cur.execute("BEGIN")
            cur.executemany(insert_sql, raw_rows)
            cur.execute("COMMIT")
        else:
            with raw.transaction():
                cur.executemany(insert_sql, raw_rows)

    def orm_insert():
        with db.atomic():
            for start in range(0, len(rows), 1000):
                Ledger.insert_many(rows[start:start + 1000]).execute()

    def fast_insert():
        fast.bulk_insert(Ledger, rows)

    out = measure([("raw executemany", empty, raw_insert),
                   ("Model.insert_many", empty, orm_insert),
                   ("fast.bulk_insert", empty, fast_insert)], args.repeat)
    raw_insert()

    def nothing():
        pass

    def raw_read():
        raw.execute("SELECT id, price, rate, total FROM ledger").fetchall()

    def orm_read():
        list(Ledger.select())

    out.update(measure([("raw fetchall", nothing, raw_read),
                        ("select into instances", nothing, orm_read)], args.repeat))
    db.close()
    raw.close()
    if backend == "postgresql":
        with psycopg.connect(args.postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}"')
    return out


def main(argv=None):
    args = parse(argv)
    sys.path.insert(0, args.store_path)
    import store
    print(f"store from {Path(store.__file__).parent}, {args.rows} rows, median of {args.repeat}")
    rows = rows_of(args.rows)
    for backend in args.backends.split(","):
        out = bench_backend(store, backend, args, rows)
        print(f"\n{backend}")
        for name, ref in (("Model.insert_many", "raw executemany"),
                          ("fast.bulk_insert", "raw executemany"),
                          ("select into instances", "raw fetchall")):
            print(f"  {name:24} {out[name] * 1000:8.1f} ms  {out[name] / out[ref]:5.2f}x raw "
                  f"({ref} {out[ref] * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
