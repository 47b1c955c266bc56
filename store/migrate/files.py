"""An app's migration files on disk: their names, in the order they apply.
(Read by the runner, the history recorder, autogen and copy; it imports
nothing of theirs.)"""
from __future__ import annotations

from pathlib import Path

from peewee_migrate import Router


def migration_names(folder) -> list[str]:
    """The migration files of ``folder`` (peewee-migrate's ``NNN_name.py``), in order."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(f.stem for f in folder.iterdir() if Router.filemask.match(f.name))
