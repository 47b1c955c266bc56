"""Append-only tables (``Meta.append_only``): the database refuses UPDATE and
DELETE through the ORM and raw SQL, the same error on SQLite and PostgreSQL;
inserts work; the guard is visible to introspection and leaves nothing
behind when the table is dropped."""
from __future__ import annotations

import peewee
import pytest

import store
from store import appendonly
from store.errors import AppendOnlyViolation
from store.introspect import read_schema


class Account(store.Model):
    name = store.CharField(max_length=40)


class Ledger(store.Model):
    account = store.ForeignKeyField(Account, backref="entries", on_delete="CASCADE")
    memo = store.CharField(max_length=40, unique=True)
    amount = store.IntegerField(default=0)

    class Meta:
        append_only = True


class Referrer(store.Model):
    entry = store.ForeignKeyField(Ledger, backref="+")


class Note(store.Model):                      # a plain table next to it
    text = store.TextField()


class AuditBase(store.Model):
    what = store.TextField()

    class Meta:
        abstract = True
        append_only = True


class LoginAudit(AuditBase):                  # inherits Meta.append_only
    pass


class LongNamedLog(store.Model):
    text = store.TextField()

    class Meta:
        table_name = "a_rather_long_table_name_for_an_append_only_log_" + "x" * 12
        append_only = True


def expect_refused(op, model, operation, backend=None):
    with pytest.raises(AppendOnlyViolation) as info:
        op()
    err = info.value
    table = model._meta.table_name
    assert (err.table, err.operation, err.kind) == (table, operation, "append_only")
    names = appendonly.trigger_names(model, backend or "sqlite")
    assert err.constraint == names[operation]
    assert isinstance(err, store.ConstraintViolation) and isinstance(err, peewee.IntegrityError)
    assert str(err) == f"append-only table {table}: {operation} refused"
    return err


@pytest.fixture
def ledger(db, tables):
    tables(Account, Ledger, Note)
    account = Account.create(name="cash")
    first = Ledger.create(account=account, memo="opening", amount=100)
    return account, first


def amounts():
    return sorted((e.memo, e.amount) for e in Ledger.select())


def test_inserts_are_accepted(db, ledger):
    account, _ = ledger
    Ledger.insert_many([{"account": account, "memo": "m%d" % i, "amount": i}
                        for i in range(3)]).execute()
    db.execute_sql(f'INSERT INTO "ledger" ("account_id", "memo", "amount") '
                   f'VALUES ({db.param}, {db.param}, {db.param})', (account.id, "raw", 7))
    assert amounts() == [("m0", 0), ("m1", 1), ("m2", 2), ("opening", 100), ("raw", 7)]


def test_orm_update_refused(db, ledger):
    _, entry = ledger
    entry.amount = 1
    expect_refused(entry.save, Ledger, "UPDATE")
    expect_refused(lambda: Ledger.update(amount=Ledger.amount + 1).execute(), Ledger, "UPDATE")
    expect_refused(lambda: Ledger.update(amount=5).where(Ledger.memo == "opening").execute(),
                   Ledger, "UPDATE")
    assert amounts() == [("opening", 100)]


def test_orm_delete_refused(db, ledger):
    _, entry = ledger
    expect_refused(entry.delete_instance, Ledger, "DELETE")
    expect_refused(lambda: Ledger.delete().execute(), Ledger, "DELETE")
    assert amounts() == [("opening", 100)]


def test_raw_sql_update_and_delete_refused(db, ledger):
    p = db.param
    expect_refused(lambda: db.execute_sql(f'UPDATE "ledger" SET "amount" = {p}', (3,)),
                   Ledger, "UPDATE")
    expect_refused(lambda: db.execute_sql('DELETE FROM "ledger"'), Ledger, "DELETE")
    assert amounts() == [("opening", 100)]


def test_upsert_that_would_update_refused(db, ledger):
    account, _ = ledger
    query = (Ledger.insert(account=account, memo="opening", amount=1)
             .on_conflict(conflict_target=[Ledger.memo], update={Ledger.amount: 1}))
    expect_refused(query.execute, Ledger, "UPDATE")
    assert amounts() == [("opening", 100)]


def test_cascade_from_parent_refused(db, ledger):
    account, _ = ledger
    expect_refused(account.delete_instance, Ledger, "DELETE")
    assert Account.select().count() == 1 and amounts() == [("opening", 100)]


def test_refusal_rolls_back_the_transaction(db, ledger):
    account, _ = ledger
    with pytest.raises(AppendOnlyViolation):
        with db.atomic():
            Ledger.create(account=account, memo="in-tx", amount=2)
            Note.create(text="in-tx")
            Ledger.update(amount=0).execute()
    assert amounts() == [("opening", 100)] and Note.select().count() == 0


def test_other_tables_unaffected(db, ledger):
    note = Note.create(text="a")
    note.text = "b"
    note.save()
    assert Note.get().text == "b"
    note.delete_instance()
    assert Note.select().count() == 0
    assert appendonly.create_sql(Note, db.features.name) == []
    assert appendonly.drop_sql(Note, db.features.name) == []


def test_truncate_refused(db, ledger):
    """peewee runs truncate_table as DELETE FROM on SQLite; PostgreSQL's
    TRUNCATE has a statement trigger of its own."""
    backend = db.features.name
    operation = "TRUNCATE" if backend == "postgresql" else "DELETE"
    expect_refused(Ledger.truncate_table, Ledger, operation, backend)
    assert amounts() == [("opening", 100)]


