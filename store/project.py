"""The user's project: its root folder, its settings, its apps and their migrations.

One resolver, used by the CLI (``store ...``, ``python -m store.cli``,
``python cli.py``), by ``store.connect(apps=[...])`` and by
``store.migrate.migrate(db, [...])`` alike:

* **root**: the nearest folder, from the working directory upward, holding a
  ``setup.cfg`` with a ``[store]`` section or a ``pyproject.toml`` with a
  ``[tool.store]`` table (as Alembic finds ``alembic.ini``). Without one, the
  working directory. The root is put on ``sys.path`` (as Django's
  ``manage.py`` does), so the project's apps import like any package.
* **settings**: ``database_url`` and ``apps`` from that file.
* **an app** ``NAME``: the project's package ``NAME`` (or a dotted module
  path), else the seed app shipped with store, ``store.apps.NAME``. It
  exposes ``MODELS`` (in its module or its ``models`` submodule).
* **its migrations**: ``<root>/migrations/<app>/``; for a seed app not
  migrated from the project's folder, the migrations shipped with store.
  An app whose migrations are found nowhere is a ``ConfigError`` naming
  every place looked at.
"""
from __future__ import annotations

import configparser
import importlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

CONFIG_KEYS = ("database_url", "apps")
_PACKAGE = Path(__file__).resolve().parent
#: The seed apps' migrations: inside the installed package (a wheel maps the
#: checkout's top-level ``migrations/`` there), else beside the package (a
#: source checkout).
SHIPPED_MIGRATIONS = (_PACKAGE / "seed_migrations", _PACKAGE.parent / "migrations")


#: The seed apps shipped with store (``store.apps.<name>``), in the order
#: this repository lists them.
SEED_APPS = ("forecast", "pricing", "backlog", "dental", "inventory")


@dataclass(frozen=True)
class Project:
    root: Path                 # the project folder (the working directory without config)
    config: Path | None        # setup.cfg or pyproject.toml holding the settings
    database_url: str | None
    apps: tuple

    @property
    def migrations(self) -> Path:
        return self.root / "migrations"


def _read_setup_cfg(path: Path):
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{path}: cannot parse ({exc.__class__.__name__})") from None
    if not parser.has_section("store"):
        return None
    return dict(parser["store"])


def _read_pyproject(path: Path):
    import tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse ({exc.__class__.__name__})") from None
    table = data.get("tool", {}).get("store")
    return table if isinstance(table, dict) else None


def _section(folder: Path):
    """``(path, settings)`` of the store config in ``folder``, or None."""
    for name, reader in (("setup.cfg", _read_setup_cfg), ("pyproject.toml", _read_pyproject)):
        path = folder / name
        if path.is_file():
            section = reader(path)
            if section is not None:
                return path, section
    return None


def _settings(path: Path, section: dict):
    unknown = set(section) - set(CONFIG_KEYS)
    if unknown:
        where = "[tool.store]" if path.name == "pyproject.toml" else "[store]"
        raise ConfigError(f"{path} {where}: unknown option(s) {', '.join(sorted(unknown))}; "
                          f"accepted: {', '.join(CONFIG_KEYS)}")
    apps = section.get("apps", ())
    if isinstance(apps, str):
        apps = apps.replace(",", " ").split()
    if not isinstance(apps, (list, tuple)) or not all(isinstance(a, str) for a in apps):
        raise ConfigError(f"{path}: apps must be a list of app names")
    url = section.get("database_url") or None
    if url is not None and not isinstance(url, str):
        raise ConfigError(f"{path}: database_url must be a string")
    return url, tuple(a for a in apps if a)


def find_project(start: str | os.PathLike | None = None) -> Project:
    """The project around ``start`` (default: the working directory)."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        found = _section(folder)
        if found is not None:
            path, section = found
            url, apps = _settings(path, section)
            return Project(folder, path, url, apps)
    return Project(here, None, None, ())


def activate(project: Project) -> Project:
    """Put the project root on ``sys.path`` (first, once), so its apps import."""
    root = str(project.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    return project


def current(start=None) -> Project:
    return activate(find_project(start))


def import_app(name: str, project: Project):
    """The app's module: a package or module of the project folder, else the
    seed app ``store.apps.<name>``, else any importable module ``name``."""
    local = "." not in name and ((project.root / name / "__init__.py").is_file()
                                 or (project.root / f"{name}.py").is_file())
    if "." in name or local:
        candidates = [name]
    else:
        candidates = [f"store.apps.{name}", name]
    for module_name in candidates:
        try:
            return importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if not (module_name == missing or module_name.startswith(missing + ".")):
                raise ConfigError(f"app {name!r}: cannot import {module_name} ({exc})") from None
        except ImportError as exc:
            raise ConfigError(f"app {name!r}: cannot import {module_name} ({exc})") from None
    raise ConfigError(f"app {name!r}: no module {' or '.join(candidates)} (an app is a "
                      f"package in the project folder {project.root} or one shipped with store)")


def migration_candidates(app_name: str, module_name: str, project: Project,
                         migrations=None) -> list[Path]:
    """Where the migrations of an app are looked for, in order."""
    short = app_name
    places = []
    if migrations is not None:
        places.append(Path(migrations).resolve() / short)
    places.append(project.migrations / short)
    if module_name == f"store.apps.{short}":
        places.extend(p / short for p in SHIPPED_MIGRATIONS)
    seen, out = set(), []
    for place in places:
        if place not in seen:
            seen.add(place)
            out.append(place)
    return out


def resolve_app(name: str, *, project: Project | None = None, migrations=None,
                require_migrations: bool = True):
    """The ``store.migrate.App`` called ``name``. ``migrations``: a folder of
    ``<app>/`` folders looked at first. ``require_migrations=False`` (``create``):
    a missing folder is where the first migration will be written."""
    project = activate(project or find_project())
    module = import_app(name, project)
    short = name.rsplit(".", 1)[-1]
    models = app_models(name, module)
    namespace = getattr(module, "NAMESPACE", None)
    if namespace is not None:
        from .names import check_name
        check_name(namespace)
    places = migration_candidates(short, module.__name__, project, migrations)
    found = next((p for p in places if p.is_dir()), None)
    if found is None:
        if require_migrations:
            raise ConfigError(
                f"app {short!r}: no migrations folder; looked in "
                f"{', '.join(str(p) for p in places)} (write the first migration with "
                f"`store create initial --app {short} --auto`)")
        found = places[0]
    return App(short, list(models), found, namespace)


def resolve_apps(names, *, project: Project | None = None, migrations=None,
                 require_migrations: bool = True) -> list:
    project = project or find_project()
    apps = [a if isinstance(a, App) else
            resolve_app(a, project=project, migrations=migrations,
                        require_migrations=require_migrations) for a in names]
    check_tables_disjoint(apps)
    return apps


# --- apps ---------------------------------------------------------------------

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
        """The declared table names (without a SQLite namespace prefix)."""
        from .names import base_tables
        return base_tables(self)


def app_models(name: str, module) -> list:
    """The ``MODELS`` of an app module (or of its ``models`` submodule)."""
    models = getattr(module, "MODELS", None)
    if models is None:
        try:
            models = importlib.import_module(module.__name__ + ".models").MODELS
        except (ImportError, AttributeError):
            raise ConfigError(f"app {name!r}: {module.__name__} exposes no MODELS list") from None
    return list(models)


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
