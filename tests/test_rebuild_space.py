"""Disk space around SQLite table rebuilds (issue 12): a rebuild the disk
cannot hold is refused before anything changes, with the space it needs;
the pages the old table leaves are given back (auto_vacuum = INCREMENTAL) or
a log line says how (VACUUM). PostgreSQL alters in place: no such check."""
from __future__ import annotations

import logging
import textwrap

import pytest

from store.errors import MigrationError
from store.migrate import App, StoreRouter
from store.migrate import rebuild


def migrate(db, tmp_path, up, down="pass"):
    folder = tmp_path / "migrations" / "space"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "001_t.py").write_text(textwrap.dedent("""
        def migrate(migrator, database, fake=False):
            migrator.sql('CREATE TABLE t (id INTEGER PRIMARY KEY, s VARCHAR(100) NOT NULL)')
            migrator.sql('CREATE INDEX ix_t_s ON t (s)')

        def rollback(migrator, database, fake=False):
            migrator.sql('DROP TABLE t')
        """))
    app = App("space", [], folder)
    router = StoreRouter(db, app)
    router.run()
    rows = ", ".join(f"({i}, '{'x' * 90}{i:05d}')" for i in range(3000))
    db.execute_sql(f"INSERT INTO t (id, s) VALUES {rows}")
    (folder / "002_alter.py").write_text(textwrap.dedent(f"""
        import store

        def migrate(migrator, database, fake=False):
            {up}

        def rollback(migrator, database, fake=False):
            {down}
        """))
    return router


UP = ("migrator.alter_field('t', 's', store.TextField(), "
      "old=store.CharField(max_length=100))")


def test_a_rebuild_the_disk_cannot_hold_is_refused(db, tmp_path, monkeypatch):
    free = {"bytes": 10_000}
    monkeypatch.setattr(rebuild, "disk_free", lambda path: free["bytes"])
    router = migrate(db, tmp_path, UP)
    if db.features.name == "sqlite":
        with pytest.raises(MigrationError, match=r"t: rebuilding the table on SQLite needs "
                                                 r"about \d+\.\d MiB free .* and 0\.0 MiB is "
                                                 r"free; nothing was changed"):
            router.run()
        assert db.execute_sql("SELECT COUNT(*) FROM t").fetchone()[0] == 3000
        table = rebuild.SqliteTable(db, "t")
        assert table.size() > 3000 * 90            # the table and its index
        free["bytes"] = 2 * table.size() + 1
    router.run()                                   # PostgreSQL alters in place
    assert db.execute_sql("SELECT COUNT(*) FROM t").fetchone()[0] == 3000


def test_the_space_a_rebuild_frees_is_given_back_or_explained(db, tmp_path, caplog):
    if db.features.name == "sqlite":
        db.execute_sql("PRAGMA auto_vacuum = NONE")
    router = migrate(db, tmp_path, UP)
    with caplog.at_level(logging.INFO, logger="store.migrate"):
        router.run()
    hint = [r.getMessage() for r in caplog.records if "VACUUM" in r.getMessage()]
    if db.features.name == "postgresql":
        assert hint == []
        return
    assert len(hint) == 1 and "t: the SQLite rebuild left" in hint[0]
    assert db.execute_sql("PRAGMA freelist_count").fetchone()[0] > 0


def test_incremental_auto_vacuum_gives_the_pages_back(db, tmp_path):
    if db.features.name == "sqlite":
        db.execute_sql("PRAGMA auto_vacuum = INCREMENTAL")
        db.execute_sql("VACUUM")                   # takes effect on an existing file
        assert db.execute_sql("PRAGMA auto_vacuum").fetchone()[0] == 2
    router = migrate(db, tmp_path, UP)
    router.run()
    if db.features.name == "sqlite":
        assert db.execute_sql("PRAGMA freelist_count").fetchone()[0] == 0
    assert db.execute_sql("SELECT COUNT(*) FROM t").fetchone()[0] == 3000
