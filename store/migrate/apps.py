"""Apps: a models package plus its migrations folder and history table.

``setup.cfg [store] apps = forecast pricing`` names apps. An app name is
looked up as the module ``store.apps.<name>``, else the module ``<name>``
(or a dotted module path, for an app of your own), which must expose ``MODELS``: the app's registered models,
in dependency order. Nothing is discovered by scanning packages.
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


def load_app(name: str, root: str | Path = "migrations") -> App:
    candidates = [name] if "." in name else [f"store.apps.{name}", name]
    short = name.rsplit(".", 1)[-1]
    module = None
    for module_name in candidates:
        try:
            module = importlib.import_module(module_name)
            break
        except ModuleNotFoundError as exc:
            if exc.name not in (module_name, "store.apps"):
                raise ConfigError(f"app {name!r}: cannot import {module_name} ({exc})") from None
        except ImportError as exc:
            raise ConfigError(f"app {name!r}: cannot import {module_name} ({exc})") from None
    if module is None:
        raise ConfigError(f"app {name!r}: no module {' or '.join(candidates)}")
    models = getattr(module, "MODELS", None)
    if models is None:
        try:
            models = importlib.import_module(module_name + ".models").MODELS
        except (ImportError, AttributeError):
            raise ConfigError(f"app {name!r}: {module_name} exposes no MODELS list") from None
    namespace = getattr(module, "NAMESPACE", None)
    if namespace is not None:
        from ..namespaces import check_name
        check_name(namespace)
    return App(short, list(models), Path(root) / short, namespace)


def load_apps(names, root: str | Path = "migrations") -> list[App]:
    apps = [load_app(n, root) for n in names]
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
