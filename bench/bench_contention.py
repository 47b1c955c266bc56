"""Read-then-write transactions from several processes on one SQLite file.

    python bench/bench_contention.py [--processes 4] [--seconds 10] [--work-ms 5] [--runs 3]

Each process runs, back to back for ``--seconds``, ``with db.atomic():`` read
a count, hold the transaction ``--work-ms`` (the application's work), insert
a row. Prints per process the commits, the errors ("database is locked"
included) and the longest wait for the write lock, and per run the fairness
ratio (fewest commits / most commits of one process; 1.0 = equal shares).
What store promises: zero errors while no transaction waits longer than the
busy timeout (``?timeout=``, 10 s), and no process starved.
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


class Tally(store.Model):
    worker = store.IntegerField()
    seen = store.IntegerField()

    class Meta:
        table_name = "tally"


def _worker(url, worker, seconds, work, queue):
    db = store.connect(url, models=[Tally])
    commits = errors = locked = 0
    longest = 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        asked = time.monotonic()
        try:
            with db.atomic():
                longest = max(longest, time.monotonic() - asked)
                seen = Tally.select().count()
                time.sleep(work)
                Tally.create(worker=worker, seen=seen)
            commits += 1
        except Exception as exc:  # noqa: BLE001 - counted and reported
            errors += 1
            locked += "locked" in str(exc)
    db.close()
    queue.put((worker, commits, errors, locked, longest))


def run_once(args):
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'contention.db'}"
        with store.open(url, models=[Tally]) as db:
            db.create_tables([Tally])
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        procs = [ctx.Process(target=_worker, args=(url, w, args.seconds, args.work_ms / 1000,
                                                   queue))
                 for w in range(args.processes)]
        for p in procs:
            p.start()
        results = sorted(queue.get(timeout=args.seconds + 120) for _ in procs)
        for p in procs:
            p.join()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--work-ms", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    total_errors = 0
    for run in range(1, args.runs + 1):
        results = run_once(args)
        commits = [r[1] for r in results]
        errors = sum(r[2] for r in results)
        total_errors += errors
        fairness = min(commits) / max(commits) if max(commits) else 0.0
        print(f"run {run}: commits {sum(commits)} ({' / '.join(map(str, commits))}), "
              f"errors {errors} (locked {sum(r[3] for r in results)}), "
              f"longest wait {max(r[4] for r in results):.2f} s, fairness {fairness:.2f}")
    print(f"{args.runs} runs: errors {total_errors}")


if __name__ == "__main__":
    main()
