"""``migrate`` from empty to head and back, as whole processes, beside
Alembic's upgrade + downgrade of the same forecast schema.

store, every app of ``setup.cfg [store] apps``: ``python cli.py -d URL
migrate`` (one process), then ``python cli.py -d URL reset APP --yes`` for
each app in reverse order (the CLI rolls one app back per call). store,
forecast only: ``migrate forecast`` + ``reset forecast --yes``. Alembic:
``python -m alembic -c bench/alembic/alembic.ini -x url=URL upgrade head``
+ ``downgrade base``. Each run ends where it started (an empty database).
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .timing import Variant

ROOT = Path(__file__).resolve().parents[1]
ALEMBIC_INI = ROOT / "bench" / "alembic" / "alembic.ini"


def migrated_apps() -> tuple[list[str], str | None]:
    """The configured apps that have migration files, or a note why none."""
    from store.config import read_settings
    folder = ROOT / "migrations"
    have = {p.parent.name for p in folder.glob("*/[0-9]*.py")} if folder.is_dir() else set()
    if not have:
        return [], "skipped: migrations/ holds no migration files yet"
    apps = [a for a in read_settings().apps if a in have]
    if not apps:
        return [], "skipped: no app of setup.cfg [store] apps has migration files"
    return apps, None


def _run(argv, parts, label):
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    parts.setdefault(label, []).append(time.perf_counter() - start)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv[:4]))} ... failed ({done.returncode}): "
                           f"{(done.stderr or done.stdout).strip()[-500:]}")


def variants(scratch, apps, parts: dict):
    """``parts[label]`` collects the up and down times of every run."""
    py = sys.executable
    cli = [py, "cli.py", "-d", scratch.url]
    alembic = [py, "-m", "alembic", "-c", str(ALEMBIC_INI), "-x", f"url={scratch.sqlalchemy_url}"]

    def store_all():
        _run(cli + ["migrate"], parts, "store all apps: migrate (up)")
        start = time.perf_counter()
        for app in reversed(apps):
            _run(cli + ["reset", app, "--yes"], {}, "")
        parts.setdefault("store all apps: reset each app (down)", []).append(
            time.perf_counter() - start)

    def store_forecast():
        _run(cli + ["migrate", "forecast"], parts, "store forecast: migrate forecast (up)")
        _run(cli + ["reset", "forecast", "--yes"], parts, "store forecast: reset forecast (down)")

    def alembic_forecast():
        _run(alembic + ["upgrade", "head"], parts, "alembic forecast: upgrade head (up)")
        _run(alembic + ["downgrade", "base"], parts, "alembic forecast: downgrade base (down)")

    out = [Variant("Alembic upgrade head + downgrade base (forecast)", alembic_forecast,
                   role="sqlalchemy")]
    if "forecast" in apps:
        out.append(Variant("store migrate + reset, forecast app", store_forecast, role="store"))
    out.append(Variant(f"store migrate + reset, all {len(apps)} apps "
                       f"({1 + len(apps)} processes)", store_all))
    return out
