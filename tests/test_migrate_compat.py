"""peewee-migrate's own operations keep their signatures on store's migrator.

store adds its own forms of ``rename_field``, ``add_index`` and
``drop_index`` (which ``create --auto`` writes); a hand-written migration
that calls them as peewee-migrate documents them -- ``rename_field(model,
old, new)``, ``add_index(model, *columns, unique=)``, ``drop_index(model,
*columns)`` -- does what peewee-migrate does, up and down, on both
backends."""
from __future__ import annotations

import pytest

from store.introspect import read_schema
from tests.test_migrate_ops import rows, run
from tests.test_migrate_ops import populated  # noqa: F401 (the fixture, used by name)


def indexes(db, table="parent"):
    return {ix.name: ix for ix in read_schema(db, exclude={"ops_migrate_history"})
            .table(table).indexes}


def test_rename_field_with_peewee_migrate_signature(populated, tmp_path):  # noqa: F811
    db = populated
    router = run(db, tmp_path, "migrator.rename_field('parent', 'name', 'title')",
                 "migrator.rename_field('parent', 'title', 'name')")
    before = rows(db)
    router.run()
    assert [r[0] for r in db.execute_sql("SELECT title FROM parent ORDER BY id")] == \
        ["p0", "p1", "p2", "p3"]
    router.rollback(1)
    assert rows(db) == before


@pytest.mark.parametrize("unique", [False, True])
def test_add_and_drop_index_by_columns(populated, tmp_path, unique):  # noqa: F811
    db = populated
    router = run(db, tmp_path,
                 f"migrator.add_index('parent', 'name', 'qty', unique={unique})",
                 "migrator.drop_index('parent', 'name', 'qty')")
    before = indexes(db)
    router.run()
    added = set(indexes(db)) - set(before)
    assert added == {"parent_name_qty"}
    assert indexes(db)["parent_name_qty"].unique is unique
    router.rollback(1)
    assert indexes(db) == before


def test_drop_index_of_one_column_by_its_name(populated, tmp_path):  # noqa: F811
    """One argument after the table: an index of that name if there is one
    (store's form), else the index peewee-migrate made on that column."""
    db = populated
    router = run(db, tmp_path, "migrator.add_index('parent', 'name')",
                 "migrator.drop_index('parent', 'name')")
    before = indexes(db)
    router.run()
    assert set(indexes(db)) - set(before) == {"parent_name"}
    router.rollback(1)
    assert indexes(db) == before


def test_store_forms_still_work(populated, tmp_path):  # noqa: F811
    db = populated
    router = run(db, tmp_path,
                 "migrator.add_index('parent', 'ix_parent_name', "
                 "'CREATE INDEX \"ix_parent_name\" ON \"parent\" (\"name\")')",
                 "migrator.drop_index('parent', 'ix_parent_name')")
    before = indexes(db)
    router.run()
    assert set(indexes(db)) - set(before) == {"ix_parent_name"}
    router.rollback(1)
    assert indexes(db) == before
