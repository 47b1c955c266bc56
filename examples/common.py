"""What every app example shares: which database, migrated, empty.

    with example_database("forecast") as db:
        ...

The database is the first command-line argument, else ``DATABASE_URL``,
else a new SQLite file in a temporary directory (removed at the end). The
app is migrated on open (``store.open(..., migrate=True)``: the explicit
option, nothing is created without it) and its models are bound, in the
app's namespace (``dental`` and ``inventory`` have one: a PostgreSQL schema,
or a ``.<namespace>.db`` file beside the SQLite file).

An example inserts fixed rows, so it needs the app's tables empty: if they
hold rows it stops with a message (exit status 1) instead of touching
your data.
"""
from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager

import store


def database_url(argv=None) -> tuple[str, tempfile.TemporaryDirectory | None]:
    argv = sys.argv if argv is None else argv
    if len(argv) > 1:
        return argv[1], None
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], None
    scratch = tempfile.TemporaryDirectory(prefix="store-example-")
    return f"sqlite:///{scratch.name}/example.db", scratch


@contextmanager
def example_database(app: str, argv=None):
    url, scratch = database_url(argv)
    try:
        with store.open(url, apps=[app], migrate=True) as db:
            print(f"{app} on {db.url.masked()} ({db.features.name}), migrated")
            from store.migrate import load_app
            filled = [m._meta.table_name for m in load_app(app).models if m.select().exists()]
            if filled:
                raise SystemExit(f"{app}: table(s) {', '.join(filled)} already hold rows; "
                                 f"run this example on an empty database (or the default "
                                 f"temporary one), or `python cli.py reset {app} --yes`")
            yield db
    finally:
        if scratch is not None:
            scratch.cleanup()


def show(title: str, rows) -> None:
    """Print a heading and ``rows`` as a text table (``store.table``)."""
    print(f"\n## {title}")
    print(store.table(rows, max_width=60, title=""))
