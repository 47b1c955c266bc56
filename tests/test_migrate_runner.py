"""The migration runner on both backends: up/down/up with rows present,
SQLite rebuilds that keep child rows, atomic failures, checksums, locking,
dry-run SQL."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import store
from store.migrate import App, StoreRouter

ROOT = Path(__file__).resolve().parents[1]

INITIAL = '''
import store

def migrate(migrator, database, fake=False):
    @migrator.create_model
    class Parent(store.Model):
        name = store.CharField(max_length=50, null=True)
        tags = store.JSONField(null=True)
        class Meta:
            table_name = "parent"

    @migrator.create_model
    class Child(store.Model):
        parent = store.ForeignKeyField(Parent, on_delete="CASCADE")
        note = store.TextField(null=True)
        class Meta:
            table_name = "child"

def rollback(migrator, database, fake=False):
    migrator.remove_model("child")
    migrator.remove_model("parent")
'''

NOT_NULL = '''
def migrate(migrator, database, fake=False):
    migrator.add_not_null("parent", "name")

def rollback(migrator, database, fake=False):
    migrator.drop_not_null("parent", "name")
'''

ADD_COLUMN = '''
import store

def migrate(migrator, database, fake=False):
    migrator.add_fields("parent", rank=store.IntegerField(default=0))

def rollback(migrator, database, fake=False):
    migrator.remove_fields("parent", "rank")
'''

BROKEN = '''
def migrate(migrator, database, fake=False):
    migrator.sql("CREATE TABLE half_done (id INTEGER PRIMARY KEY)")
    migrator.sql("INSERT INTO no_such_table VALUES (1)")

def rollback(migrator, database, fake=False):
    pass
'''


def write(folder: Path, name: str, text: str):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(text))


@pytest.fixture
def app(tmp_path):
    folder = tmp_path / "migrations" / "shop"
    write(folder, "001_initial", INITIAL)
    write(folder, "002_not_null", NOT_NULL)
    write(folder, "003_add_rank", ADD_COLUMN)
    return App("shop", [], folder)


def rows(db, sql):
    return db.execute_sql(sql).fetchall()


def seed(db):
    db.execute_sql("INSERT INTO parent (name, tags) VALUES ('a', '[1, {\"k\": \"v\"}]')")
    for note in ("x", "y"):
        db.execute_sql(f"INSERT INTO child (parent_id, note) VALUES (1, '{note}')")


def test_up_down_up_keeps_rows_and_child_rows(db, app):
    router = StoreRouter(db, app)
    assert router.run("001_initial") == ["001_initial"]
    seed(db)
    assert router.run() == ["002_not_null", "003_add_rank"]
    assert rows(db, "SELECT count(*) FROM child") == [(2,)]
    assert rows(db, "SELECT name, rank FROM parent") == [("a", 0)]
    assert router.rollback(2) == ["003_add_rank", "002_not_null"]
    assert rows(db, "SELECT count(*) FROM child") == [(2,)]
    assert router.run() == ["002_not_null", "003_add_rank"]
    assert rows(db, "SELECT count(*) FROM child") == [(2,)]
    assert [s.state for s in router.status()] == ["applied"] * 3


def test_foreign_keys_are_on_after_a_sqlite_rebuild(db, app):
    router = StoreRouter(db, app)
    router.run("001_initial")
    seed(db)
    router.run()
    router.rollback(2)
    router.run()
    if db.features.name == "sqlite":
        assert rows(db, "PRAGMA foreign_keys") == [(1,)]
    with pytest.raises(store.ForeignKeyViolation):
        db.execute_sql("INSERT INTO child (parent_id) VALUES (999)")


def test_a_failed_migration_leaves_schema_and_history_as_they_were(db, app):
    write(Path(app.migrations_dir), "004_broken", BROKEN)
    router = StoreRouter(db, app)
    with pytest.raises(store.MigrationError) as err:
        router.run()
    assert err.value.migration == "004_broken"
    assert "no_such_table" in str(err.value)
    assert "004_broken" in str(err.value) and "sql(" in str(err.value)
    assert router.done == ["001_initial", "002_not_null", "003_add_rank"]
    assert not db.table_exists("half_done")


def test_unknown_target_name_is_an_error_and_applies_nothing(db, app):
    router = StoreRouter(db, app)
    with pytest.raises(store.MigrationError, match="no migration named '009_nope'"):
        router.run("009_nope")
    assert router.done == []
    assert not db.table_exists("parent")


def test_edited_file_is_reported_and_refused_unless_forced(db, app):
    router = StoreRouter(db, app)
    router.run("001_initial")
    path = Path(app.migrations_dir) / "001_initial.py"
    path.write_text(path.read_text() + "\n# edited after it ran\n")
    states = {s.name: s.state for s in router.status()}
    assert states == {"001_initial": "edited", "002_not_null": "pending",
                      "003_add_rank": "pending"}
    with pytest.raises(store.MigrationError, match="edited"):
        router.run()
    assert router.done == ["001_initial"]
    assert router.run(force=True) == ["002_not_null", "003_add_rank"]


def test_dry_run_prints_sql_and_changes_nothing(db, app):
    router = StoreRouter(db, app)
    plan = router.plan_sql()
    statements = [sql for _, sql in plan]
    assert any(s.startswith('CREATE TABLE IF NOT EXISTS "parent"') or
               s.startswith('CREATE TABLE "parent"') for s in statements)
    assert {name for name, _ in plan} == {"001_initial", "002_not_null", "003_add_rank"}
    assert router.done == []
    assert not db.table_exists("parent")


def test_non_atomic_migration_is_recorded_after_it_completed(db, app):
    write(Path(app.migrations_dir), "004_index", '''
        atomic = False

        def migrate(migrator, database, fake=False):
            concurrently = "CONCURRENTLY " if database.features.name == "postgresql" else ""
            migrator.sql(f"CREATE INDEX {concurrently}ix_child_note ON child (note)")

        def rollback(migrator, database, fake=False):
            migrator.sql("DROP INDEX ix_child_note")
    ''')
    router = StoreRouter(db, app)
    router.run()
    assert router.done[-1] == "004_index"
    assert "ix_child_note" in [i.name for i in db.get_indexes("child")]
    router.rollback(1)
    assert "ix_child_note" not in [i.name for i in db.get_indexes("child")]


def test_history_tables_are_per_app(db, tmp_path, app):
    other_folder = tmp_path / "migrations" / "blog"
    write(other_folder, "001_post", '''
        def migrate(migrator, database, fake=False):
            migrator.sql("CREATE TABLE post (id INTEGER PRIMARY KEY)")

        def rollback(migrator, database, fake=False):
            migrator.sql("DROP TABLE post")
    ''')
    shop, blog = StoreRouter(db, app), StoreRouter(db, App("blog", [], other_folder))
    shop.run()
    blog.run()
    assert shop.done == ["001_initial", "002_not_null", "003_add_rank"]
    assert blog.done == ["001_post"]
    assert db.table_exists("shop_migrate_history") and db.table_exists("blog_migrate_history")


RACE = '''
import sys, store
from store.migrate import App, StoreRouter
db = store.connect(sys.argv[1])
print(",".join(StoreRouter(db, App("shop", [], sys.argv[2])).run()))
'''


def test_two_processes_apply_each_migration_exactly_once(backend_url, app, tmp_path):
    write(Path(app.migrations_dir), "004_slow", '''
        import time

        def migrate(migrator, database, fake=False):
            migrator.run(time.sleep, 0.5)
            migrator.sql("CREATE TABLE once_only (id INTEGER PRIMARY KEY)")

        def rollback(migrator, database, fake=False):
            migrator.sql("DROP TABLE once_only")
    ''')
    script = tmp_path / "race.py"
    script.write_text(RACE)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, str(script), backend_url, str(app.migrations_dir)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outputs]
    applied = [name for out, _ in outputs for name in out.strip().split(",") if name]
    assert sorted(applied) == ["001_initial", "002_not_null", "003_add_rank", "004_slow"]
    db = store.connect(backend_url)
    try:
        assert StoreRouter(db, app).done == ["001_initial", "002_not_null", "003_add_rank",
                                             "004_slow"]
    finally:
        db.close()


def test_upstream_router_loses_child_rows_on_sqlite_rebuild_store_does_not(db, app):
    """peewee-migrate 2.3 runs each migration inside a transaction, where
    ``PRAGMA foreign_keys=OFF`` is a no-op, so the SQLite rebuild's DROP TABLE
    cascades to child rows. store switches the pragma outside the transaction."""
    from peewee_migrate import Router

    upstream = Router(db, migrate_dir=Path(app.migrations_dir), migrate_table="upstream_history")
    upstream.run("001_initial")
    seed(db)
    upstream.run("002_not_null")
    lost = db.features.name == "sqlite"
    assert rows(db, "SELECT count(*) FROM child") == [(0 if lost else 2,)]

    db.execute_sql("DROP TABLE child")
    db.execute_sql("DROP TABLE parent")
    ours = StoreRouter(db, app)
    ours.run("001_initial")
    seed(db)
    ours.run("002_not_null")
    assert rows(db, "SELECT count(*) FROM child") == [(2,)]
