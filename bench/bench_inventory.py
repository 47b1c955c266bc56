"""Benchmark (not a test): insert detections over N days into the inventory
app's day-partitioned ``detections`` table, then time a one-day query, on
SQLite (a file in a temporary directory) and PostgreSQL (a scratch database
created for the run and dropped after it).

    python bench/bench_inventory.py                     # 1,000,000 rows, 30 days
    python bench/bench_inventory.py --rows 20000        # a quick check
    python bench/bench_inventory.py --backends sqlite

Inserts go through the model (``Detection.insert_many`` in batches, a
transaction per ``--txn-rows`` rows), so store's write validation is part of
the cost. PostgreSQL is found from ``--postgres-url``, else
``STORE_BENCH_POSTGRES_URL``, else ``postgresql://postgres@127.0.0.1:5432/postgres``
(a server database the scratch database is created from).

Printed per backend: rows inserted, insert seconds and rows/s; then for the
middle day: the rows it holds, the time to fetch them all (best of
``--repeat``) and to count them.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import store  # noqa: E402
from store.apps.inventory.models import (MODELS, Classification, Detection,  # noqa: E402
                                         ImageContentType, PhotoProcessingSession, S3Image,
                                         SessionStatus, User)
from store.partitions import create_partitions  # noqa: E402

START = dt.date(2024, 1, 1)
FIELDS = [Detection.captured_on, Detection.session, Detection.classification,
          Detection.center_x, Detection.center_y, Detection.width, Detection.height,
          Detection.confidence]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="detections to insert")
    parser.add_argument("--days", type=int, default=30, help="days they spread over")
    parser.add_argument("--batch", type=int, default=1000, help="rows per insert_many")
    parser.add_argument("--txn-rows", type=int, default=50_000, help="rows per transaction")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each query (best kept)")
    parser.add_argument("--backends", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "STORE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args(argv)
    if args.rows < 1 or args.days < 1 or args.batch < 1 or args.txn_rows < 1:
        parser.error("--rows, --days, --batch and --txn-rows must be positive")
    return args


# --- the scratch databases ---------------------------------------------------------

class SqliteTarget:
    name = "sqlite"

    def __enter__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="store_bench_")
        return f"sqlite:///{Path(self._dir.name) / 'bench.db'}"

    def __exit__(self, *exc):
        self._dir.cleanup()


class PostgresTarget:
    name = "postgresql"

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.database = "store_bench_" + uuid.uuid4().hex[:10]

    def __enter__(self):
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        base = self.admin_url.split("?", 1)[0].rsplit("/", 1)[0]
        return f"{base}/{self.database}"

    def __exit__(self, *exc):
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


# --- the run ------------------------------------------------------------------------

def setup(db, days: int):
    """Tables, partitions, and the parents every detection points to."""
    db.bind_models(MODELS)
    db.create_tables(MODELS)
    create_partitions(db, Detection, START, days)
    user = User.create(email="bench@example.com", full_name="Bench")
    classes = [Classification.create(model_version="bench", label=f"class-{i}").id
               for i in range(5)]
    sessions = []
    for d in range(days):
        image = S3Image.create(bucket="bench", object_key=f"day-{d}.jpg",
                               content_type=ImageContentType.JPEG, size_bytes=1,
                               uploaded_by=user)
        sessions.append(PhotoProcessingSession.create(image=image, user=user,
                                                      status=SessionStatus.PROCESSING).id)
    return sessions, classes


def generate(rows: int, days: int, sessions, classes, seed=7):
    """Detections in capture order: day by day, ``rows`` spread evenly."""
    rng = random.Random(seed)
    per_day, extra = divmod(rows, days)
    for d in range(days):
        day = START + dt.timedelta(days=d)
        for _ in range(per_day + (1 if d < extra else 0)):
            yield (day, sessions[d], rng.choice(classes),
                   rng.uniform(0, 4000), rng.uniform(0, 3000), rng.uniform(5, 80),
                   rng.uniform(5, 80), rng.random())


def insert(db, rows_iter, batch: int, txn_rows: int) -> int:
    done = 0
    pending = []
    txn = db.atomic()
    txn.__enter__()
    in_txn = 0
    try:
        for row in rows_iter:
            pending.append(row)
            if len(pending) == batch:
                Detection.insert_many(pending, fields=FIELDS).as_rowcount().execute()
                done += len(pending)
                in_txn += len(pending)
                pending = []
                if in_txn >= txn_rows:
                    txn.__exit__(None, None, None)
                    txn = db.atomic()
                    txn.__enter__()
                    in_txn = 0
        if pending:
            Detection.insert_many(pending, fields=FIELDS).as_rowcount().execute()
            done += len(pending)
    except BaseException:
        txn.__exit__(*sys.exc_info())
        raise
    txn.__exit__(None, None, None)
    return done


def best_of(repeat: int, action):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return min(times), result


def run(target, args) -> dict:
    with target as url:
        db = store.connect(url)
        try:
            sessions, classes = setup(db, args.days)
            start = time.perf_counter()
            inserted = insert(db, generate(args.rows, args.days, sessions, classes),
                              args.batch, args.txn_rows)
            seconds = time.perf_counter() - start
            db.execute_sql("ANALYZE")
            day = START + dt.timedelta(days=args.days // 2)
            one_day = Detection.select(*FIELDS).where(Detection.captured_on == day)
            fetch_s, rows = best_of(args.repeat, lambda: len(list(one_day.tuples())))
            count_s, counted = best_of(args.repeat, one_day.count)
            assert rows == counted
            total = Detection.select().count()
            assert total == inserted == args.rows, (total, inserted)
        finally:
            db.close()
            for model in MODELS:
                model.bind(None)
    return {"backend": target.name, "rows": inserted, "insert_s": seconds,
            "rate": inserted / seconds, "day_rows": rows, "fetch_ms": fetch_s * 1000,
            "count_ms": count_s * 1000}


def print_table(results, args):
    print(f"\n{args.rows:,} detections over {args.days} days, insert_many batches of "
          f"{args.batch}, {args.txn_rows:,} rows per transaction\n")
    head = ("backend", "rows", "insert s", "rows/s", "one-day rows", "fetch day ms",
            "count day ms")
    lines = [head] + [(r["backend"], f"{r['rows']:,}", f"{r['insert_s']:.1f}",
                       f"{r['rate']:,.0f}", f"{r['day_rows']:,}", f"{r['fetch_ms']:.1f}",
                       f"{r['count_ms']:.1f}") for r in results]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for n, line in enumerate(lines):
        print("  ".join(cell.rjust(w) if i else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(line, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main(argv=None) -> int:
    args = parse_args(argv)
    targets = {"sqlite": SqliteTarget, "postgresql": lambda: PostgresTarget(args.postgres_url)}
    wanted = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in wanted if b not in targets]
    if unknown:
        print(f"unknown backend(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    results = []
    for name in wanted:
        print(f"{name}: inserting {args.rows:,} detections ...", flush=True)
        results.append(run(targets[name](), args))
    print_table(results, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
