"""store's migration operations on a populated parent table with a child
table (ON DELETE CASCADE), a trigger, a column-level CHECK, a default, an
index and an autoincrement key: each operation runs up and down through the
router on both backends; the rows (child rows included) survive and nothing
of the table is lost (introspection before and after compared)."""
from __future__ import annotations

import textwrap

import pytest

from store.errors import MigrationError
from store.introspect import read_schema
from store.migrate import App, StoreRouter

DDL = {
    "sqlite": [
        """CREATE TABLE parent (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             name VARCHAR(40) NOT NULL CHECK (length(name) > 0),
             qty INTEGER NOT NULL DEFAULT 3,
             touched INTEGER NOT NULL DEFAULT 0,
             CONSTRAINT ck_parent_qty_positive CHECK (qty >= 0))""",
        "CREATE INDEX ix_parent_qty ON parent (qty DESC)",
        """CREATE TRIGGER tr_parent_touch AFTER UPDATE OF qty ON parent
           BEGIN UPDATE parent SET touched = touched + 1 WHERE id = NEW.id; END""",
        """CREATE TABLE child (
             id INTEGER PRIMARY KEY,
             parent_id INTEGER NOT NULL,
             note TEXT,
             CONSTRAINT fk_child_parent_id_parent FOREIGN KEY (parent_id)
               REFERENCES parent (id) ON DELETE CASCADE)""",
    ],
    "postgresql": [
        """CREATE TABLE parent (
             id SERIAL PRIMARY KEY,
             name VARCHAR(40) NOT NULL CHECK (length(name) > 0),
             qty INTEGER NOT NULL DEFAULT 3,
             touched INTEGER NOT NULL DEFAULT 0,
             CONSTRAINT ck_parent_qty_positive CHECK (qty >= 0))""",
        "CREATE INDEX ix_parent_qty ON parent (qty DESC)",
        """CREATE FUNCTION parent_touch() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN NEW.touched := OLD.touched + 1; RETURN NEW; END $$""",
        """CREATE TRIGGER tr_parent_touch BEFORE UPDATE OF qty ON parent
           FOR EACH ROW EXECUTE FUNCTION parent_touch()""",
        """CREATE TABLE child (
             id SERIAL PRIMARY KEY,
             parent_id INTEGER NOT NULL,
             note TEXT,
             CONSTRAINT fk_child_parent_id_parent FOREIGN KEY (parent_id)
               REFERENCES parent (id) ON DELETE CASCADE)""",
    ],
}


@pytest.fixture
def populated(db):
    for sql in DDL[db.features.name]:
        db.execute_sql(sql)
    for i in range(5):
        db.execute_sql("INSERT INTO parent (name, qty) VALUES (%s, %s)" .replace(
            "%s", "?" if db.features.name == "sqlite" else "%s"), (f"p{i}", i))
    db.execute_sql("DELETE FROM parent WHERE name = 'p4'")     # the counter stays at 5
    for pid in (1, 1, 2, 3):
        db.execute_sql("INSERT INTO child (parent_id, note) VALUES (%d, 'n')" % pid)
    return db


def run(db, tmp_path, up, down, name="002_op"):
    folder = tmp_path / "migrations" / "ops"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(f"""
        import peewee
        import store

        def migrate(migrator, database, fake=False):
            {up}

        def rollback(migrator, database, fake=False):
            {down}
    """))
    return StoreRouter(db, App("ops", [], folder))


def snapshot(db):
    return read_schema(db, exclude={"ops_migrate_history"})


def rows(db):
    return (db.execute_sql("SELECT id, name, qty FROM parent ORDER BY id").fetchall(),
            db.execute_sql("SELECT id, parent_id, note FROM child ORDER BY id").fetchall())


def next_id(db):
    cur = db.execute_sql("INSERT INTO parent (name) VALUES ('next')"
                         + (" RETURNING id" if db.features.name == "postgresql" else ""))
    return cur.fetchone()[0] if db.features.name == "postgresql" else cur.lastrowid


