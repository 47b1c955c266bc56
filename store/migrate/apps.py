"""Apps: a models package plus its migrations folder and history table.

``setup.cfg [store] apps = forecast pricing`` (or ``pyproject.toml
[tool.store]``) names apps. ``store.project`` resolves a name: a package of
the user's project folder, else a seed app shipped with store
(``store.apps.<name>``), which must expose ``MODELS``: the app's registered
models, in dependency order; and its ``migrations/<app>/`` folder. Nothing
is discovered by scanning packages.

The ``App`` record and the resolver live in ``store.project`` (which the CLI
and ``store.connect`` share); this module keeps the migration package's names
for them.
"""
from __future__ import annotations

from pathlib import Path

from ..project import App, app_models, check_tables_disjoint, resolve_app

__all__ = ["App", "app_models", "check_tables_disjoint", "load_app", "load_apps"]


def load_app(name: str, root: str | Path | None = None, *,
             require_migrations: bool = True) -> App:
    """The app ``name`` (see ``store.project.resolve_app``); ``root``: a folder
    of ``<app>/`` migration folders looked at first."""
    return resolve_app(name, migrations=root, require_migrations=require_migrations)


def load_apps(names, root: str | Path | None = None, *,
              require_migrations: bool = True) -> list[App]:
    apps = [a if isinstance(a, App) else
            load_app(a, root, require_migrations=require_migrations) for a in names]
    check_tables_disjoint(apps)
    return apps