def test_read_schema_shows_the_triggers(db, ledger):
    backend = db.features.name
    table = read_schema(db, tables=["ledger"]).table("ledger")
    names = appendonly.trigger_names(Ledger, backend)
    assert {t.name for t in table.triggers} == set(names.values())
    for operation, name in names.items():
        sql = table.trigger(name).sql
        assert f"BEFORE {operation} ON" in sql
    expected = {"sqlite": {"tr_ledger_append_only_update", "tr_ledger_append_only_delete"},
                "postgresql": {"tr_ledger_append_only_update", "tr_ledger_append_only_delete",
                               "tr_ledger_append_only_truncate"}}[backend]
    assert set(names.values()) == expected
    assert read_schema(db, tables=["note"]).table("note").triggers == ()


def _function_count(db, name):
    return db.execute_sql("SELECT count(*) FROM pg_proc p JOIN pg_namespace n "
                          "ON n.oid = p.pronamespace WHERE n.nspname = current_schema() "
                          "AND p.proname = %s", (name,)).fetchone()[0]


def _trigger_count(db):
    if db.features.name == "sqlite":
        return db.execute_sql("SELECT count(*) FROM sqlite_master "
                              "WHERE type = 'trigger'").fetchone()[0]
    return db.execute_sql("SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                          "JOIN pg_namespace n ON n.oid = c.relnamespace "
                          "WHERE n.nspname = current_schema() AND NOT t.tgisinternal"
                          ).fetchone()[0]


def test_drop_table_leaves_nothing_behind(db, ledger):
    backend = db.features.name
    before = _trigger_count(db)
    assert before == len(appendonly.trigger_names(Ledger, backend))
    if backend == "postgresql":
        assert _function_count(db, "store_append_only_ledger") == 1
    Ledger.drop_table()
    assert "ledger" not in read_schema(db).tables
    assert _trigger_count(db) == 0
    if backend == "postgresql":
        assert _function_count(db, "store_append_only_ledger") == 0
    Ledger.drop_table(safe=True)                 # again: nothing to drop, no error
    with pytest.raises(peewee.DatabaseError):
        Ledger.drop_table(safe=False)


def test_failed_drop_keeps_the_guard(db, tables):
    """A DROP TABLE the database refuses (a row of another table references
    the table) rolls back the removal of the guard too."""
    tables(Account, Ledger, Referrer)
    account = Account.create(name="cash")
    entry = Ledger.create(account=account, memo="opening")
    Referrer.create(entry=entry)
    with pytest.raises(peewee.DatabaseError):
        Ledger.drop_table()
    assert _trigger_count(db) == len(appendonly.trigger_names(Ledger, db.features.name))
    if db.features.name == "postgresql":
        assert _function_count(db, "store_append_only_ledger") == 1
    expect_refused(entry.delete_instance, Ledger, "DELETE")


def test_create_table_again_keeps_one_guard(db, ledger):
    backend = db.features.name
    Ledger.create_table(safe=True)
    db.create_tables([Ledger])
    table = read_schema(db, tables=["ledger"]).table("ledger")
    assert sorted(t.name for t in table.triggers) == sorted(
        appendonly.trigger_names(Ledger, backend).values())
    _, entry = ledger
    expect_refused(entry.delete_instance, Ledger, "DELETE")


def test_create_sql_and_drop_sql_are_what_a_migration_runs(db, ledger):
    backend = db.features.name
    _, entry = ledger
    for sql in appendonly.drop_sql(Ledger, backend):
        db.execute_sql(sql)
    assert read_schema(db, tables=["ledger"]).table("ledger").triggers == ()
    if backend == "postgresql":
        assert _function_count(db, "store_append_only_ledger") == 0
    # no guard in the database: an update goes through (raw SQL; the model
    # refuses early by its Meta, whatever the database has)
    db.execute_sql("UPDATE ledger SET amount = 1")
    assert amounts() == [("opening", 1)]
    with db.atomic():
        for sql in appendonly.create_sql(Ledger, backend):
            db.execute_sql(sql)
    expect_refused(entry.delete_instance, Ledger, "DELETE")


def test_append_only_is_inherited(db, tables):
    tables(LoginAudit)
    row = LoginAudit.create(what="login")
    row.what = "logout"
    expect_refused(row.save, LoginAudit, "UPDATE")
    assert LoginAudit.get().what == "login"


def test_long_table_name(db, tables):
    backend = db.features.name
    tables(LongNamedLog)
    names = appendonly.trigger_names(LongNamedLog, backend)
    assert all(len(n) <= 63 for n in names.values())
    assert len(appendonly.function_name(LongNamedLog)) <= 63
    row = LongNamedLog.create(text="a")
    err = expect_refused(row.delete_instance, LongNamedLog, "DELETE")
    assert err.table == LongNamedLog._meta.table_name
    LongNamedLog.drop_table()
    assert _trigger_count(db) == 0
    if backend == "postgresql":
        assert _function_count(db, appendonly.function_name(LongNamedLog)) == 0


def test_message_round_trip_and_unknown_backend():
    table = 'we"ird\'s table'
    err = appendonly.violation_from_message(appendonly.message(table, "DELETE"))
    assert (err.table, err.operation) == (table, "DELETE")
    assert appendonly.violation_from_message("FOREIGN KEY constraint failed") is None
    with pytest.raises(ValueError, match="unsupported backend 'mysql'"):
        appendonly.create_sql(Ledger, "mysql")
    with pytest.raises(ValueError, match="unsupported backend 'mysql'"):
        appendonly.drop_sql(Ledger, "mysql")


def test_refuse_is_the_orm_level_check():
    with pytest.raises(AppendOnlyViolation) as info:
        appendonly.refuse(Ledger(memo="x"), "UPDATE")
    assert (info.value.table, info.value.constraint) == ("ledger", "tr_ledger_append_only_update")
    appendonly.refuse(Note(text="x"), "DELETE")        # not append-only: no error
