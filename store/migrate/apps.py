"""Apps: a models package plus its migrations folder and history table.

``setup.cfg [store] apps = forecast pricing`` (or ``pyproject.toml
[tool.store]``) names apps. ``store.project`` resolves a name: a package of
the user's project folder, else a seed app shipped with store
(``store.apps.<name>``), which must expose ``MODELS``: the app's registered
models, in dependency order; and its ``migrations/<app>/`` folder. Nothing
is discovered by scanning packages.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError


@dataclass
class App:
    name: str
    models: list = field(default_factory=list)
    migrations_dir: Path = Path("migrations")
    namespace: str | None = None        # see store.namespaces

    @property
    def history_table(self) -> str:
        return f"{self.name}_migrate_history"

    @property
    def tables(self) -> list[str]:
        return [m._meta.table_name for m in self.models]


def app_models(name: str, module) -> list:
    """The ``MODELS`` of an app module (or of its ``models`` submodule)."""
    models = getattr(module, "MODELS", None)
    if models is None:
        try:
            models = importlib.import_module(module.__name__ + ".models").MODELS
        except (ImportError, AttributeError):
            raise ConfigError(f"app {name!r}: {module.__name__} exposes no MODELS list") from None
    return list(models)


def load_app(name: str, root: str | Path | None = None, *,
             require_migrations: bool = True) -> App:
    """The app ``name`` (see ``store.project.resolve_app``); ``root``: a folder
    of ``<app>/`` migration folders looked at first."""
    from ..project import resolve_app
    return resolve_app(name, migrations=root, require_migrations=require_migrations)


def load_apps(names, root: str | Path | None = None, *,
              require_migrations: bool = True) -> list[App]:
    apps = [a if isinstance(a, App) else
            load_app(a, root, require_migrations=require_migrations) for a in names]
    check_tables_disjoint(apps)
    return apps


def check_tables_disjoint(apps) -> None:
    """Refuse two apps that would share a table by accident."""
    owner = {}
    for app in apps:
        for model in app.models:
            table = model._meta.table_name
            key = (app.namespace, table)
            if key in owner and owner[key] != app.name:
                where = f"{app.namespace}.{table}" if app.namespace else table
                raise ConfigError(
                    f"apps {owner[key]!r} and {app.name!r} both define table {where!r}; "
                    f"give one of them its own namespace (NAMESPACE = \"...\" in the app "
                    f"module, see store.namespaces) or rename the table")
            owner[key] = app.name
