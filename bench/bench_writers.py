"""Several processes inserting into one SQLite file at once.

    python bench/bench_writers.py [--processes 4] [--seconds 10] [--batch 1]

Each process opens the same WAL file through ``store.connect`` and inserts a
forecast-like row (JSON included) per transaction (``--batch`` rows) for
``--seconds``, counting every error; prints rows/s per process and in total,
and the number of "database is locked" errors (the target is zero).
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import store  # noqa: E402


class Reading(store.Model):
    worker = store.IntegerField()
    curve = store.JSONField()

    class Meta:
        table_name = "reading"


def _worker(url, worker, seconds, batch, queue):
    db = store.connect(url, models=[Reading])
    rows = errors = locked = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with db.atomic():
                Reading.insert_many([{"worker": worker, "curve": [rows, rows + 1, rows + 2]}
                                     for _ in range(batch)]).execute()
            rows += batch
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors += 1
            locked += "locked" in str(exc)
    db.close()
    queue.put((worker, rows, errors, locked))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'writers.db'}"
        with store.open(url, models=[Reading]) as db:
            db.create_tables([Reading])
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        procs = [ctx.Process(target=_worker, args=(url, w, args.seconds, args.batch, queue))
                 for w in range(args.processes)]
        for p in procs:
            p.start()
        results = sorted(queue.get(timeout=args.seconds + 120) for _ in procs)
        for p in procs:
            p.join()
        with store.open(url, models=[Reading]):
            stored = Reading.select().count()
    total = sum(r[1] for r in results)
    for worker, rows, errors, locked in results:
        print(f"process {worker}: {rows / args.seconds:10,.0f} rows/s  errors {errors}  "
              f"locked {locked}")
    print(f"total:     {total / args.seconds:10,.0f} rows/s  errors "
          f"{sum(r[2] for r in results)}  'database is locked' {sum(r[3] for r in results)}"
          f"  (rows stored {stored:,}, reported {total:,})")


if __name__ == "__main__":
    main()
