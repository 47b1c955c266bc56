"""SQLite table rebuild (store's migration path) against a bare copy.

    python bench/bench_rebuild.py [--rows 1000000] [--repeat 3]

A table of ``--rows`` rows (text, integer, JSON, a CHECK, two indexes, a
trigger and a child table pointing at it) is rebuilt the way a migration
that adds a CHECK does (``store.migrate.rebuild``: new table from the edited
definition, copy, drop, rename, indexes and triggers re-created), and copied
with a bare ``CREATE TABLE ... ; INSERT INTO ... SELECT`` (no indexes), each
in a transaction that is rolled back, round-robin, ``--repeat`` times. Prints
the medians and the ratio rebuild / bare copy.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import store  # noqa: E402
from store.migrate.rebuild import SqliteTable, TableEdit  # noqa: E402


def build(db, rows):
    db.execute_sql("""CREATE TABLE item (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name VARCHAR(40) NOT NULL,
        qty INTEGER NOT NULL DEFAULT 0,
        data TEXT CHECK (data IS NULL OR json_valid(data)),
        CONSTRAINT ck_item_qty CHECK (qty >= 0))""")
    db.execute_sql("CREATE INDEX ix_item_name ON item (name)")
    db.execute_sql("CREATE INDEX ix_item_qty ON item (qty DESC)")
    db.execute_sql("""CREATE TRIGGER tr_item_touch AFTER UPDATE OF qty ON item
                      BEGIN SELECT 1; END""")
    db.execute_sql("""CREATE TABLE part (id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES item (id) ON DELETE CASCADE)""")
    batch = 50_000
    with db.atomic():
        for start in range(0, rows, batch):
            db.cursor().executemany(
                "INSERT INTO item (name, qty, data) VALUES (?, ?, ?)",
                [(f"item {i}", i % 1000, json.dumps({"i": i, "tags": ["a", "b"]}))
                 for i in range(start, min(rows, start + batch))])
        db.execute_sql("INSERT INTO part (item_id) SELECT id FROM item WHERE id % 10 = 0")


def rebuild(db):
    SqliteTable(db, "item").rebuild(
        TableEdit(add_constraints=['CONSTRAINT "ck_item_qty_small" CHECK (qty < 100000)']))


def bare_copy(db):
    db.execute_sql("CREATE TABLE item_copy (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                   "name VARCHAR(40) NOT NULL, qty INTEGER NOT NULL DEFAULT 0, data TEXT)")
    db.execute_sql("INSERT INTO item_copy (id, name, qty, data) "
                   "SELECT id, name, qty, data FROM item")


def copy_with_indexes(db):
    """The bare copy plus what a rebuild must keep: CHECKs and indexes."""
    db.execute_sql("CREATE TABLE item_copy (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                   "name VARCHAR(40) NOT NULL, qty INTEGER NOT NULL DEFAULT 0, "
                   "data TEXT CHECK (data IS NULL OR json_valid(data)), "
                   "CONSTRAINT ck_copy_qty CHECK (qty >= 0))")
    db.execute_sql("INSERT INTO item_copy (id, name, qty, data) "
                   "SELECT id, name, qty, data FROM item")
    db.execute_sql("CREATE INDEX ix_copy_name ON item_copy (name)")
    db.execute_sql("CREATE INDEX ix_copy_qty ON item_copy (qty DESC)")


def timed(db, fn):
    db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with db.atomic() as txn:
            start = time.perf_counter()
            fn(db)
            elapsed = time.perf_counter() - start
            txn.rollback()
    finally:
        db.execute_sql("PRAGMA foreign_keys = ON")
    return elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = store.connect(f"sqlite:///{Path(tmp) / 'bench.db'}")
        t0 = time.perf_counter()
        build(db, args.rows)
        print(f"built {args.rows:,} rows in {time.perf_counter() - t0:.1f} s")
        times = {"rebuild": [], "copy+checks+indexes": [], "bare copy": []}
        for _ in range(args.repeat):
            times["bare copy"].append(timed(db, bare_copy))
            times["copy+checks+indexes"].append(timed(db, copy_with_indexes))
            times["rebuild"].append(timed(db, rebuild))
        base = statistics.median(times["bare copy"])
        print(f"{'':20} {'median s':>9} {'spread s':>9} {'ratio':>6}")
        for name, values in times.items():
            med = statistics.median(values)
            print(f"{name:20} {med:9.3f} {max(values) - min(values):9.3f} {med / base:6.2f}")
        assert db.execute_sql("SELECT count(*) FROM part").fetchone()[0] == args.rows // 10
        db.close()


if __name__ == "__main__":
    main()
