"""A scratch copy of a SQLite database, for dry runs that must change nothing."""
from __future__ import annotations

import dataclasses
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def sqlite_copy(db, apps):
    """A connected store database on a copy of ``db``'s file and of the
    namespace files of ``apps`` (those that exist), in a temporary folder
    removed afterwards. An in-memory or absent database gives an empty copy."""
    from ..database import open_database
    from ..namespaces import legacy_path
    with tempfile.TemporaryDirectory(prefix="store-plan-") as tmp:
        main = Path(tmp) / "plan.db"
        copy = open_database(dataclasses.replace(db.url, database=str(main)))
        sources = []
        if not db.url.is_memory:
            sources.append((Path(db.url.database), main))
            for ns in {a.namespace for a in apps if a.namespace}:
                # a namespace file of the old layout: the plan merges it, as migrate would
                sources.append((Path(legacy_path(db, ns)), Path(legacy_path(copy, ns))))
        for source, target in sources:
            for suffix in ("", "-wal"):
                if Path(str(source) + suffix).is_file():
                    shutil.copyfile(str(source) + suffix, str(target) + suffix)
        copy.connect()
        try:
            yield copy
        finally:
            copy.close()
