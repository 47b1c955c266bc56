"""A load or copy that fails part-way leaves the target exactly as it was,
also when the database itself ends the transaction (SQLite on a full disk:
it rolls the whole transaction back, and every statement store ran after
that used to commit on its own)."""
from __future__ import annotations

from decimal import Decimal

import peewee
import pytest

import store
from store import migrate as runner
from store.migrate import load_app
from store.transfer import TransferError, dump_database, load_database

ROWS = 3000


def _brands(db):
    return db.execute_sql("SELECT brand, base_price FROM brand_groups ORDER BY brand").fetchall()


def _fail_part_way(target):
    """Make the target refuse the load after some thousand rows: SQLite runs
    out of pages (SQLITE_FULL rolls its transaction back); PostgreSQL gets a
    trigger that raises on a late row (its transaction is aborted, not ended)."""
    if not target.features.native_decimal:
        (pages,) = target.execute_sql("PRAGMA page_count").fetchone()
        target.execute_sql(f"PRAGMA max_page_count = {pages + 12}")
        return
    target.execute_sql(
        "CREATE FUNCTION fail_late() RETURNS trigger AS $$ BEGIN "
        "IF NEW.brand = 'b2900' THEN RAISE EXCEPTION 'no space left (simulated)'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql")
    target.execute_sql("CREATE TRIGGER fail_late BEFORE INSERT ON brand_groups "
                       "FOR EACH ROW EXECUTE FUNCTION fail_late()")


@pytest.mark.parametrize("truncate", [False, True])
def test_failed_load_leaves_the_target_as_it_was(db, fresh_url, tmp_path, truncate):
    app = load_app("pricing")
    runner.migrate(db, [app])
    db.bind_models(app.models)
    from store.apps.pricing.models import BrandGroup
    with db.atomic():
        BrandGroup.insert_many([{"brand": f"b{i}", "group_name": "g" * 50,
                                 "base_price": Decimal("5.00") + i % 400}
                                for i in range(ROWS)]).execute()
    dump_database(db, [app], tmp_path / "dump")
    target = store.connect(fresh_url)
    try:
        runner.migrate(target, [app])
        target.bind_models(app.models)
        if truncate:                         # old rows that a failed --truncate must keep
            BrandGroup.create(brand="old", group_name="kept", base_price=Decimal("9.99"))
        before = _brands(target)
        _fail_part_way(target)
        with pytest.raises(TransferError) as info:
            load_database(target, [app], tmp_path / "dump", truncate=truncate, batch_size=500)
        assert "full" in str(info.value) or "no space" in str(info.value)
        if not target.features.native_decimal:
            target.execute_sql("PRAGMA max_page_count = 1073741823")
        assert _brands(target) == before     # nothing of the load, old rows all there
        with target.atomic():                # and the connection is usable
            assert target.execute_sql("SELECT count(*) FROM brand_groups").fetchone()[0] \
                == len(before)
    finally:
        target.close()


def test_statements_after_sqlite_ended_the_transaction_are_refused(db, tmp_path):
    """The mechanism itself: after SQLite rolled a transaction back on its own,
    the rest of the db.atomic() block runs nothing (on PostgreSQL an error
    aborts the transaction and every later statement fails the same way)."""
    class Blob(store.Model):
        text = store.TextField()

        class Meta:
            database = db
            table_name = "blob_full"

    db.create_tables([Blob])
    Blob.create(text="before")
    if db.features.native_decimal:
        with pytest.raises(peewee.DatabaseError):
            with db.atomic():
                Blob.create(text="inside")
                db.execute_sql("SELECT 1/0")
    else:
        (pages,) = db.execute_sql("PRAGMA page_count").fetchone()
        db.execute_sql(f"PRAGMA max_page_count = {pages + 4}")
        with pytest.raises(store.TransactionLost, match="database or disk is full"):
            with db.atomic():
                try:
                    for _ in range(1000):
                        Blob.create(text="x" * 2000)
                except store.StoreError:
                    raise
                except Exception:
                    assert db.transaction_lost()
                    Blob.create(text="after the error")      # refused, not autocommitted
        db.execute_sql("PRAGMA max_page_count = 1073741823")
    assert [b.text for b in Blob.select()] == ["before"]
    with db.atomic():
        Blob.create(text="next block")
    assert Blob.select().count() == 2