def assert_round_trip(db, router, changed):
    before_schema, before_rows = snapshot(db), rows(db)
    router.run()
    after = snapshot(db)
    assert rows(db)[1] == before_rows[1]                      # child rows kept
    changed(before_schema.table("parent"), after.table("parent"))
    # the rest of the table is untouched
    assert after.table("child") == before_schema.table("child")
    router.rollback(1)
    assert snapshot(db) == before_schema
    assert rows(db) == before_rows
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1 \
        if db.features.name == "sqlite" else True
    assert next_id(db) == 6                                    # AUTOINCREMENT kept


def test_add_and_drop_check(populated, tmp_path):
    db = populated
    router = run(db, tmp_path, "migrator.add_check('parent', 'ck_parent_qty_small', 'qty < 100')",
                 "migrator.drop_check('parent', 'ck_parent_qty_small', 'qty < 100')")

    def changed(before, after):
        assert {c.name for c in after.checks} - {c.name for c in before.checks} == \
            {"ck_parent_qty_small"}
        assert after.triggers == before.triggers and after.indexes == before.indexes
        assert [c for c in after.columns] == [c for c in before.columns]
    assert_round_trip(db, router, changed)


def test_add_check_that_rows_break_fails_and_changes_nothing(populated, tmp_path):
    db = populated
    before = snapshot(db), rows(db)
    router = run(db, tmp_path, "migrator.add_check('parent', 'ck_parent_qty_tiny', 'qty < 2')",
                 "pass")
    with pytest.raises(MigrationError, match="ck_parent_qty_tiny"):
        router.run()
    assert (snapshot(db), rows(db)) == before


def test_add_json_field_with_default_on_populated_table(populated, tmp_path):
    db = populated
    field = "store.JSONField(default=list, server_default=[])"
    router = run(db, tmp_path, f"migrator.add_field('parent', 'tags', {field})",
                 f"migrator.drop_field('parent', 'tags', {field})")

    def changed(before, after):
        assert after.column("tags") is not None and not after.column("tags").nullable
        checks = {c.name for c in after.checks} - {c.name for c in before.checks}
        assert checks == ({"ck_parent_tags_json"} if db.features.name == "sqlite" else set())
        values = db.execute_sql("SELECT tags FROM parent").fetchall()
        assert {str(v[0]).replace(" ", "") for v in values} == {"[]"}
    assert_round_trip(db, router, changed)


def test_not_null_column_without_default_refused_when_rows_exist(populated, tmp_path):
    db = populated
    router = run(db, tmp_path, "migrator.add_field('parent', 'code', store.CharField(max_length=5))",
                 "pass")
    with pytest.raises(MigrationError, match="parent.code: a NOT NULL column added to a table "
                                             "with rows needs a default"):
        router.run()
    assert snapshot(db).table("parent").column("code") is None


def test_alter_field_type_and_null(populated, tmp_path):
    db = populated
    # (PostgreSQL cannot change the type of a column a trigger names in
    # UPDATE OF: "touched" is only used in the trigger's body)
    old = "store.IntegerField(server_default=0)"
    new = "store.BigIntegerField(null=True, server_default=0)"
    router = run(db, tmp_path, f"migrator.alter_field('parent', 'touched', {new}, old={old})",
                 f"migrator.alter_field('parent', 'touched', {old}, old={new})")

    def changed(before, after):
        assert after.column("touched").nullable and not before.column("touched").nullable
        assert after.column("touched").type == ("integer" if db.features.name == "sqlite"
                                                else "bigint")
        assert after.triggers == before.triggers
        assert after.index("ix_parent_qty") == before.index("ix_parent_qty")
    assert_round_trip(db, router, changed)


def test_drop_constrained_column(populated, tmp_path):
    db = populated
    # "touched" is used by the trigger: drop a column the trigger does not use
    db.execute_sql("ALTER TABLE parent ADD COLUMN extra INTEGER")
    field = "store.IntegerField(null=True)"
    router = run(db, tmp_path, f"migrator.drop_field('parent', 'extra', {field})",
                 f"migrator.add_field('parent', 'extra', {field})")

    def changed(before, after):
        assert after.column("extra") is None
        assert after.checks == before.checks and after.triggers == before.triggers
    assert_round_trip(db, router, changed)


