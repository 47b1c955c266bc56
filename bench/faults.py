"""Fault trials: kill -9 store's commands at random moments and classify what is left.

    python -m bench.faults [--trials 20] [--ops migrate,rollback,copy,load]
                           [--backend sqlite|postgresql] [--seed 1]

Each trial prepares a database, starts ``python cli.py ...`` for one
operation, kills it with SIGKILL after a random delay (0 .. 1.2x the
operation's measured duration, so some trials kill it before it starts and
some after it ends), then classifies the database:

* ``migrate`` (all five seed apps into an empty database) and ``rollback``
  (``reset`` of every app, from head): ``before`` (nothing applied / all
  applied), ``after`` (the reverse), ``between`` (some migrations applied, a
  prefix per app: each migration is one transaction), ``other`` (anything
  else). Every trial then re-runs ``migrate`` and ``check``: a re-run that
  fails or a live schema that differs from the models counts as ``other``.
* ``copy`` (a seeded SQLite source into an empty target) and ``load`` (a
  dump into an empty target): ``before`` (no row in the target; its schema
  may be migrated: see the README), ``after`` (every row, counts as the
  source), ``other``. A re-run of the same command must then succeed.

Prints trials and outcomes per operation; the aim is 0 ``other``. Not part
of the test suite (minutes, and it kills processes).
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = ("forecast", "pricing", "backlog", "dental", "inventory")
PG_ADMIN = os.environ.get("STORE_BENCH_POSTGRES_URL",
                          "postgresql://postgres@127.0.0.1:5432/postgres")


def cli(*args, cwd, check=True):
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=cwd,
                          capture_output=True, text=True, check=check, timeout=600)


class Target:
    """A fresh database per trial: a SQLite file in a folder, or a PostgreSQL
    database on the admin server."""

    def __init__(self, backend, folder: Path):
        self.backend, self.folder = backend, folder
        if backend == "sqlite":
            self.url = f"sqlite:///{folder / 'store.db'}"
        else:
            import psycopg
            self.name = "faults_" + uuid.uuid4().hex[:10]
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.name

    def drop(self):
        if self.backend == "postgresql":
            import psycopg
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "setup.cfg").write_text("[store]\napps = " + " ".join(APPS) + "\n")
    return folder


def store_eval(code, cwd):
    """Run ``code`` (which prints JSON) in a fresh Python with store; its
    value, or None when it failed."""
    import json
    out = subprocess.run([sys.executable, "-c", "import json, store\n" + code], cwd=cwd,
                         capture_output=True, text=True, timeout=300)
    return json.loads(out.stdout) if out.returncode == 0 else None


def applied(url, cwd) -> dict:
    """App -> applied migration names, read through store (read-only)."""
    state = store_eval("from store.migrate import status\n"
                       f"db = store.connect({url!r})\n"
                       f"print(json.dumps({{a: [s.name for s in st if s.state == 'applied'] "
                       f"for a, st in status(db, {list(APPS)!r}).items()}}))\n", cwd)
    return {"error": True} if state is None else state


def heads(cwd) -> dict:
    from store.migrate.runner import migration_names
    return {a: migration_names(ROOT / "migrations" / a) for a in APPS}


def classify_migrations(state, head, forward: bool) -> str:
    if "error" in state:
        return "other"
    prefix_ok = all(state.get(a, []) == head[a][:len(state.get(a, []))] for a in APPS)
    if not prefix_ok:
        return "other"
    none = all(not state.get(a) for a in APPS)
    full = all(state.get(a) == head[a] for a in APPS)
    start, end = (none, full) if forward else (full, none)
    return "before" if start else "after" if end else "between"


def run_killed(command, cwd, delay):
    """Start ``command`` (in a process group of its own) and SIGKILL the group
    after ``delay`` seconds if it is still running."""
    proc = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(delay)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def store_command(*args):
    return [sys.executable, str(ROOT / "cli.py"), *args]


@contextmanager
def trial_target(backend, tmp):
    """A project folder and a fresh database for one trial, removed after it."""
    folder = project(tmp / uuid.uuid4().hex[:8])
    target = Target(backend, folder)
    try:
        yield folder, target
    finally:
        target.drop()
        shutil.rmtree(folder, ignore_errors=True)


def trial_migrate(backend, tmp, rnd, duration, forward=True):
    with trial_target(backend, tmp) as (folder, target):
        head = heads(folder)
        if forward:
            command = store_command("-d", target.url, "migrate", "--quiet")
        else:
            cli("-d", target.url, "migrate", "--quiet", cwd=folder)
            # reset every app in turn, as one command line would
            command = ["bash", "-c", " && ".join(
                " ".join(store_command("-d", target.url, "reset", a, "--yes"))
                for a in reversed(APPS))]
        run_killed(command, folder, rnd.uniform(0, duration * 1.2))
        outcome = classify_migrations(applied(target.url, folder), head, forward)
        rerun = cli("-d", target.url, "migrate", "--quiet", cwd=folder, check=False)
        check = cli("-d", target.url, "check", cwd=folder, check=False)
        if rerun.returncode != 0 or check.returncode != 0:
            outcome = "other"
        return outcome


def seeded_source(tmp):
    """A SQLite source with every seed app migrated and rows (the examples' data)."""
    folder = project(tmp / "source")
    url = f"sqlite:///{folder / 'source.db'}"
    cli("-d", url, "migrate", "--quiet", cwd=folder)
    code = ("import store, decimal\n"
            f"db = store.connect({url!r}, apps={list(APPS)!r})\n"
            "from store.apps.pricing.models import BrandGroup\n"
            "with db.atomic():\n"
            "    BrandGroup.insert_many([{'brand': f'b{i}', 'group_name': 'g',"
            " 'base_price': decimal.Decimal('9.90')} for i in range(20000)]).execute()\n")
    subprocess.run([sys.executable, "-c", code], cwd=folder, check=True, timeout=300)
    return folder, url


def rows(url, cwd):
    return store_eval(f"db = store.connect({url!r})\n"
                      "print(db.execute_sql('SELECT count(*) FROM brand_groups').fetchone()[0] "
                      "if db.table_exists('brand_groups') else 0)\n", cwd)


def trial_transfer(backend, tmp, rnd, duration, op, source_url, dump_dir, expected):
    with trial_target(backend, tmp) as (folder, target):
        if op == "copy":
            args = ["copy", source_url, target.url, "--app", "pricing", "--quiet"]
        else:
            cli("-d", target.url, "migrate", "pricing", "--quiet", cwd=folder)
            args = ["-d", target.url, "load", str(dump_dir), "--app", "pricing", "--quiet"]
        run_killed(store_command(*args), folder, rnd.uniform(0, duration * 1.2))
        got = rows(target.url, folder)
        outcome = "before" if got == 0 else "after" if got == expected else "other"
        if outcome == "before":
            again = cli(*args, cwd=folder, check=False)
            if again.returncode != 0 or rows(target.url, folder) != expected:
                outcome = "other"
        return outcome


def timed(fn):
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--ops", default="migrate,rollback,copy,load")
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    rnd = random.Random(args.seed)
    ops = args.ops.split(",")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        calibrate = project(tmp / "calibrate")
        cal = Target(args.backend, calibrate)
        migrate_s = timed(lambda: cli("-d", cal.url, "migrate", "--quiet", cwd=calibrate))
        reset_s = timed(lambda: [cli("-d", cal.url, "reset", a, "--yes", cwd=calibrate)
                                 for a in reversed(APPS)])
        cal.drop()
        source_folder, source_url = seeded_source(tmp)
        expected = rows(source_url, source_folder)
        dump_dir = tmp / "dump"
        cli("-d", source_url, "dump", "--app", "pricing", str(dump_dir), "--quiet",
            cwd=source_folder)
        copy_cal = project(tmp / "copycal")
        cc = Target(args.backend, copy_cal)
        copy_s = timed(lambda: cli("copy", source_url, cc.url, "--app", "pricing", "--quiet",
                                   cwd=copy_cal))
        cc.drop()
        load_cal = project(tmp / "loadcal")
        lc = Target(args.backend, load_cal)
        cli("-d", lc.url, "migrate", "pricing", "--quiet", cwd=load_cal)
        load_s = timed(lambda: cli("-d", lc.url, "load", str(dump_dir), "--app", "pricing",
                                   "--quiet", cwd=load_cal))
        lc.drop()
        print(f"{args.backend}: migrate {migrate_s:.2f} s, reset {reset_s:.2f} s, copy "
              f"{copy_s:.2f} s, load {load_s:.2f} s ({expected:,} rows); {args.trials} "
              f"trials each, kill -9 at 0..1.2x that")
        for op in ops:
            outcomes = Counter()
            for _ in range(args.trials):
                if op == "migrate":
                    outcomes[trial_migrate(args.backend, tmp, rnd, migrate_s)] += 1
                elif op == "rollback":
                    outcomes[trial_migrate(args.backend, tmp, rnd, reset_s, forward=False)] += 1
                else:
                    duration = copy_s if op == "copy" else load_s
                    outcomes[trial_transfer(args.backend, tmp, rnd, duration, op, source_url,
                                            dump_dir, expected)] += 1
            shown = ", ".join(f"{k} {outcomes[k]}" for k in ("before", "between", "after",
                                                              "other") if outcomes[k])
            print(f"  {op:9} {sum(outcomes.values())} trials: {shown}", flush=True)


if __name__ == "__main__":
    main()
