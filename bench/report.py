"""The table of medians and ratios, the targets of issue 7, and the JSON record."""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import sqlite3
import sys

BACKENDS = ("sqlite", "postgresql")
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _by(results, group, backend, role):
    for r in results:
        if r.group == group and r.backend == backend and r.role == role:
            return r
    return None


def ratios(results):
    """``{id(result): (x raw, x sqlalchemy)}`` within each group and backend."""
    out = {}
    for r in results:
        raw = _by(results, r.group, r.backend, "raw")
        ref = _by(results, r.group, r.backend, "sqlalchemy")
        out[id(r)] = (r.median / raw.median if raw else None,
                      r.median / ref.median if ref else None)
    return out


def _num(value, fmt="{:.2f}"):
    return "-" if value is None else fmt.format(value)


def table(results, titles: dict) -> str:
    """One block per group: a row per variant, per backend median (s),
    spread, ratio to the raw driver and to SQLAlchemy."""
    rat = ratios(results)
    lines = []
    head = f"{'':<52}" + "".join(
        f"| {LABELS[b]:<10} {'median s':>9} {'spread':>7} {'x raw':>7} {'x SA':>7} "
        for b in BACKENDS)
    for group, title in titles.items():
        rows = [r for r in results if r.group == group]
        if not rows:
            continue
        lines += ["", f"== {title} ==", head]
        names = list(dict.fromkeys(r.variant for r in rows))
        for name in names:
            cells = []
            for backend in BACKENDS:
                r = next((x for x in rows if x.variant == name and x.backend == backend), None)
                if r is None:
                    cells.append(f"| {'':<10} {'-':>9} {'':>7} {'':>7} {'':>7} ")
                    continue
                xr, xs = rat[id(r)]
                cells.append(f"| {'':<10} {r.median:>9.3f} {r.spread:>6.0%} "
                             f"{_num(xr):>7} {_num(xs):>7} ")
            lines.append(f"{name[:52]:<52}" + "".join(cells))
    return "\n".join(lines)


def machine() -> dict:
    info = {"platform": platform.platform(), "python": sys.version.split()[0],
            "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as fh:
            models = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        info["cpu"] = models[0] if models else platform.processor()
        with open("/proc/meminfo") as fh:
            info["memory"] = fh.readline().split(":", 1)[1].strip()
    except OSError:
        info["cpu"] = platform.processor()
    return info


def versions(postgres_version=None) -> dict:
    out = {"sqlite": sqlite3.sqlite_version, "postgresql": postgres_version}
    for dist in ("store", "peewee", "peewee-migrate", "psycopg", "SQLAlchemy", "alembic"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def record(results, *, args, targets, notes, explain, parts, postgres_version) -> dict:
    rat = ratios(results)
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m bench.run " + " ".join(sys.argv[1:]),
        "parameters": vars(args),
        "machine": machine(),
        "versions": versions(postgres_version),
        "results": [{
            "group": r.group, "backend": r.backend, "variant": r.variant, "role": r.role,
            "median_s": r.median, "min_s": min(r.times), "max_s": max(r.times),
            "spread": r.spread, "runs_s": r.times,
            "ratio_to_raw": rat[id(r)][0], "ratio_to_sqlalchemy": rat[id(r)][1],
        } for r in results],
        "targets": targets,
        "explain": explain,
        "migrate_parts_median_s": parts,
        "notes": notes,
    }


def write(path, payload):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as fh:
        json.dump(payload, fh, indent=2, default=str)
        fh.write("\n")
