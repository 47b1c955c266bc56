"""Integrity errors are translated to the same typed error, table and
constraint name on SQLite and PostgreSQL."""
from __future__ import annotations

import sqlite3

import peewee
import psycopg
import pytest

import store


class Owner(store.Model):
    name = store.CharField(max_length=40)


class Thing(store.Model):
    code = store.CharField(max_length=20, unique=True)
    a = store.IntegerField()
    b = store.IntegerField()
    qty = store.IntegerField()
    owner = store.ForeignKeyField(Owner, on_delete="RESTRICT", backref="things")
    keeper = store.ForeignKeyField(Owner, null=True, backref="kept")

    class Meta:
        indexes = ((("a", "b"), True),)
        checks = [store.Check("qty_positive", "qty > 0")]


# (error type, table, constraint, column): written once, for both backends
CHECK = (store.CheckViolation, "thing", "ck_thing_qty_positive", None)
UNIQUE = (store.UniqueViolation, "thing", "uq_thing_code", None)
UNIQUE_AB = (store.UniqueViolation, "thing", "uq_thing_a_b", None)
PKEY = (store.UniqueViolation, "thing", "thing_pkey", None)
NOT_NULL = (store.NotNullViolation, "thing", None, "qty")
FK_OWNER = (store.ForeignKeyViolation, "thing", "fk_thing_owner_id_owner", None)
FK_KEEPER = (store.ForeignKeyViolation, "thing", "fk_thing_keeper_id_owner", None)
MESSAGES = {
    CHECK: "CHECK constraint ck_thing_qty_positive violated on table thing",
    UNIQUE: "UNIQUE constraint uq_thing_code violated on table thing",
    NOT_NULL: "NOT NULL violated on thing.qty",
    FK_OWNER: "FOREIGN KEY constraint fk_thing_owner_id_owner violated on table thing",
}
DRIVER_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)


@pytest.fixture
def owner(db, tables):
    tables(Owner, Thing)
    return Owner.create(name="ann")


def good(owner, /, **over):
    row = {"code": "c1", "a": 1, "b": 1, "qty": 1, "owner": owner}
    row.update(over)
    return row


def assert_violation(exc, expected):
    cls, table, constraint, column = expected
    assert type(exc) is cls
    assert isinstance(exc, store.ConstraintViolation)
    assert isinstance(exc, store.StoreError)
    assert isinstance(exc, peewee.IntegrityError)
    assert (exc.table, exc.constraint) == (table, constraint)
    if column is not None:
        assert exc.column == column
    if expected in MESSAGES:
        assert str(exc) == MESSAGES[expected]
    assert isinstance(exc.__cause__, DRIVER_ERRORS)
    assert not isinstance(exc.__cause__, peewee.PeeweeException)


def bad_check(owner):
    Thing.create(**good(owner, qty=0))


def bad_unique(owner):
    Thing.create(**good(owner))
    Thing.create(**good(owner, a=2))


def bad_unique_ab(owner):
    Thing.create(**good(owner, a=7, b=8))
    Thing.create(**good(owner, code="c2", a=7, b=8))


def bad_pkey(owner):
    first = Thing.create(**good(owner))
    Thing.insert(id=first.id, **good(owner, code="c2", a=2)).execute()


def bad_not_null(owner):
    row = good(owner)
    del row["qty"]
    Thing.create(**row)


def bad_not_null_update(owner):
    Thing.create(**good(owner))
    Thing.update(qty=None).execute()


def bad_fk_insert(owner):
    Thing.create(**good(owner, owner=owner.id + 1000))


def bad_fk_update(owner):
    Thing.create(**good(owner))
    Thing.update(owner=owner.id + 1000).execute()


def bad_fk_default_insert(owner):
    Thing.create(**good(owner, keeper=owner.id + 1000))


def bad_delete_restrict(owner):
    Thing.create(**good(owner))
    Owner.delete().where(Owner.id == owner.id).execute()


def bad_delete_default(owner):
    other = Owner.create(name="bob")
    Thing.create(**good(owner, keeper=other))
    Owner.delete().where(Owner.id == other.id).execute()


def bad_delete_instance(owner):
    Thing.create(**good(owner))
    owner.delete_instance()


CASES = [
    (bad_check, CHECK),
    (bad_unique, UNIQUE),
    (bad_unique_ab, UNIQUE_AB),
    (bad_pkey, PKEY),
    (bad_not_null, NOT_NULL),
    (bad_not_null_update, NOT_NULL),
    (bad_fk_insert, FK_OWNER),
    (bad_fk_update, FK_OWNER),
    (bad_fk_default_insert, FK_KEEPER),
    (bad_delete_restrict, FK_OWNER),
    (bad_delete_default, FK_KEEPER),
    (bad_delete_instance, FK_OWNER),
]


