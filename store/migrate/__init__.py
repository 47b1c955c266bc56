"""Migrations: one peewee-migrate router per app, run against the live database.

An app is a models package plus ``migrations/<app>/`` with its own history
table ``<app>_migrate_history`` (see ``apps.py``). ``runner.StoreRouter``
applies and rolls back; this module is the small API the CLI and scripts use.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError, MigrationError  # noqa: F401 (store.migrate.MigrationError)
from .apps import App, check_tables_disjoint, load_app, load_apps
from .runner import MigrationState, StoreRouter

__all__ = ["App", "check_tables_disjoint", "load_app", "load_apps", "StoreRouter", "MigrationState",
           "migrate", "rollback", "status", "plan_sql", "AppResult"]


@dataclass
class AppResult:
    app: str
    applied: list = field(default_factory=list)


def _apps(apps):
    """Names resolved by ``store.project`` (as the CLI and ``store.connect`` do)."""
    return [a if isinstance(a, App) else load_app(a) for a in apps]


def migrate(db, apps, *, to=None, fake=False, force=False, progress=None):
    """Apply pending migrations of each app in order; ``to`` needs one app."""
    apps = _apps(apps)
    if to is not None and len(apps) != 1:
        raise ConfigError("--to needs exactly one APP")
    for app in apps:            # every app checked before any is applied
        with StoreRouter(db, app) as router:
            router.check_edited(force)
    results = []
    for app in apps:
        with StoreRouter(db, app) as router:
            results.append(AppResult(app.name, router.run(to, fake=fake, force=force,
                                                          progress=progress)))
    return results


def rollback(db, app, *, steps=1, to=None, fake=False):
    """Roll back ``app``'s last ``steps`` migrations (0: none; None: every
    one), or every migration after ``to``."""
    app = _apps([app])[0]
    with StoreRouter(db, app) as router:
        return router.rollback(steps, to, fake=fake)


def status(db, apps):
    """``{app: [MigrationState]}``, read without creating anything (no
    namespace, no history table)."""
    from .history import read_history
    from .runner import states
    return {app.name: states(app, read_history(db, app)) for app in _apps(apps)}


def plan_sql(db, apps, *, to=None):
    """``[(app, migration, sql)]`` a ``migrate`` would run, changing nothing:
    on SQLite against a scratch copy of the database files, on PostgreSQL in
    one transaction rolled back (schemas and history tables included)."""
    apps = _apps(apps)
    if to is not None and len(apps) != 1:
        raise ConfigError("--to needs exactly one APP")
    if db.features.name == "sqlite":
        from .scratch import sqlite_copy
        with sqlite_copy(db, apps) as copy:
            return _plan(copy, apps, to)
    import dataclasses

    from ..fields import quote_ident
    out = []
    with db.atomic() as txn:
        for app in apps:
            if app.namespace:
                db.execute_sql(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(app.namespace)}")
                previous = db.execute_sql("SHOW search_path").fetchone()[0]
                db.execute_sql(f"SET LOCAL search_path TO {quote_ident(app.namespace)}")
            try:
                out += _plan(db, [dataclasses.replace(app, namespace=None)], to)
            finally:
                if app.namespace:
                    db.execute_sql(f"SET LOCAL search_path TO {previous}")
        txn.rollback()
    return out


def _plan(db, apps, to):
    out = []
    for app in apps:
        with StoreRouter(db, app) as router:
            out.extend((app.name, name, sql) for name, sql in router.plan_sql(to))
    return out
