"""Fault trials: kill store's commands (kill -9, a full disk) and classify what is left.

    nice -n 10 python -m bench.faults [--trials 100] [--only OP[,OP]] [--backend B[,B]]
                                      [--kinds K[,K]] [--seed 1] [--jobs 2] [--rows 5000]

Operations (each on SQLite and PostgreSQL; ``copy``'s backend is its target,
the source is the other backend):

* ``migrate``: ``migrate`` of all five seed apps into an empty database;
* ``rollback``: ``reset`` of every app in turn (newest app first), from head;
* ``rebuild``: ``migrate pricing`` of an extra migration (written into the
  trial's project) that widens ``brand_groups.group_name``: on SQLite a table
  rebuild (store/migrate/rebuild.py) of ``--rows`` rows, on PostgreSQL an ALTER;
* ``copy``: ``copy SOURCE TARGET --app pricing`` into an empty target;
* ``load``: ``load DUMP --app pricing`` into a migrated, empty target;
* ``concurrent-migrate``: ``--workers`` ``migrate`` processes started at once
  on an empty database;
* ``concurrent-writers``: ``--workers`` processes inserting 100 rows each, one
  read-then-write transaction per row (bench/faults_writer.py).

Kill kinds: ``time`` (SIGKILL of the process group after a random delay:
0.8x the start-up of ``python cli.py --help`` .. 1.2x a clean run, both
scaled to the median of the latest clean re-runs, as the machine's load
changes), ``write`` (SQLite: the process SIGKILLs itself
before, or just after, its K-th write/pwrite/pwrite64/fsync/fdatasync on the
database's files; K uniform in 1 .. the count of a dry run), ``enospc`` (SQLite:
that call and every later one fail with ENOSPC: a full disk), ``stmt``
(PostgreSQL: SIGKILL before, or just after, the K-th send() on the socket to
the server: one statement or its commit), ``server`` (``--private-cluster``
only: kill -9 of the PostgreSQL server -- postmaster and backends -- of a
throwaway cluster at a random time, as ``time``; restarted, it recovers).
The LD_PRELOAD shim is
bench/faults_shim.c, compiled with gcc into a temp dir at start.

Outcomes, by fingerprint (bench/faults_fp.py: every table's schema, indexes,
constraints, row count and content digest, compared with reference runs):

* ``before`` / ``after``: the database as before the command / as after a
  clean run (copy and load on PostgreSQL: also the id sequences' state); ``between`` (migrate, rollback): every app at a prefix of its
  migrations and each app's schema exactly as a clean run leaves it there
  (going up; for rollback, going down from head: a no-op rollback after a
  SQLite rebuild keeps the rebuilt table's text) (each migration is one
  transaction); for copy and load ``before`` also
  allows the target's pricing app at any migration prefix with no rows (the
  copy migrates an empty target first: see the README);
* ``other``: anything else, with details. A trial also counts as ``other``
  when the re-run of the same command (no fault) does not finish with the
  ``after`` fingerprint, when a full disk does not make the command fail with
  a clear error (exit 1, an ``Error:`` line, no traceback), or, for the
  concurrent operations, when a process fails, a migration is recorded
  twice, a row is lost or duplicated, or "database is locked" surfaces.

Not part of the test suite (minutes, kills processes, needs gcc and a
PostgreSQL at ``STORE_BENCH_POSTGRES_URL``). Scratch PostgreSQL databases
are named ``faults_*`` and dropped at the end.
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
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import faults_fp as fpm

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT            # the checkout under test (--store-path)
APPS = ("forecast", "pricing", "backlog", "dental", "inventory")
PG_ADMIN = os.environ.get("STORE_BENCH_POSTGRES_URL",
                          "postgresql://postgres@127.0.0.1:5432/postgres")
OPS = ("migrate", "rollback", "rebuild", "copy", "load",
       "concurrent-migrate", "concurrent-writers")
KINDS = {"sqlite": ("time", "write", "enospc"), "postgresql": ("time", "stmt")}
WRITER_ROWS = 100
REBUILD_MIGRATION = '''"""003_faults_rebuild: brand_groups.group_name VARCHAR(50) -> VARCHAR(80).

