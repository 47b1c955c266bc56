"""Where settings come from: flag > environment > project config > default.

The project config is the ``[store]`` section of ``setup.cfg`` or the
``[tool.store]`` table of ``pyproject.toml`` in the project root: the nearest
folder holding one, from the working directory upward (see
``store.project``). Keys: ``database_url`` and ``apps`` (a whitespace- or
comma-separated list; a list of strings in pyproject.toml).

A relative SQLite path from the project config or the default
(``sqlite:///store.db``) is relative to the project root, so a script or a
notebook in a subfolder reaches the same file; one given by flag or
``DATABASE_URL`` is relative to the working directory.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "sqlite:///store.db"
ENV_URL = "DATABASE_URL"


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    apps: tuple
    path: Path | None


def read_settings(directory: str | os.PathLike | None = None) -> Settings:
    """The settings of the project around ``directory`` (default: the cwd)."""
    from .project import find_project
    project = find_project(directory)
    return Settings(project.database_url, project.apps, project.config)


def _anchor(url: str, root: Path) -> str:
    """A relative SQLite path of ``url`` made relative to ``root`` (kept as
    written when the working directory is the root)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or Path.cwd().resolve() == root:
        return url
    path, sep, query = url[len(prefix):].partition("?")
    if not path or path.startswith("/") or path == ":memory:" or Path(path).is_absolute():
        return url
    return prefix + str(root / path) + sep + query


def resolve_url(url: str | None = None, directory=None) -> tuple[str, str]:
    """Return ``(url, source)`` where source is flag, env, setup.cfg (the
    project config, either file) or default."""
    if url:
        return url, "flag"
    env = os.environ.get(ENV_URL)
    if env:
        return env, "env"
    from .project import find_project
    project = find_project(directory)
    if project.database_url:
        return _anchor(project.database_url, project.root), "setup.cfg"
    if project.config is not None:
        return _anchor(DEFAULT_URL, project.root), "default"
    return DEFAULT_URL, "default"