def test_failed_migrate_names_its_cause_and_leaves_nothing(db):
    """SQLite out of space mid-migration (it ends the transaction itself: the
    message used to be 'cannot rollback - no transaction is active');
    PostgreSQL refusing a statement. Both: the cause named, nothing left."""
    app = load_app("forecast")
    before = set(db.get_tables())
    if db.features.native_decimal:
        db.execute_sql('CREATE TABLE "workflow_logs" (x int)')    # the migration's own name
        before.add("workflow_logs")
        cause = "already exists"
    else:
        (pages,) = db.execute_sql("PRAGMA page_count").fetchone()
        db.execute_sql(f"PRAGMA max_page_count = {pages + 6}")
        cause = "database or disk is full"
    with pytest.raises(store.MigrationError, match=cause):
        runner.migrate(db, [app])
    if not db.features.native_decimal:
        db.execute_sql("PRAGMA max_page_count = 1073741823")
    assert set(db.get_tables()) - {"forecast_migrate_history"} == before
    assert db.execute_sql("SELECT count(*) FROM forecast_migrate_history").fetchone() == (0,)


def test_rerun_after_a_kill_that_left_the_target_migrated_but_empty(db, fresh_url, tmp_path):
    """What kill -9 during a copy into an empty target may leave (its
    migrations committed, the copy's transaction not): the same copy run again
    completes, on both backends."""
    from store.transfer import copy_database
    app = load_app("pricing")
    runner.migrate(db, [app])
    db.bind_models(app.models)
    from store.apps.pricing.models import BrandGroup
    BrandGroup.create(brand="Levi's", group_name="jeans", base_price=Decimal("45.00"))
    target = store.connect(fresh_url)
    try:
        runner.migrate(target, [app])          # the state a killed copy leaves
        assert target.execute_sql("SELECT count(*) FROM brand_groups").fetchone() == (0,)
        report = copy_database(db, target, [app])
        assert report.rows == 1
        assert _brands(target) == [("Levi's", Decimal("45.00") if target.features.native_decimal
                                    else 45)]
    finally:
        target.close()


# --- copy's guarantees, each defended by a test that fails without its code ---------

def _pricing_with_rows(db):
    app = load_app("pricing")
    runner.migrate(db, [app])
    db.bind_models(app.models)
    from store.apps.pricing.models import BrandGroup, ProductModel
    BrandGroup.create(brand="Levi's", group_name="jeans", base_price=Decimal("45.00"))
    ProductModel.create(brand="Levi's", group_name="jeans", model="501")
    return app


class _WriteDuringCopy:
    """A progress sink that, once the first table is under way, writes a
    row into the source through another connection."""

    def __init__(self, url):
        self.url, self.done = url, False

    def start(self, label, total=None):
        pass

    def advance(self, n=1):
        if not self.done:
            self.done = True
            other = store.connect(self.url)
            try:
                other.execute_sql("INSERT INTO models (brand, group_name, model, coefficient) "
                                  "VALUES ('Levi''s', 'jeans', 'late', 1.00)")
            finally:
                other.close()

    def finish(self):
        pass


def test_copy_reads_one_snapshot_of_the_source(db, backend_url, fresh_url):
    """A row written to the source while the copy runs is not copied: every
    table is read in the snapshot the copy started with."""
    from store.transfer import copy_database
    app = _pricing_with_rows(db)
    target = store.connect(fresh_url)
    try:
        sink = _WriteDuringCopy(backend_url)
        copy_database(db, target, [app], progress=sink)
        assert sink.done
        assert db.execute_sql("SELECT count(*) FROM models").fetchone() == (2,)
        assert target.execute_sql("SELECT model FROM models").fetchall() == [("501",)]
    finally:
        target.close()


def test_copy_checks_the_target_is_empty_inside_its_transaction(db, fresh_url, monkeypatch):
    """A row that reaches the target between the first emptiness check and the
    copy's transaction is found inside it: refused, nothing written."""
    from store import transfer
    app = _pricing_with_rows(db)
    target = store.connect(fresh_url)
    runner.migrate(target, [app])
    compare = transfer._compare

    def compare_then_someone_writes(*args):
        compare(*args)
        other = store.connect(fresh_url)
        try:
            other.execute_sql("INSERT INTO brand_groups (brand, group_name, base_price) "
                              "VALUES ('early', 'bird', 9.99)")
        finally:
            other.close()
    monkeypatch.setattr(transfer, "_compare", compare_then_someone_writes)
    try:
        with pytest.raises(TransferError, match="target is not empty"):
            transfer.copy_database(db, target, [app])
        assert _brands(target) == [("early", Decimal("9.99") if target.features.native_decimal
                                    else 9.99)]
        assert target.execute_sql("SELECT count(*) FROM models").fetchone() == (0,)
    finally:
        target.close()


# --- a migration that would leave orphans is refused before commit ---------------------

ORPHANS = '''
def migrate(migrator, database, fake=False):
    # SQLite runs migrations with foreign keys off (a rebuild needs it); this
    # DELETE would leave the children pointing at nothing
    migrator.sql('DELETE FROM "parent"')

def rollback(migrator, database, fake=False):
    pass
'''


