"""Migrations: one peewee-migrate router per app, run against the live database.

An app is a models package plus ``migrations/<app>/`` with its own history
table ``<app>_migrate_history`` (see ``apps.py``). ``runner.StoreRouter``
applies and rolls back; this module is the small API the CLI and scripts use.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError, MigrationError
from .apps import App, check_tables_disjoint, load_app, load_apps
from .runner import MigrationState, StoreRouter

__all__ = ["App", "check_tables_disjoint", "load_app", "load_apps", "StoreRouter", "MigrationState",
           "migrate", "rollback", "status", "plan_sql", "AppResult"]


@dataclass
class AppResult:
    app: str
    applied: list = field(default_factory=list)


def _apps(apps):
    return [a if isinstance(a, App) else load_app(a) for a in apps]


def migrate(db, apps, *, to=None, fake=False, force=False, progress=None):
    """Apply pending migrations of each app in order; ``to`` needs one app."""
    apps = _apps(apps)
    if to is not None and len(apps) != 1:
        raise ConfigError("--to needs exactly one APP")
    results = []
    for app in apps:
        with StoreRouter(db, app) as router:
            results.append(AppResult(app.name, router.run(to, fake=fake, force=force,
                                                          progress=progress)))
    return results


def rollback(db, app, *, steps=1, to=None, fake=False):
    app = _apps([app])[0]
    with StoreRouter(db, app) as router:
        return router.rollback(steps, to, fake=fake)


def status(db, apps):
    out = {}
    for app in _apps(apps):
        with StoreRouter(db, app) as router:
            out[app.name] = router.status()
    return out


def plan_sql(db, apps, *, to=None):
    out = []
    for app in _apps(apps):
        with StoreRouter(db, app) as router:
            out.extend((app.name, name, sql) for name, sql in router.plan_sql(to))
    return out