def test_rename_field_keeps_rows_and_references(populated, tmp_path):
    db = populated
    field = "store.CharField(max_length=40)"
    router = run(db, tmp_path, f"migrator.rename_field('parent', 'name', 'title', {field})",
                 f"migrator.rename_field('parent', 'title', 'name', {field})")
    before = snapshot(db)
    router.run()
    after = snapshot(db).table("parent")
    assert after.column("title") is not None and after.column("name") is None
    assert [r[1] for r in db.execute_sql("SELECT id, title FROM parent ORDER BY id")] == \
        ["p0", "p1", "p2", "p3"]
    router.rollback(1)
    # SQLite's RENAME COLUMN re-spells the references it rewrites as quoted
    # identifiers (length(name) -> length("name")): the same rule
    assert unquoted(snapshot(db)) == unquoted(before)


def unquoted(schema):
    return repr(schema.to_dict()).replace('\\"', "").replace('"', "")


def test_child_rows_survive_a_parent_rebuild_with_cascade(populated, tmp_path):
    """The upstream failure: peewee-migrate rebuilds the parent with foreign
    keys on inside its transaction, and ON DELETE CASCADE empties the child."""
    db = populated
    router = run(db, tmp_path, "migrator.add_check('parent', 'ck_parent_named', 'name <> \\'\\'')",
                 "migrator.drop_check('parent', 'ck_parent_named')")
    router.run()
    assert db.execute_sql("SELECT count(*) FROM child").fetchone()[0] == 4
    db.execute_sql("DELETE FROM parent WHERE id = 1")          # cascade still works
    assert db.execute_sql("SELECT count(*) FROM child").fetchone()[0] == 2


def test_dropped_not_null_column_comes_back_with_its_restore_rule(populated, tmp_path):
    """peewee-migrate 2.3: the down of a NOT NULL drop fails ("is not null
    but has no default"); store's generated down carries a fill value."""
    db = populated
    field = "store.CharField(max_length=40)"
    router = run(db, tmp_path, f"migrator.drop_field('parent', 'name', {field})",
                 f"migrator.add_field('parent', 'name', {field}, fill='restored')")
    before = snapshot(db).table("parent")
    router.run()
    assert snapshot(db).table("parent").column("name") is None
    assert db.execute_sql("SELECT count(*) FROM child").fetchone()[0] == 4
    router.rollback(1)
    col = snapshot(db).table("parent").column("name")
    assert col is not None and not col.nullable and col.type == before.column("name").type
    assert {r[0] for r in db.execute_sql("SELECT name FROM parent")} == {"restored"}


def test_drop_indexed_and_foreign_key_column(populated, tmp_path):
    """SQLite rebuilds (the index using the column goes, as PostgreSQL's
    DROP COLUMN drops it); the FK column of the child goes with its FK."""
    db = populated
    db.execute_sql("CREATE INDEX ix_child_parent_id ON child (parent_id)")
    field = "store.IntegerField()"
    router = run(db, tmp_path, f"migrator.drop_field('child', 'parent_id', {field})",
                 f"migrator.add_field('child', 'parent_id', {field}, fill=1)")
    router.run()
    child = snapshot(db).table("child")
    assert child.column("parent_id") is None and child.index("ix_child_parent_id") is None
    assert db.execute_sql("SELECT count(*) FROM child").fetchone()[0] == 4
    router.rollback(1)
    assert {r[0] for r in db.execute_sql("SELECT parent_id FROM child")} == {1}


def test_type_change_with_a_cast_both_ways(populated, tmp_path):
    """text -> integer and back with rows present (PostgreSQL needs USING)."""
    db = populated
    db.execute_sql("ALTER TABLE parent ADD COLUMN code VARCHAR(10)")
    db.execute_sql("UPDATE parent SET code = CAST(qty * 10 AS VARCHAR(10))")
    old, new = "store.CharField(max_length=10, null=True)", "store.IntegerField(null=True)"
    router = run(db, tmp_path, f"migrator.alter_field('parent', 'code', {new}, old={old})",
                 f"migrator.alter_field('parent', 'code', {old}, old={new})")
    router.run()
    got = db.execute_sql("SELECT code FROM parent ORDER BY id").fetchall()
    assert [r[0] for r in got] == [0, 10, 20, 30]
    assert db.execute_sql("SELECT sum(code) FROM parent").fetchone()[0] == 60
    router.rollback(1)
    got = db.execute_sql("SELECT code FROM parent ORDER BY id").fetchall()
    assert [r[0] for r in got] == ["0", "10", "20", "30"]
