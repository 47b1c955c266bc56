"""``store init``: a new project in a folder, in the spirit of ``alembic init``.

Writes the ``[store]`` settings (``setup.cfg``, or ``[tool.store]`` in
``pyproject.toml``), one small example app (a package with ``MODELS``) and
its first migration in ``migrations/<app>/`` (written by autogenerate and
proved on a scratch SQLite database). Refuses to overwrite anything: an
existing store config, app package or migrations folder of the app.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

APP_TEMPLATE = '''"""{app}: an app of this project (written by `store init`; edit freely).

An app is an ordinary package that lists its models in ``MODELS``, in
dependency order. After changing a model, write a migration with
``store create NAME --app {app} --auto`` and apply it with ``store migrate``.
"""
import store


class Note(store.TimestampedModel):
    """A short text, timestamped (``created_at``, ``updated_at``)."""

    title = store.CharField(max_length=200)
    body = store.TextField(default="")
    done = store.BooleanField(default=False)


MODELS = [Note]
'''

SETUP_CFG = """[store]
# database_url = postgresql://user@localhost/app   (DATABASE_URL and --database win;
# the default is sqlite:///store.db in this folder)
apps = {app}
"""

PYPROJECT = """
[tool.store]
# database_url = "postgresql://user@localhost/app"   (DATABASE_URL and --database win;
# the default is sqlite:///store.db in this folder)
apps = ["{app}"]
"""

_APP_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass
class Scaffold:
    root: Path
    written: list = field(default_factory=list)


def _has_store_config(root: Path, config: str) -> Path | None:
    from .project import _section
    found = _section(root)
    return found[0] if found else None


def init(directory, *, app: str = "notes", config: str = "setup.cfg") -> Scaffold:
    """Scaffold a project in ``directory`` (created if missing)."""
    if config not in ("setup.cfg", "pyproject.toml"):
        raise ConfigError(f"--config {config!r}: setup.cfg or pyproject.toml")
    if not _APP_NAME.match(app) or app in ("store", "migrations", "tests"):
        raise ConfigError(f"--app {app!r}: a lower-case Python package name "
                          f"(letters, digits, underscores), not store/migrations/tests")
    root = Path(directory).resolve()
    root.mkdir(parents=True, exist_ok=True)
    existing = _has_store_config(root, config)
    if existing is not None:
        raise ConfigError(f"{existing} already holds store settings: not overwritten "
                          f"(this folder is a store project already)")
    for path in (root / app, root / f"{app}.py", root / "migrations" / app):
        if path.exists():
            raise ConfigError(f"{path} exists: not overwritten (choose another --app)")
    out = Scaffold(root)
    target = root / config
    original = target.read_bytes() if target.is_file() else None
    try:
        _write(root, app, config, out)
    except BaseException:
        _undo(root, app, target, original)          # nothing half-written
        raise
    return out


def _write(root: Path, app: str, config: str, out: Scaffold) -> None:
    package = root / app
    package.mkdir()
    (package / "__init__.py").write_text(APP_TEMPLATE.format(app=app), encoding="utf-8")
    out.written.append(package / "__init__.py")
    target = root / config
    if config == "setup.cfg":
        text = SETUP_CFG.format(app=app)
        if target.is_file():
            text = target.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + text
    else:
        text = PYPROJECT.format(app=app).lstrip("\n")
        if target.is_file():
            text = target.read_text(encoding="utf-8").rstrip("\n") + "\n" + PYPROJECT.format(app=app)
    target.write_text(text, encoding="utf-8")
    out.written.append(target)
    from .migrate import autogen
    from .project import activate, find_project, resolve_app
    project = activate(find_project(root))
    app_obj = resolve_app(app, project=project, require_migrations=False)
    result = autogen.create(app_obj, "initial", backends={"sqlite": None})
    out.written.append(result.path)


def _undo(root: Path, app: str, target: Path, original) -> None:
    import shutil
    import sys
    shutil.rmtree(root / app, ignore_errors=True)
    shutil.rmtree(root / "migrations" / app, ignore_errors=True)
    migrations = root / "migrations"
    if migrations.is_dir() and not any(migrations.iterdir()):
        migrations.rmdir()
    if original is None:
        target.unlink(missing_ok=True)
    else:
        target.write_bytes(original)
    sys.modules.pop(app, None)
