"""Running migrations: one peewee-migrate Router per app.

An app is a models package plus ``migrations/<app>/`` with its own history
table ``<app>_migrate_history``. Apps are listed in ``setup.cfg [store] apps``.
This module is the runner the CLI uses; autogenerate, SQLite rebuilds,
checksums and locking build on it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, MigrationError

log = logging.getLogger("store.migrate")


def history_table(app: str) -> str:
    return f"{app}_migrate_history"


@dataclass
class AppResult:
    app: str
    applied: list = field(default_factory=list)


def _router(db, app: str, root: Path):
    from peewee_migrate import Router

    folder = root / app
    if not folder.is_dir():
        raise ConfigError(f"app {app!r}: migrations folder {folder} does not exist "
                          f"(create it, or remove {app!r} from setup.cfg [store] apps)")
    return Router(db, migrate_dir=folder, migrate_table=history_table(app), logger=log)


def migrate(db, apps, root="migrations", *, to=None, fake=False):
    """Apply pending migrations of each app in order; return per-app results."""
    root = Path(root)
    results = []
    for app in apps:
        router = _router(db, app, root)
        todo = router.todo
        if to is not None and to not in todo:
            raise MigrationError(f"app {app!r} has no migration named {to!r}; "
                                 f"known: {', '.join(todo) or 'none'}", app=app, migration=to)
        try:
            applied = router.run(to, fake=fake)
        except Exception as exc:
            raise MigrationError(f"app {app!r}: migration failed: {exc}", app=app) from exc
        results.append(AppResult(app, applied))
    return results