@pytest.mark.parametrize("action, expected", CASES, ids=[c[0].__name__ for c in CASES])
def test_translated(db, owner, action, expected):
    with pytest.raises(store.ConstraintViolation) as info:
        action(owner)
    assert_violation(info.value, expected)
    assert db.execute_sql("SELECT 1").fetchone()[0] == 1      # still usable


@pytest.mark.parametrize("action, expected", CASES, ids=[c[0].__name__ for c in CASES])
def test_translated_inside_atomic_rolls_back(db, owner, action, expected):
    before = (Owner.select().count(), Thing.select().count())
    with pytest.raises(store.ConstraintViolation) as info:
        with db.atomic():
            Owner.create(name="in-txn")
            action(owner)
    assert_violation(info.value, expected)
    assert not db.in_transaction()
    assert (Owner.select().count(), Thing.select().count()) == before
    assert not Owner.select().where(Owner.name == "in-txn").exists()
    Thing.create(**good(owner, code="after", a=50))             # usable afterwards
    assert Thing.select().where(Thing.code == "after").count() == 1


def test_caught_inside_nested_atomic(db, owner):
    with db.atomic():
        Thing.create(**good(owner))
        with pytest.raises(store.UniqueViolation):
            with db.atomic():
                Thing.create(**good(owner, a=2))
        with pytest.raises(store.ForeignKeyViolation) as info:
            with db.atomic():
                Thing.create(**good(owner, code="c3", a=3, owner=owner.id + 99))
        assert_violation(info.value, FK_OWNER)
        Thing.create(**good(owner, code="c4", a=4))
    assert sorted(t.code for t in Thing.select()) == ["c1", "c4"]


def test_raw_sql_check_translated(db, owner):
    p = db.param
    with pytest.raises(store.CheckViolation) as info:
        db.execute_sql(
            f'INSERT INTO "thing" ("code", "a", "b", "qty", "owner_id") '
            f"VALUES ({p}, {p}, {p}, {p}, {p})", ("raw", 1, 1, -5, owner.id))
    assert_violation(info.value, CHECK)
    assert Thing.select().count() == 0


def test_raw_sql_fk_translated(db, owner):
    p = db.param
    with pytest.raises(store.ForeignKeyViolation) as info:
        db.execute_sql(
            f'INSERT INTO "thing" ("code", "a", "b", "qty", "owner_id") '
            f"VALUES ({p}, {p}, {p}, {p}, {p})", ("raw", 1, 1, 5, owner.id + 7))
    assert_violation(info.value, FK_OWNER)
    assert Thing.select().count() == 0


@pytest.mark.parametrize("bad_row, expected", [
    ({"qty": 0}, CHECK),
    ({"code": "r0"}, UNIQUE),
    ({"owner": 10 ** 6}, FK_OWNER),
], ids=["check", "unique", "fk"])
def test_insert_many_is_all_or_nothing(db, owner, bad_row, expected):
    rows = [good(owner, code=f"r{i}", a=i) for i in range(3)]
    rows[1].update(bad_row)
    with pytest.raises(store.ConstraintViolation) as info:
        Thing.insert_many(rows).execute()
    assert_violation(info.value, expected)
    assert Thing.select().count() == 0
    Thing.insert_many([good(owner, code=f"ok{i}", a=i) for i in range(3)]).execute()
    assert Thing.select().count() == 3


def test_cascade_keeps_working(db, owner):
    """A delete that breaks nothing is not an error."""
    other = Owner.create(name="free")
    Thing.create(**good(owner))
    Owner.delete().where(Owner.id == other.id).execute()
    assert Owner.select().count() == 1


def test_catch_as_peewee_integrity_error(db, owner):
    Thing.create(**good(owner))
    with pytest.raises(peewee.IntegrityError):
        Thing.create(**good(owner, a=9))


class Tag(store.Model):
    name = store.CharField(max_length=20)


Tag.add_index(peewee.SQL('CREATE UNIQUE INDEX "uq_tag_lower_name" ON "tag" (lower("name"))'))


def test_unique_index_on_expression(db, tables):
    tables(Tag)
    Tag.create(name="Red")
    with pytest.raises(store.UniqueViolation) as info:
        Tag.create(name="RED")
    assert_violation(info.value, (store.UniqueViolation, "tag", "uq_tag_lower_name", None))
    assert Tag.select().count() == 1


def test_unique_index_created_over_duplicates_is_named(db, tables):
    """SQLite reported 'UNIQUE constraint None': the index does not exist
    while it is being built; its name comes from the statement."""
    class Dup(store.Model):
        code = store.CharField(max_length=5)

        class Meta:
            table_name = "dup"

    tables(Dup)
    Dup.insert_many([{"code": "a"}, {"code": "a"}]).execute()
    with pytest.raises(store.UniqueViolation) as info:
        db.execute_sql('CREATE UNIQUE INDEX "uq_dup_code" ON "dup" ("code")')
    assert (info.value.table, info.value.constraint) == ("dup", "uq_dup_code")
