"""Where settings come from: flag > environment > setup.cfg [store] > default.

``setup.cfg`` is read from the working directory. Keys of its ``[store]``
section: ``database_url`` and ``apps`` (a whitespace- or comma-separated list).
"""
from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

DEFAULT_URL = "sqlite:///store.db"
ENV_URL = "DATABASE_URL"


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    apps: tuple
    path: Path | None


def read_settings(directory: str | os.PathLike | None = None) -> Settings:
    path = Path(directory or os.getcwd()) / "setup.cfg"
    if not path.is_file():
        return Settings(None, (), None)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{path}: cannot parse ({exc.__class__.__name__})") from None
    if not parser.has_section("store"):
        return Settings(None, (), path)
    section = parser["store"]
    known = {"database_url", "apps"}
    unknown = set(section) - known
    if unknown:
        raise ConfigError(f"{path} [store]: unknown option(s) "
                          f"{', '.join(sorted(unknown))}; accepted: {', '.join(sorted(known))}")
    apps = tuple(a for a in section.get("apps", "").replace(",", " ").split() if a)
    return Settings(section.get("database_url") or None, apps, path)


def resolve_url(url: str | None = None, directory=None) -> tuple[str, str]:
    """Return ``(url, source)`` where source is flag, env, setup.cfg or default."""
    if url:
        return url, "flag"
    env = os.environ.get(ENV_URL)
    if env:
        return env, "env"
    settings = read_settings(directory)
    if settings.database_url:
        return settings.database_url, "setup.cfg"
    return DEFAULT_URL, "default"
