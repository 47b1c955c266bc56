"""Move a SQLite database to PostgreSQL: every app it holds, verified.

    python examples/move_to_postgres.py SOURCE_SQLITE_URL TARGET_PG_URL [--app APP ...]

    python examples/move_to_postgres.py sqlite:///store.db postgresql://me@db/shop

Which apps: ``--app`` (repeatable), else every app of ``store.apps`` whose
migration history is in the SQLite database (its namespace file too, for
``dental`` and ``inventory``). The copy is ``store.transfer.copy_database``:
the target is migrated first if it is behind, every table is copied in
foreign-key order in one transaction, row counts and checksums are compared
before commit, PostgreSQL sequences restart after the copied ids, and on
any failure the target is left as it was. A target that already holds rows
is refused (``python cli.py copy --truncate`` replaces them). The source is
only read.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

import store
from store.namespaces import table_name

ROOT = Path(__file__).resolve().parent.parent
KNOWN_APPS = ("forecast", "pricing", "backlog", "dental", "inventory")


def apps_in(source_db, names=KNOWN_APPS) -> list:
    """The apps among ``names`` whose history table exists in the SQLite
    database of ``source_db`` (read-only look, nothing is created)."""
    from store.migrate.apps import load_app
    found = []
    for name in names:
        app = load_app(name, ROOT / "migrations")
        path = Path(source_db.url.database)       # one file holds every namespace
        if not path.is_file():
            continue
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            present = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                   "AND name = ?",
                                   (table_name(source_db, app.history_table, app.namespace),)
                                   ).fetchone()
        conn.close()
        if present:
            found.append(app)
    return found


def move(source_url: str, target_url: str, app_names=None, *, quiet=False):
    """Copy the apps from the SQLite ``source_url`` to the PostgreSQL
    ``target_url``; return the ``TransferReport``."""
    from store.migrate.apps import load_app
    from store.progress import Progress
    from store.transfer import copy_database
    parsed = store.parse_url(source_url)
    if parsed.backend != "sqlite":
        raise SystemExit(f"the source must be a SQLite URL, got {parsed}")
    if store.parse_url(target_url).backend != "postgresql":
        raise SystemExit(f"the target must be a PostgreSQL URL, got {store.parse_url(target_url)}")
    if parsed.is_memory or not Path(parsed.database).is_file():
        raise SystemExit(f"{parsed}: no such SQLite file")
    source = store.connect(source_url)
    try:
        apps = ([load_app(n, ROOT / "migrations") for n in app_names] if app_names
                else apps_in(source))
        if not apps:
            raise SystemExit(f"{source.url}: no app's migration history found; nothing to move")
        target = store.connect(target_url)
        try:
            print(f"moving {', '.join(a.name for a in apps)}: {source.url} -> {target.url}")
            report = copy_database(source, target, apps, truncate=False,
                                   progress=Progress(quiet=quiet))
        finally:
            target.close()
    finally:
        source.close()
    for app, migrations in report.migrated.items():
        print(f"{app}: target migrated ({', '.join(migrations)})")
    for table in report.tables:
        print(f"{table.app}.{table.table}: {table.rows} rows, checksum {table.checksum[:12]} "
              f"verified")
    print(f"moved {report.rows} rows in {len(report.tables)} tables")
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", metavar="SOURCE_SQLITE_URL")
    parser.add_argument("target", metavar="TARGET_PG_URL")
    parser.add_argument("--app", action="append", dest="apps", metavar="APP",
                        help="an app to move (repeatable; default: every app found)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        move(args.source, args.target, args.apps, quiet=args.quiet)
    except store.StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