def test_a_migration_leaving_orphans_is_rolled_back(db, tmp_path):
    """SQLite: the runner's PRAGMA foreign_key_check before commit finds the
    orphans (foreign keys are off while a migration runs); PostgreSQL refuses
    the DELETE itself. Both: MigrationError, parent and children kept."""
    from store.migrate import App, StoreRouter
    folder = tmp_path / "migrations" / "shop"
    folder.mkdir(parents=True)
    (folder / "001_initial.py").write_text(INITIAL)
    (folder / "002_orphans.py").write_text(ORPHANS)
    router = StoreRouter(db, App("shop", [], folder))
    router.run("001_initial")
    db.execute_sql("INSERT INTO parent (id) VALUES (1)")
    db.execute_sql("INSERT INTO child (parent_id) VALUES (1)")
    with pytest.raises(store.MigrationError, match="(?i)foreign key"):
        router.run()
    assert db.execute_sql("SELECT count(*) FROM parent").fetchone() == (1,)
    assert db.execute_sql("SELECT count(*) FROM child").fetchone() == (1,)
    assert [s.state for s in router.status()] == ["applied", "pending"]


INITIAL = '''
import store

def migrate(migrator, database, fake=False):
    @migrator.create_model
    class Parent(store.Model):
        class Meta:
            table_name = "parent"

    @migrator.create_model
    class Child(store.Model):
        parent = store.ForeignKeyField(Parent)
        class Meta:
            table_name = "child"

def rollback(migrator, database, fake=False):
    migrator.remove_model("child")
    migrator.remove_model("parent")
'''


def test_a_migration_file_that_is_not_utf8_is_named(db, tmp_path):
    from store.migrate import App, StoreRouter
    folder = tmp_path / "migrations" / "shop"
    folder.mkdir(parents=True)
    (folder / "001_initial.py").write_bytes(b"# caf\xe9\ndef migrate(m, d, fake=False):\n    pass\n")
    with pytest.raises(store.MigrationError) as info:
        StoreRouter(db, App("shop", [], folder)).run()
    assert str(folder / "001_initial.py") in str(info.value) and "UTF-8" in str(info.value)
    assert "shop_migrate_history" not in db.get_tables() or \
        db.execute_sql("SELECT count(*) FROM shop_migrate_history").fetchone() == (0,)


def test_a_killed_dumps_scratch_folder_is_swept(db, tmp_path):
    """kill -9 during dump leaves .<name>.<pid>.<hex>.tmp beside the target;
    the next dump there removes it when that process is gone, keeps a live one."""
    import os
    import subprocess
    import sys
    app = load_app("pricing")
    runner.migrate(db, [app])
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".dump.{gone}.deadbeef.tmp"
    live = tmp_path / f".dump.{os.getpid()}.cafecafe.tmp"
    (stale / "pricing").mkdir(parents=True)
    live.mkdir()
    dump_database(db, [app], tmp_path / "dump")
    assert not stale.exists() and live.exists()
    assert (tmp_path / "dump" / "manifest.json").is_file()


def test_copy_from_a_missing_sqlite_source_creates_nothing(db, backend_url, tmp_path):
    from click.testing import CliRunner
    from store.cli import main
    missing = tmp_path / "nowhere.db"
    result = CliRunner().invoke(main, ["copy", f"sqlite:///{missing}", backend_url,
                                       "--app", "pricing", "--quiet"])
    assert result.exit_code == 2, result.output
    assert str(missing) in result.output and "does not exist" in result.output
    assert not missing.exists()


def test_migrate_to_an_unknown_name_creates_nothing(backend_url, tmp_path, monkeypatch):
    from click.testing import CliRunner
    from store.cli import main
    monkeypatch.chdir(tmp_path)
    (tmp_path / "setup.cfg").write_text("[store]\napps = pricing\n")
    url = backend_url if "postgresql" in backend_url else f"sqlite:///{tmp_path / 'x.db'}"
    result = CliRunner().invoke(main, ["-d", url, "migrate", "pricing", "--to", "bad"])
    assert result.exit_code == 2, result.output
    assert "no migration named 'bad'" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["setup.cfg"]


@pytest.mark.parametrize("content", [b'{"version": 1, "tables": {', b"\xff\xfe garbage", b"[]"])
def test_a_corrupt_state_json_is_named(tmp_path, content):
    from store.migrate import state as st
    folder = tmp_path / "migrations" / "shop"
    folder.mkdir(parents=True)
    (folder / "state.json").write_bytes(content)
    with pytest.raises(store.ConfigError) as info:
        st.load_state(folder)
    assert str(folder / "state.json") in str(info.value)