Written by bench/faults.py into a trial project only: on SQLite a table
rebuild (store/migrate/rebuild.py), on PostgreSQL an ALTER."""
import store


def migrate(migrator, database, fake=False):
    migrator.alter_field('brand_groups', 'group_name', store.CharField(max_length=80),
                         old=store.CharField(max_length=50))


def rollback(migrator, database, fake=False):
    migrator.alter_field('brand_groups', 'group_name', store.CharField(max_length=50),
                         old=store.CharField(max_length=80))
'''

_pg_names: set = set()
_pg_lock = threading.Lock()


# -- databases -----------------------------------------------------------------
def pg_admin(sql):
    import psycopg
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def pg_url(name):
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def pg_port():
    from urllib.parse import urlparse
    return urlparse(PG_ADMIN).port or 5432


def project(folder: Path, apps=APPS, rebuild=False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "setup.cfg").write_text("[store]\napps = " + " ".join(apps) + "\n")
    if rebuild:
        mig = folder / "migrations" / "pricing"
        shutil.copytree(STORE / "migrations" / "pricing", mig,
                        ignore=shutil.ignore_patterns("__pycache__"))
        (mig / "003_faults_rebuild.py").write_text(REBUILD_MIGRATION)
    return folder


class Target:
    """A database for one trial: a SQLite file (with its namespace files) in
    the trial's folder, or a scratch PostgreSQL database; ``template``: a
    Target whose content it starts with."""

    def __init__(self, backend, folder: Path, template: Target | None = None):
        self.backend, self.folder = backend, folder
        if backend == "sqlite":
            self.url = f"sqlite:///{folder / 'store.db'}"
            if template is not None:
                for ns, path in fpm.sqlite_files(template.url).items():
                    name = "store.db" if ns is None else f"store.{ns}.db"
                    if path.exists():
                        shutil.copyfile(path, folder / name)
        else:
            self.name = "faults_" + uuid.uuid4().hex[:12]
            with _pg_lock:
                _pg_names.add(self.name)
            tpl = f' TEMPLATE "{template.name}"' if template is not None else ""
            for attempt in range(20):       # a template must have no session
                try:
                    pg_admin(f'CREATE DATABASE "{self.name}"{tpl}')
                    break
                except Exception:
                    if attempt == 19:
                        raise
                    time.sleep(0.2)
            self.url = pg_url(self.name)

    def drop(self):
        if self.backend == "postgresql":
            pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            with _pg_lock:
                _pg_names.discard(self.name)
        else:
            fpm.remove_sqlite(self.url)


def drop_all_pg():
    for name in list(_pg_names):
        try:
            pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception as exc:  # noqa: BLE001 -- reported, not fatal
            print(f"could not drop {name}: {exc}", file=sys.stderr)
        _pg_names.discard(name)


# -- running commands ------------------------------------------------------------
def store_command(*args):
    return [sys.executable, str(STORE / "cli.py"), *args]


def cli(*args, cwd, check=True):
    out = subprocess.run(store_command(*args), cwd=cwd, capture_output=True, text=True,
                         timeout=600, check=False)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {out.stderr.strip()[-500:]}")
    return out


class Result:
    def __init__(self):
        self.killed = False
        self.rc = 0
        self.stderr = ""
        self.count = 0      # counted calls (write / stmt kinds)


def run_commands(cmds, cwd, fault=None, shim=None, match=None):
    """Run ``cmds`` one after the other (stopping at the first failure) under
    ``fault``: None, ("time", delay) or (kind, K, when): kind write / enospc
    (the files under ``match``) or stmt (the server's socket), K None to
    count only, when "kill" (before the K-th call) or "kill_after"."""
    res = Result()
    deadline = time.monotonic() + fault[1] if fault and fault[0] == "time" else None
    shimmed = fault is not None and fault[0] != "time"
    left = fault[1] if shimmed else None
    for cmd in cmds:
        env = dict(os.environ)
        count_file = None
        if shimmed:
            count_file = Path(cwd) / f".faults-count-{uuid.uuid4().hex[:6]}"
            env.update(LD_PRELOAD=str(shim), FAULTS_COUNT_FILE=str(count_file))
            if fault[0] == "stmt":
                env["FAULTS_PORT"] = str(pg_port())
            else:
                env["FAULTS_MATCH"] = str(match)
            if left is not None:
                env["FAULTS_AT"] = str(left)
                env["FAULTS_MODE"] = "enospc" if fault[0] == "enospc" else fault[2]
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, start_new_session=True, env=env)
        try:
            timeout = 600 if deadline is None else max(0.0, deadline - time.monotonic())
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            res.killed = True
            return res
        res.rc, res.stderr = proc.returncode, err
        if count_file is not None:
            try:
                n = int(count_file.read_text())
                count_file.unlink()
            except (FileNotFoundError, ValueError):
                n = None                    # killed: no count written
            if n is not None:
                res.count += n
                if left is not None:
                    left -= n
        if proc.returncode == -signal.SIGKILL:
            res.killed = True
            return res
        if proc.returncode != 0:
            return res
    return res


def clear_error(res: Result, disk=True) -> str | None:
    """None when a failed command reported a clear error (one ``Error:`` line,
    no traceback; ``disk``: saying the disk is full); else what was wrong."""
    err = res.stderr.strip()
    if "Traceback" in err:
        return "traceback: " + err.splitlines()[-1][:120]
    if not any(line.startswith("Error:") for line in err.splitlines()):
        return "no Error: line: " + err[-120:]
    if disk and not any(w in err.lower() for w in ("full", "space", "disk")):
        return "error does not say disk full: " + err.splitlines()[-1][:120]
    return None


# -- operations ------------------------------------------------------------------
class Op:
    """One operation on one backend: how to prepare a trial, run it, classify it."""

    def __init__(self, name, backend, env):
        self.name, self.backend, self.env = name, backend, env
        self.apps = ("pricing",) if name in ("rebuild", "concurrent-writers") else APPS
        self.duration = 0.0     # a clean run, s (calibration)
        self.startup = 0.0      # python cli.py --help, s: before it nothing can happen
        self.recent = []        # clean re-runs' durations, s: the machine's load changes
        self.total = {}         # kind -> counted calls in a dry run

    # preparing
    def new_trial(self, folder):
        folder = project(folder, self.apps, rebuild=self.name == "rebuild")
        e = self.env
        tpl = {"rollback": e.head_tpl, "rebuild": e.rebuild_tpl, "load": e.pricing_tpl,
               "concurrent-writers": e.pricing_tpl}.get(self.name)
        return folder, Target(self.backend, folder, tpl[self.backend] if tpl else None)

    def commands(self, target):
        url = target.url
        if self.name in ("migrate", "rebuild", "concurrent-migrate"):
            return [store_command("-d", url, "migrate", "--quiet")]
        if self.name == "rollback":
            return [store_command("-d", url, "reset", a, "--yes") for a in reversed(APPS)]
        if self.name == "copy":
            return [store_command("copy", self.env.source[self.other].url, url, "--app",
                                  "pricing", "--quiet")]
        if self.name == "load":
            return [store_command("-d", url, "load", str(self.env.dump), "--app", "pricing",
                                  "--quiet")]
        raise ValueError(self.name)

    @property
    def other(self):
        return "postgresql" if self.backend == "sqlite" else "sqlite"

    # calibrating: a clean run (the "after" reference, duration, call counts)
    def calibrate(self, tmp, shim, kinds):
        folder, target = self.new_trial(tmp / f"cal-{self.name}-{self.backend}")
        try:
            self.before_fp = fpm.fingerprint(target.url)
            start = time.monotonic()
            res = run_commands(self.commands(target), folder)
            self.duration = time.monotonic() - start
            if res.rc != 0:
                raise RuntimeError(f"{self.name} on {self.backend}: {res.stderr[-800:]}")
            self.after_fp = fpm.fingerprint(target.url)
            self.after_seq = fpm.sequences(target.url)
            start = time.monotonic()
            run_commands([store_command("--help")], folder)
            self.startup = time.monotonic() - start
        finally:
            target.drop()
        for kind in KINDS[self.backend]:
            if kind == "time" or kind not in kinds:
                continue
            folder, target = self.new_trial(tmp / f"cnt-{self.name}-{self.backend}-{kind}")
            try:
                res = run_commands(self.commands(target), folder, (kind, None, None), shim,
                                   folder)
                if res.rc != 0:
                    raise RuntimeError(f"{self.name} on {self.backend}, counting: "
                                       f"{res.stderr[-800:]}")
                self.total[kind] = res.count
            finally:
                target.drop()
                shutil.rmtree(folder, ignore_errors=True)

    # one trial
    def trial(self, tmp, kind, seed, shim):
        rnd = random.Random(seed)
        folder, target = self.new_trial(tmp / uuid.uuid4().hex[:10])
        try:
            if self.name.startswith("concurrent"):
                return self.concurrent(folder, target)
            cmds = self.commands(target)
            if kind in ("time", "server"):
                # 0.8x start-up .. 1.2x a clean run, both scaled to the latest
                # clean runs (the load of the machine changes)
                recent = sorted(self.recent[-9:])
                d = recent[len(recent) // 2] if recent else self.duration
                fault = ("time", rnd.uniform(0.8 * self.startup * d / self.duration, 1.2 * d))
                what = f"[{kind} kill at {fault[1]:.3f} s]"
            else:
                fault = (kind, rnd.randint(1, max(1, self.total[kind])),
                         rnd.choice(("kill", "kill_after")))
                what = f"[{kind} K={fault[1]} {fault[2] if kind != 'enospc' else ''}]"
            if kind == "server":
                res = self.env.cluster.crash_during(
                    lambda: run_commands(cmds, folder), fault[1])
            else:
                res = run_commands(cmds, folder, fault, shim, folder)
            problem = None
            if kind in ("enospc", "server") and res.rc != 0 and not res.killed:
                problem = clear_error(res, disk=kind == "enospc")
            state, detail = self.classify(fpm.fingerprint(target.url))
            if state == "after" and self.name in ("copy", "load") \
                    and fpm.sequences(target.url) != self.after_seq:
                state, detail = "other", "after, but the id sequences not restarted"
            if problem:
                state, detail = "other", problem
            elif kind == "enospc" and res.rc != 0 and not res.killed and state == "after":
                state, detail = "other", "failed (disk full) yet committed: " + \
                    (res.stderr.strip().splitlines() or [""])[-1][:120]
            if state in ("before", "between"):
                start = time.monotonic()
                again = run_commands(cmds, folder)
                if state == "before" and again.rc == 0:
                    self.recent.append(time.monotonic() - start)
                got = fpm.fingerprint(target.url)
                if again.rc != 0:
                    state, detail = "other", (
                        f"re-run after {state} failed: "
                        f"{(again.stderr.strip().splitlines() or [''])[-1][:150]}")
                elif got != self.after_fp or (self.name in ("copy", "load") and
                                              fpm.sequences(target.url) != self.after_seq):
                    state, detail = "other", \
                        f"re-run after {state} left: {fpm.diff(got, self.after_fp)}"
            return state, (f"{detail} {what}" if state == "other" else detail)
        finally:
            target.drop()
            shutil.rmtree(folder, ignore_errors=True)

    def classify(self, fp):
        if fp == self.after_fp:
            return "after", None
        if fp == self.before_fp:
            return "before", None
        if self.name in ("migrate", "rollback"):
            return self.env.migration_state(self.backend, fp, forward=self.name == "migrate")
        if self.name in ("copy", "load"):
            state, detail = self.env.migration_state(self.backend, fp, forward=True,
                                                     apps=("pricing",))
            if state != "other" and all(v[1] == 0 for v in fp.values()
                                        if not isinstance(v[2], tuple)):
                return "before", None
            return "other", detail or f"vs after: {fpm.diff(fp, self.after_fp)}"
        return "other", (f"vs before: {fpm.diff(fp, self.before_fp)}; "
                         f"vs after: {fpm.diff(fp, self.after_fp)}")

    def concurrent(self, folder, target):
        n = self.env.workers
        if self.name == "concurrent-migrate":
            cmds = [store_command("-d", target.url, "migrate", "--quiet")] * n
        else:
            cmds = [[sys.executable, str(ROOT / "bench" / "faults_writer.py"), target.url,
                     f"w{i}", str(WRITER_ROWS)] for i in range(n)]
        logs = [Path(folder) / f".stderr-{i}" for i in range(n)]
        procs = []
        for c, log in zip(cmds, logs):
            with open(log, "w") as err:
                procs.append(subprocess.Popen(c, cwd=folder, stdout=subprocess.DEVNULL,
                                              stderr=err))
        errs = [(p.wait(timeout=600), log.read_text()) for p, log in zip(procs, logs)]
        failed = [(rc, e) for rc, e in errs if rc != 0 or "locked" in e.lower()]
        if failed:
            rc, e = failed[0]
            return "other", (f"{len(failed)}/{n} failed: rc {rc}: "
                             f"{(e.strip().splitlines() or [''])[-1][:150]}")
        fp = fpm.fingerprint(target.url)
        if self.name == "concurrent-migrate":
            return ("after", None) if fp == self.after_fp else \
                ("other", f"vs after: {fpm.diff(fp, self.after_fp)}")
        want = {f"w{i}-{j}" for i in range(n) for j in range(WRITER_ROWS)}
        got = self.env.brands(target.url)
        lost, dup = len(want - set(got)), len(got) - len(set(got))
        extra = len(set(got) - want)
        if lost or dup or extra:
            return "other", f"{lost} lost, {dup} duplicated, {extra} unexpected rows"
        return "after", None


class Env:
    """What every trial shares: templates, the sources, the dump, references."""

    def __init__(self, tmp, backends, rows, workers, need_source):
        from store.migrate.apps import load_apps
        from store.migrate.runner import migration_names
        self.tmp, self.rows, self.workers = tmp, rows, workers
        self.apps = {a.name: a for a in load_apps(APPS)}
        self.own = fpm.owners(self.apps.values())
        self.head = {a: migration_names(STORE / "migrations" / a) for a in APPS}
        self.head_tpl, self.pricing_tpl, self.rebuild_tpl = {}, {}, {}
        self.states = {}        # backend -> app -> [view at k applied], going up
        self.down = {}          # the same, going down from head
        self.source = {}
        # the SQLite source of copy and of the dump: pricing with ``rows`` rows
        src = Target("sqlite", project(tmp / "source"))
        cli("-d", src.url, "migrate", "pricing", "--quiet", cwd=src.folder)
        self.seed_rows(src)
        self.source["sqlite"] = src
        self.dump = tmp / "dump"
        cli("-d", src.url, "dump", "--app", "pricing", str(self.dump), "--quiet",
            cwd=src.folder)
        for b in backends:
            self.prepare(b)
        if need_source:
            self.prepare_pg_source()

    def seed_rows(self, target):
        code = ("import store, decimal\n"
                f"db = store.connect({target.url!r}, apps=['pricing'])\n"
                "from store.apps.pricing.models import BrandGroup, ProductModel\n"
                "with db.atomic():\n"
                f"    BrandGroup.insert_many([{{'brand': f'b{{i}}', 'group_name': f'g{{i % 7}}',"
                f" 'base_price': decimal.Decimal(f'{{5 + i % 400}}.{{i % 100:02d}}'),"
                f" 'expected_origins': ['USA', str(i)]}} for i in range({self.rows})]).execute()\n"
                f"    ProductModel.insert_many([{{'brand': f'b{{i}}', 'group_name': 'g',"
                f" 'model': f'm{{i}}'}} for i in range({self.rows // 10})]).execute()\n")
        subprocess.run([sys.executable, "-c", code], cwd=target.folder, check=True, timeout=600)

    def prepare_pg_source(self):
        src = Target("postgresql", project(self.tmp / "pgsource"))
        cli("copy", self.source["sqlite"].url, src.url, "--app", "pricing", "--quiet",
            cwd=src.folder)
        self.source["postgresql"] = src

    def prepare(self, b):
        tmp = self.tmp
        # per-app references at every migration prefix, then the head template
        t = Target(b, project(tmp / f"head-{b}"))
        self.states[b] = {}
        for app in APPS:
            views = [{}]
            for name in self.head[app]:
                cli("-d", t.url, "migrate", app, "--to", name, "--quiet", cwd=t.folder)
                views.append(fpm.view(fpm.fingerprint(t.url), self.own, app))
            self.states[b][app] = views
        self.head_tpl[b] = t
        # rolling back can leave another (equivalent) schema text than the
        # forward run at the same step (a no-op rollback after a SQLite
        # rebuild): the references going down, from head
        t = Target(b, project(tmp / f"down-{b}"), template=self.head_tpl[b])
        self.down[b] = {}
        for app in APPS:
            views = [{}] * len(self.head[app]) + [self.states[b][app][-1]]
            for k in range(len(self.head[app]) - 1, 0, -1):
                cli("-d", t.url, "rollback", app, cwd=t.folder)
                views[k] = fpm.view(fpm.fingerprint(t.url), self.own, app)
            self.down[b][app] = views
        t.drop()
        t = Target(b, project(tmp / f"pricing-{b}", ("pricing",)))
        cli("-d", t.url, "migrate", "pricing", "--quiet", cwd=t.folder)
        self.pricing_tpl[b] = t
        t = Target(b, project(tmp / f"rebuild-{b}", ("pricing",)))
        cli("-d", t.url, "migrate", "pricing", "--quiet", cwd=t.folder)
        self.seed_rows(t)
        self.rebuild_tpl[b] = t

    def migration_state(self, backend, fp, forward=True, apps=APPS):
        """before / between / after when every app is at a prefix of its
        migrations with exactly the schema a clean run leaves there."""
        unknown = [k for k in fp if self.own.get(k) not in apps]
        if unknown:
            return "other", "unexpected table(s): " + ", ".join(
                ".".join(x for x in k if x) for k in unknown[:3])
        ks = {}
        for app in apps:
            v = fpm.view(fp, self.own, app)
            hist = v.get((self.apps[app].namespace, self.apps[app].history_table))
            names = list(hist[2]) if hist else []
            head = self.head[app]
            # applied: a prefix of the migrations (names sort in file order)
            if names != head[:len(names)]:
                return "other", f"{app}: history {names}"
            k = len(names)
            ref = (self.states if forward else self.down)[backend][app][k]
            if k == 0 and (not v or list(v) == [(self.apps[app].namespace,
                                                 self.apps[app].history_table)]):
                pass                        # nothing, or an empty history table
            elif v != ref:
                return "other", f"{app} at {k}/{len(head)}: {fpm.diff(v, ref)}"
            ks[app] = k
        none = all(k == 0 for k in ks.values())
        if none and not forward and any(
                (self.apps[a].namespace, self.apps[a].history_table) in fp for a in apps):
            # reset drops the history table in a transaction of its own: all
            # rolled back, the table still there is a step short of the end
            return "between", None
        full = all(ks[a] == len(self.head[a]) for a in apps)
        start, end = (none, full) if forward else (full, none)
        return ("before" if start else "after" if end else "between"), None

    def brands(self, url):
        if url.startswith("sqlite"):
            import sqlite3
            conn = sqlite3.connect(url[len("sqlite:///"):])
            try:
                return [r[0] for r in conn.execute("SELECT brand FROM brand_groups "
                                                   "WHERE group_name = 'w'")]
            finally:
                conn.close()
        import psycopg
        with psycopg.connect(url) as conn:
            return [r[0] for r in conn.execute("SELECT brand FROM brand_groups "
                                               "WHERE group_name = 'w'")]

    def close(self):
        for group in (self.head_tpl, self.pricing_tpl, self.rebuild_tpl, self.source):
            for t in group.values():
                try:
                    t.drop()
                except Exception as exc:  # noqa: BLE001 -- cleanup goes on
                    print(f"could not drop a template: {exc}", file=sys.stderr)


class Cluster:
    """A private, throwaway PostgreSQL cluster (``--private-cluster``): initdb in
    a temp dir on a free loopback port, run as the ``postgres`` user when root;
    ``crash_during`` SIGKILLs its postmaster and every backend (a server
    crash: never the shared cluster's processes) and starts it again (crash
    recovery)."""

    BIN = Path(os.environ.get("STORE_BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))

    def __init__(self):
        import socket
        self.dir = Path(tempfile.mkdtemp(prefix="store-faults-pg-"))
        self.data = self.dir / "data"
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._as_owner([str(self.BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                        "-U", "postgres", "-E", "UTF8", "--no-locale", "-N"])
        self.start()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.crashes = 0

    def _as_owner(self, cmd):
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)

    def start(self):
        self._as_owner([str(self.BIN / "pg_ctl"), "-D", str(self.data), "-l",
                        str(self.dir / "server.log"), "-w", "-t", "120", "-o",
                        (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                         f"-c max_connections=60"), "start"])

    def _pids(self):
        """The postmaster and its children."""
        try:
            master = int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return []
        pids = [master]
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    stat = (d / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                    pids.append(int(d.name))
        return pids

    @staticmethod
    def _alive(pid):
        try:
            return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                    not in ("Z", "X"))
        except OSError:
            return False

    def crash(self):
        pids = self._pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 60
        while any(self._alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.crashes += 1
        # the dead postmaster may stay a zombie (nobody reaps it here), which
        # the new one would take for a live server: its lock files go first
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        (self.dir / f".s.PGSQL.{self.port}.lock").unlink(missing_ok=True)
        self.start()
        self.wait_ready()

    def wait_ready(self, timeout=120):
        import psycopg
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url, connect_timeout=5):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def crash_during(self, run, delay):
        """``run()`` in a thread; the server crashed (and restarted) after
        ``delay`` seconds if it is still running; its result."""
        box = {}
        th = threading.Thread(target=lambda: box.update(res=run()))
        th.start()
        th.join(delay)
        if th.is_alive():
            self.crash()
        th.join()
        return box["res"]

    def close(self):
        try:
            self._as_owner([str(self.BIN / "pg_ctl"), "-D", str(self.data), "-m",
                            "immediate", "-w", "stop"])
        except subprocess.CalledProcessError as exc:
            print(f"private cluster: pg_ctl stop: {exc.stderr.decode()[-300:]}",
                  file=sys.stderr)
            for pid in self._pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)



def build_shim(tmp: Path) -> Path:
    so = tmp / "faults_shim.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(so),
                    str(ROOT / "bench" / "faults_shim.c"), "-ldl"], check=True)
    return so


# -- main ----------------------------------------------------------------------
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--only", default=",".join(OPS), help="operations, comma-separated")
    p.add_argument("--backend", default="sqlite,postgresql")
    p.add_argument("--kinds", default="time,write,enospc,stmt",
                   help="kill kinds (time, write, enospc: SQLite; stmt: PostgreSQL)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=2, help="trials run at once")
    p.add_argument("--rows", type=int, default=5000, help="rows of the copy/load/rebuild data")
    p.add_argument("--workers", type=int, default=4, help="concurrent processes")
    p.add_argument("--store-path", default=str(ROOT),
                   help="the store checkout to test (its store/, cli.py, migrations/); "
                        "default: this one")
    p.add_argument("--private-cluster", action="store_true",
                   help="PostgreSQL: run on a throwaway cluster of its own (initdb, a free "
                        "port) and add the kill kind 'server' (kill -9 of the server); "
                        "trials then run one at a time")
    args = p.parse_args(argv)
    global STORE, PG_ADMIN
    STORE = Path(args.store_path).resolve()
    sys.path.insert(0, str(STORE))
    os.environ["PYTHONPATH"] = str(STORE)
    ops = [o for o in args.only.split(",") if o]
    bad = set(ops) - set(OPS)
    if bad:
        p.error(f"unknown operation(s) {', '.join(sorted(bad))}; known: {', '.join(OPS)}")
    backends = [b for b in args.backend.split(",") if b]
    kinds = set(args.kinds.split(","))
    rnd = random.Random(args.seed)
    started = time.monotonic()
    cluster = None
    if args.private_cluster:
        cluster = Cluster()
        PG_ADMIN = cluster.url
        KINDS["postgresql"] = KINDS["postgresql"] + ("server",)
        kinds.add("server")
        args.jobs = 1       # a crash would hit every trial running at once
        print(f"private cluster: {cluster.dir} port {cluster.port}", flush=True)
    header = (f"python -m bench.faults --trials {args.trials} --only {','.join(ops)} "
              f"--backend {','.join(backends)} --kinds {','.join(sorted(kinds))} "
              f"--seed {args.seed} --jobs {args.jobs} --rows {args.rows} "
              f"--workers {args.workers}"
              + (" --private-cluster" if cluster else "")
              + (f" --store-path {STORE}" if STORE != ROOT else ""))
    print(header, flush=True)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="store-faults-") as name:
        tmp = Path(name)
        env = None
        try:
            shim = build_shim(tmp)
            env = Env(tmp, backends, args.rows, args.workers,
                      need_source="copy" in ops and "sqlite" in backends)
            env.cluster = cluster
            fmt = "{:20} {:10} {:10} {:>6} {:>6} {:>7} {:>6} {:>6} {:>8}  {}"
            print(fmt.format("operation", "backend", "kill", "trials", "before", "between",
                             "after", "other", "wall s", "dry run"), flush=True)
            for op_name in ops:
                for b in backends:
                    op = Op(op_name, b, env)
                    op_kinds = ["concurrent"] if op_name.startswith("concurrent") else \
                        [k for k in KINDS[b] if k in kinds]
                    if not op_name.startswith("concurrent"):
                        op.calibrate(tmp, shim, kinds)
                    else:
                        op.after_fp = None
                        if op_name == "concurrent-migrate":
                            f, t = op.new_trial(tmp / f"cal-{op_name}-{b}")
                            cli("-d", t.url, "migrate", "--quiet", cwd=f)
                            op.after_fp = fpm.fingerprint(t.url)
                            t.drop()
                    for kind in op_kinds:
                        seeds = [rnd.randrange(1 << 30) for _ in range(args.trials)]
                        t0 = time.monotonic()
                        outcomes, details = Counter(), Counter()
                        interrupted = False
                        pool = ThreadPoolExecutor(max(1, args.jobs))
                        futures = [pool.submit(safe_trial, op, tmp, kind, s, shim)
                                   for s in seeds]
                        try:
                            for f in as_completed(futures):
                                state, detail = f.result()
                                outcomes[state] += 1
                                if detail and state == "other":
                                    details[detail] += 1
                        except KeyboardInterrupt:
                            # Ctrl-C: the trials running finish, the rest are dropped
                            interrupted = True
                            for f in futures:
                                f.cancel()
                            pool.shutdown(wait=True)
                            outcomes, details = Counter(), Counter()
                            for f in futures:
                                if f.done() and not f.cancelled():
                                    state, detail = f.result()
                                    outcomes[state] += 1
                                    if detail and state == "other":
                                        details[detail] += 1
                        pool.shutdown(wait=True)
                        wall = time.monotonic() - t0
                        dry = (f"{op.duration:.2f} s (start-up {op.startup:.2f} s)"
                               if kind in ("time", "server") else
                               f"{op.total.get(kind, 0)} calls" if kind != "concurrent" else
                               f"{args.workers} processes")
                        line = fmt.format(op_name, b, kind, sum(outcomes.values()),
                                          outcomes["before"], outcomes["between"],
                                          outcomes["after"], outcomes["other"],
                                          f"{wall:.0f}", dry)
                        print(line, flush=True)
                        for d, n in details.most_common(5):
                            print(f"    other x{n}: {d}", flush=True)
                        if interrupted:
                            print("interrupted: the line above counts the trials that "
                                  "finished", flush=True)
                            raise KeyboardInterrupt
        finally:
            if env is not None:
                env.close()
            drop_all_pg()
            if cluster is not None:
                print(f"server crashes: {cluster.crashes}", flush=True)
                cluster.close()
    print(f"total {time.monotonic() - started:.0f} s", flush=True)


def run(argv=None):
    try:
        main(argv)
    except KeyboardInterrupt:
        sys.exit(130)


def safe_trial(op, tmp, kind, seed, shim):
    try:
        return op.trial(tmp, kind, seed, shim)
    except Exception as exc:  # noqa: BLE001 -- the harness's own failure, reported
        return "other", f"harness error: {type(exc).__name__}: {str(exc)[:200]}"


if __name__ == "__main__":
    run()
