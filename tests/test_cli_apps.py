"""The shipped apps end to end through the CLI, on both backends: migrate
every app, status, partitions, then reset every app and find nothing left
(no table, index, sequence, trigger, function, type or namespace)."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from store.cli import main
from store.project import SEED_APPS
from store.migrate.runner import migration_names

ROOT = Path(__file__).resolve().parents[1]
APPS = list(SEED_APPS)          # never this repository's setup.cfg list
MIGRATIONS = sum(len(migration_names(ROOT / "migrations" / app)) for app in APPS)


def leftovers(db):
    if db.features.name == "sqlite":
        rows = db.execute_sql("SELECT type, name FROM sqlite_master").fetchall()
        return sorted(rows)
    return sorted(db.execute_sql(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
        "OR n.nspname IN ('dental', 'inventory') "
        "UNION ALL SELECT n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname = current_schema() "
        "UNION ALL SELECT n.nspname, t.typname FROM pg_type t JOIN pg_namespace n "
        "ON n.oid = t.typnamespace WHERE n.nspname = current_schema() "
        "UNION ALL SELECT nspname, '' FROM pg_namespace WHERE nspname IN "
        "('dental', 'inventory')").fetchall())


def seed_project(tmp_path):
    """A project folder listing the seed apps (this repository's setup.cfg is
    not used): their migrations are the ones shipped with store."""
    (tmp_path / "setup.cfg").write_text(f"[store]\napps = {' '.join(APPS)}\n")
    return tmp_path


def _clear_namespaces(db):
    """Start from a database without the apps' namespaces (another test of
    the run may have left them in the shared test database)."""
    if db.features.name == "postgresql":
        for ns in ("dental", "inventory"):
            db.execute_sql(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')


def test_migrate_status_partitions_and_reset_leave_nothing(db, backend_url, monkeypatch,
                                                           tmp_path):
    monkeypatch.chdir(seed_project(tmp_path))
    _clear_namespaces(db)
    before = leftovers(db)
    runner = CliRunner()

    def cli(*args):
        result = runner.invoke(main, ["--database", backend_url, *args])
        return result.exit_code, result.output

    try:
        code, out = cli("migrate")
        assert code == 0, out
        assert all(f"{app}" in out for app in APPS) and "applied 001_initial" in out
        code, out = cli("status")
        assert code == 0 and out.count("applied") == MIGRATIONS, out
        code, out = cli("partitions", "create", "inventory", "--start", "2026-01-01",
                        "--days", "2")
        assert code == 0, out
        code, out = cli("partitions", "list", "inventory")
        if db.features.name == "postgresql":
            assert "detections_p20260101 2026-01-01 .. 2026-01-02" in out
        else:
            assert "detections: no partitions (SQLite: a plain table)" in out
        for app in reversed(APPS):
            code, out = cli("reset", app, "--yes")
            assert code == 0, out
        assert leftovers(db) == before
        if db.features.name == "sqlite":
            folder = Path(db.url.database).parent
            assert sorted(p.name for p in folder.glob("test.*.db")) == []
    finally:
        if db.features.name == "postgresql":
            for ns in ("dental", "inventory"):
                db.execute_sql(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')


def test_check_finds_live_drift_and_writes_nothing(db, backend_url, monkeypatch, tmp_path):
    monkeypatch.chdir(seed_project(tmp_path))
    runner = CliRunner()

    def cli(*args):
        result = runner.invoke(main, ["--database", backend_url, *args])
        return result.exit_code, result.output

    _clear_namespaces(db)
    before = leftovers(db)
    code, out = cli("check", "pricing")
    pending = len(migration_names(ROOT / "migrations" / "pricing"))
    assert code == 1 and f"{pending} migration(s) pending" in out     # not an all-clear
    assert cli("check", "pricing", "--no-live")[0] == 0
    assert leftovers(db) == before                      # read-only
    try:
        assert cli("migrate", "pricing")[0] == 0
        code, out = cli("check", "pricing")
        assert code == 0 and "pricing: live schema matches the models" in out
        db.execute_sql('DROP INDEX "idx_models_brand"')     # a hand change in the database
        code, out = cli("check", "pricing")
        assert code == 1
        assert "the live schema differs from the models" in out
        assert "index idx_models_brand added" in out
    finally:
        cli("reset", "pricing", "--yes")
