"""store against the raw drivers, SQLAlchemy + Alembic and plain peewee, in one run.

    python -m bench.run                          # full size (about 10 minutes, 2 cores)
    python -m bench.run --rows 20000 --json-rows 100000 --repeat 3    # smaller
    python -m bench.run --backends sqlite --only insert,lookup

Per backend (SQLite file in WAL mode; PostgreSQL scratch database created and
dropped on ``--postgres-url``'s server), on the forecast app's schema (seed
001): bulk insert of ``--rows`` forecasts, ``--lookups`` primary-key lookups
and single-row updates, the JSON path filter over ``--json-rows`` rows
without and with the JSON-path index, and ``migrate`` up and back down as
whole processes beside Alembic. Every comparison runs its variants
round-robin, ``--repeat`` times, in this process. Prints the medians with
ratios to the raw driver and to SQLAlchemy, checks the targets of issue 7,
and writes ``bench/results/latest.json`` (``--out``).
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):                   # python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "bench"                       # noqa: A001

import store  # noqa: E402
from store import fast  # noqa: E402
from store.apps.forecast import models as fm  # noqa: E402

from bench import (data, env, inserts, jsonpath, lookups, migrations,  # noqa: E402
                   plain_peewee, report, sa_schema)
from bench.timing import round_robin, once  # noqa: E402

GROUPS = ("insert", "lookup", "update", "json", "migrate")
#: (group, backend) -> the most "x raw" store's variant may take (issue 7)
TARGETS = {("insert", "sqlite"): 1.15, ("insert", "postgresql"): 0.75,
           ("lookup", "sqlite"): 2.0, ("lookup", "postgresql"): 1.3,
           ("update", "sqlite"): 2.0, ("update", "postgresql"): 2.0}
JSON_SPEEDUP = 100


def parse(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=100_000, help="forecasts to bulk insert (100000)")
    p.add_argument("--lookups", type=int, default=10_000,
                   help="primary-key lookups and single-row updates (10000)")
    p.add_argument("--json-rows", type=int, default=1_000_000,
                   help="rows under the JSON path filter (1000000)")
    p.add_argument("--repeat", type=int, default=5, help="round-robin repetitions (5)")
    p.add_argument("--backends", default="sqlite,postgresql",
                   help="comma-separated: sqlite, postgresql")
    p.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated: {', '.join(GROUPS)}")
    p.add_argument("--postgres-url", default=None,
                   help="server on which the scratch database is created (default "
                        "STORE_BENCH_POSTGRES_URL, else postgresql://postgres@127.0.0.1:5432/postgres)")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "latest.json"),
                   help="where to write the JSON record ('-': nowhere)")
    p.add_argument("--quiet", action="store_true", help="no per-run lines")
    args = p.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.only = [g.strip() for g in args.only.split(",") if g.strip()]
    bad = [b for b in args.backends if b not in report.BACKENDS] + \
          [g for g in args.only if g not in GROUPS]
    if bad:
        p.error(f"unknown backend or group: {', '.join(bad)}")
    if min(args.rows, args.lookups, args.json_rows, args.repeat) < 1:
        p.error("--rows, --lookups, --json-rows and --repeat must be >= 1")
    return args


class Run:
    def __init__(self, args):
        self.args = args
        self.results, self.notes, self.explain, self.parts = [], [], {}, {}
        self.postgres_version = None
        self.log = (lambda *_: None) if args.quiet else (lambda m: print(m, flush=True))

    def timed(self, group, backend, variants):
        self.results += round_robin(group, backend, variants, self.args.repeat, log=self.log)

    # -- one backend: insert, lookup, update, json ------------------------------------
    def data_groups(self, backend):
        a = self.args
        with env.scratch(backend, a.postgres_url) as sc:
            db = store.connect(sc.url, models=fm.MODELS)
            db.create_tables(fm.MODELS)
            fm.Category.insert_many(data.category_rows()).execute()
            if backend == "postgresql":
                self.postgres_version = db.execute_sql("SHOW server_version").fetchone()[0]
            engine = sa_schema.engine(sc.sqlalchemy_url)
            plain_db = plain_peewee.database(sc)
            raw = sc.raw_connect()
            try:
                if {"insert", "lookup", "update"} & set(a.only):
                    rows = data.forecast_rows(a.rows)
                    if "insert" in a.only:
                        self.timed("insert", backend,
                                   inserts.variants(sc, db, rows, engine, plain_db, raw))
                    if {"lookup", "update"} & set(a.only):
                        inserts.empty_table(sc, db)
                        fast.bulk_insert(fm.Forecast, rows)
                        ids = lookups.keys(a.rows, a.lookups)
                        if "lookup" in a.only:
                            self.timed("lookup", backend, lookups.lookup_variants(
                                sc, db, ids, engine, plain_db, raw))
                        if "update" in a.only:
                            self.timed("update", backend, lookups.update_variants(
                                sc, db, ids, engine, plain_db, raw))
                    del rows
                if "json" in a.only:
                    inserts.empty_table(sc, db)
                    seconds = once(lambda: jsonpath.load(db, a.json_rows))
                    self.notes.append(f"{backend}: loaded {a.json_rows:,} forecasts for the JSON "
                                      f"filter with store.fast.bulk_insert in {seconds:.1f} s")
                    plans = self.explain.setdefault(backend, {})
                    self.timed("json", backend, jsonpath.variants(sc, db, a.json_rows, plans))
            finally:
                raw.close()
                plain_db.close()
                engine.dispose()
                db.close()

    def migrate_group(self, backend):
        apps, why = migrations.migrated_apps()
        if why:
            self.notes.append(f"migrate: {why}")
            return
        with env.scratch(backend, self.args.postgres_url, tag="_migrate") as sc:
            parts = {}
            self.timed("migrate", backend, migrations.variants(sc, apps, parts))
            self.parts[backend] = {k: statistics.median(v) for k, v in parts.items()}

    # -- targets -------------------------------------------------------------------------
    def targets(self):
        out = []
        for (group, backend), limit in TARGETS.items():
            mine = report._by(self.results, group, backend, "store")
            raw = report._by(self.results, group, backend, "raw")
            if mine and raw:
                value = mine.median / raw.median
                out.append({"target": f"{group}: {mine.variant} / {raw.variant}",
                            "backend": backend, "value": value, "limit": f"<= {limit}",
                            "met": value <= limit})
        for backend in report.BACKENDS:
            for base, role, label, plan_label, name in (
                    ("raw", "store", "store's query", "index", jsonpath.INDEX),
                    ("raw", "store-fetch", "store's query read by store.fast.fetch", "index",
                     jsonpath.INDEX),
                    ("proposed-raw", "proposed", "proposed: path inlined", "proposed, index",
                     jsonpath.PROPOSED_INDEX),
                    ("proposed-raw", "proposed-hint", "proposed: path inlined + hint",
                     "proposed + hint, index", jsonpath.PROPOSED_INDEX)):
                without = report._by(self.results, "json", backend, base)
                with_index = report._by(self.results, "json", backend, role)
                if not (without and with_index):
                    continue
                plan = self.explain.get(backend, {}).get(plan_label, "")
                used = name in plan
                speedup = without.median / with_index.median
                out.append({"target": f"json filter over {self.args.json_rows:,} rows, {label}: "
                                      f"without / with index, EXPLAIN uses {name}",
                            "backend": backend, "value": speedup, "limit": f">= {JSON_SPEEDUP}",
                            "index_used": used, "met": speedup >= JSON_SPEEDUP and used})
        for backend, parts in self.parts.items():
            mine = report._by(self.results, "migrate", backend, "store")
            ref = report._by(self.results, "migrate", backend, "sqlalchemy")
            if mine and ref:
                out.append({"target": "migrate forecast up+down / Alembic upgrade+downgrade "
                                      "(reported, no target)", "backend": backend,
                            "value": mine.median / ref.median, "limit": "-", "met": None})
        return out


TITLES = {
    "insert": "Bulk insert of the forecast rows (one transaction)",
    "lookup": "Primary-key lookups",
    "update": "Single-row updates by primary key (one transaction)",
    "json": "JSON path filter (week 1 demand above a threshold, ~100 rows)",
    "migrate": "migrate from empty to head and back, whole processes",
}


def main(argv=None):
    args = parse(argv)
    run = Run(args)
    for backend in args.backends:
        if backend == "postgresql" and not env.postgres_available(args.postgres_url):
            run.notes.append("postgresql: skipped (server not reachable)")
            continue
        if set(args.only) - {"migrate"}:
            run.data_groups(backend)
        if "migrate" in args.only:
            run.migrate_group(backend)
    targets = run.targets()
    titles = dict(TITLES)
    titles["insert"] += f", {args.rows:,} rows"
    titles["lookup"] += f", {args.lookups:,} lookups"
    titles["update"] += f", {args.lookups:,} updates"
    titles["json"] += f", {args.json_rows:,} rows"
    print(report.table(run.results, titles))
    print("\n== Targets (issue 7): store's variant as a multiple of the raw driver ==")
    for t in targets:
        state = {True: "met", False: "MISSED", None: "reported"}[t["met"]]
        print(f"{report.LABELS[t['backend']]:<11} {t['value']:>9.2f} {t['limit']:>8}  "
              f"{state:<8} {t['target']}")
    for backend, plans in run.explain.items():
        for label, plan in plans.items():
            print(f"\nEXPLAIN {report.LABELS[backend]}, {label}:\n  " + plan.replace("\n", "\n  "))
    for backend, parts in run.parts.items():
        print(f"\nmigrate parts, {report.LABELS[backend]} (median s): " +
              ", ".join(f"{k} {v:.2f}" for k, v in parts.items()))
    for note in run.notes:
        print("note:", note)
    if args.out != "-":
        report.write(args.out, report.record(
            run.results, args=args, targets=targets, notes=run.notes, explain=run.explain,
            parts=run.parts, postgres_version=run.postgres_version))
        print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
