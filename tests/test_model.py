"""store.Model: naming convention read back from the live schema, named
CHECKs, abstract bases, table names, timestamps, write validation, repr and
re-binding -- every database test on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import enum
import re
import time

import peewee
import pytest

import store

UTC = dt.timezone.utc


# --- reading names back from the live database ---------------------------------

def live_names(db, tables=None):
    """``{"check": set, "fk": set, "index": set}`` of the current schema's
    constraint and index names (primary keys left out), optionally only for
    ``tables``."""
    out = {"check": set(), "fk": set(), "index": set()}
    if db.features.name == "postgresql":
        rows = db.execute_sql(
            "SELECT con.conname, con.contype, rel.relname FROM pg_constraint con "
            "JOIN pg_class rel ON rel.oid = con.conrelid "
            "JOIN pg_namespace ns ON ns.oid = rel.relnamespace "
            "WHERE ns.nspname = current_schema() AND con.contype IN ('c', 'f')"
        ).fetchall()
        for name, kind, table in rows:
            if tables is None or table in tables:
                out["check" if kind == "c" else "fk"].add(name)
        rows = db.execute_sql(
            "SELECT indexname, tablename FROM pg_indexes "
            "WHERE schemaname = current_schema()").fetchall()
        for name, table in rows:
            if (tables is None or table in tables) and not name.endswith("_pkey"):
                out["index"].add(name)
        return out
    rows = db.execute_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%'").fetchall()
    for table, ddl in rows:
        if tables is not None and table not in tables:
            continue
        out["check"] |= set(re.findall(r'CONSTRAINT\s+"([^"]+)"\s+CHECK', ddl))
        out["fk"] |= set(re.findall(r'CONSTRAINT\s+"([^"]+)"\s+FOREIGN KEY', ddl))
        for row in db.execute_sql('PRAGMA index_list("%s")' % table).fetchall():
            name, origin = row[1], row[3]
            if origin != "pk":
                out["index"].add(name)
    return out


def other_backend_url(db, request):
    """A URL of the backend ``db`` is not on."""
    if db.features.name == "sqlite":
        return request.getfixturevalue("pg_url")
    return request.getfixturevalue("sqlite_url")


# --- 1. naming convention -----------------------------------------------------------

class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Maker(store.Model):
    name = store.CharField(max_length=40, unique=True)


class Gadget(store.Model):
    sku = store.CharField(max_length=12, unique=True)
    color = store.EnumField(Color)
    price = store.IntegerField(index=True)
    data = store.JSONField(null=True)
    maker = store.ForeignKeyField(Maker, backref="gadgets")
    line = store.CharField(max_length=20)
    batch = store.IntegerField(default=0)

    class Meta:
        checks = [store.Check("price_positive", "price > 0"),
                  store.Check("ck_gadget_batch_small", "batch < 1000")]
        indexes = ((("line", "batch"), True), (("price", "batch"), False))


EXPECTED_CHECKS = {
    "ck_maker_name_max_length",
    "ck_gadget_sku_max_length", "ck_gadget_color_enum",
    "ck_gadget_line_max_length", "ck_gadget_price_positive",
    "ck_gadget_batch_small",
}
EXPECTED_INDEXES = {
    "uq_maker_name",
    "uq_gadget_sku", "ix_gadget_price", "ix_gadget_maker_id",
    "uq_gadget_line_batch", "ix_gadget_price_batch",
}
EXPECTED_FKS = {"fk_gadget_maker_id_maker"}


def test_names_in_live_schema(db, tables):
    tables(Maker, Gadget)
    names = live_names(db)
    json_check = {"ck_gadget_data_json"} if db.features.name == "sqlite" else set()
    assert names["check"] == EXPECTED_CHECKS | json_check
    assert names["index"] == EXPECTED_INDEXES
    assert names["fk"] == EXPECTED_FKS


def test_names_identical_across_backends_but_json_check(db, tables, request):
    tables(Maker, Gadget)
    here = live_names(db)
    other = store.connect(other_backend_url(db, request))
    try:
        other.bind_models([Maker, Gadget])
        other.create_tables([Maker, Gadget])
        there = live_names(other)
    finally:
        other.close()
    sqlite, pg = (here, there) if db.features.name == "sqlite" else (there, here)
    assert sqlite["check"] - pg["check"] == {"ck_gadget_data_json"}
    assert pg["check"] - sqlite["check"] == set()
    assert sqlite["index"] == pg["index"]
    assert sqlite["fk"] == pg["fk"]


def test_named_check_enforced_with_its_name(db, tables):
    tables(Maker, Gadget)
    maker = Maker.create(name="acme")
    with pytest.raises(store.CheckViolation) as info:
        Gadget.create(sku="a1", color=Color.RED, price=0, maker=maker, line="x")
    assert info.value.constraint == "ck_gadget_price_positive"
    assert info.value.table == "gadget"
    assert Gadget.select().count() == 0


def test_fk_constraint_name_enforced(db, tables):
    tables(Maker, Gadget)
    with pytest.raises(store.ForeignKeyViolation) as info:
        Gadget.create(sku="a1", color="red", price=1, maker=999, line="x")
    assert info.value.constraint == "fk_gadget_maker_id_maker"


def test_long_names_truncated_to_postgres_limit(db, tables):
    class AVeryLongModelNameThatKeepsGoingAndGoingForever(store.Model):
        an_equally_long_column_name_for_the_index = store.IntegerField(index=True)

    model = AVeryLongModelNameThatKeepsGoingAndGoingForever
    tables(model)
    names = live_names(db, tables={model._meta.table_name})
    assert len(names["index"]) == 1
    (name,) = names["index"]
    assert name.startswith("ix_a_very_long") and len(name) <= 63


# --- 2. unnamed / badly named CHECKs -------------------------------------------------

def test_unnamed_peewee_check_refused():
    with pytest.raises(store.ConfigError) as info:
        class Bad(store.Model):
            x = store.IntegerField()

            class Meta:
                constraints = [peewee.Check("x > 0")]
    message = str(info.value)
    assert "store.Check" in message and "Meta.checks" in message
    assert "'x > 0'" in message


def test_unnamed_check_message_keeps_inner_parentheses():
    with pytest.raises(store.ConfigError) as info:
        class Bad(store.Model):
            a = store.IntegerField()
            b = store.IntegerField()

            class Meta:
                constraints = [peewee.Check("(a > 0) AND (b > 0)")]
    assert "'(a > 0) AND (b > 0)'" in str(info.value)


def test_named_peewee_check_allowed():
    class Fine(store.Model):
        x = store.IntegerField()

        class Meta:
            constraints = [peewee.Check("x > 0", name="ck_fine_x")]

    assert Fine._meta.table_name == "fine"


@pytest.mark.parametrize("name", ["", "has space", "1starts_with_digit", "semi;colon",
                                  None])
def test_bad_check_name_refused(name):
    with pytest.raises(store.ConfigError):
        store.Check(name, "x > 0")


def test_meta_checks_must_be_store_checks():
    with pytest.raises(store.ConfigError) as info:
        class Bad(store.Model):
            x = store.IntegerField()

            class Meta:
                checks = ["x > 0"]
    assert "store.Check" in str(info.value)


# --- 3. abstract bases -----------------------------------------------------------------

class Priced(store.Model):
    price = store.IntegerField()

    class Meta:
        abstract = True
        checks = [store.Check("price_positive", "price > 0")]


class Apple(Priced):
    variety = store.CharField(max_length=10)


class Pear(Priced):
    pass


class Pip(Apple):        # concrete subclass of a concrete subclass
    pass


def test_abstract_not_inherited():
    assert Priced._meta.abstract is True
    assert Apple._meta.abstract is False
    assert Pear._meta.abstract is False
    assert store.Model._meta.abstract is True
    assert store.TimestampedModel._meta.abstract is True


def test_abstract_create_table_refused(db):
    db.bind_models([Priced])
    with pytest.raises(store.ConfigError):
        Priced.create_table()
    with pytest.raises(store.ConfigError):
        db.create_tables([Priced])
    assert "priced" not in db.get_tables()


def test_abstract_checks_named_per_subclass(db, tables):
    tables(Apple, Pear, Pip)
    names = live_names(db)
    assert {"ck_apple_price_positive", "ck_pear_price_positive",
            "ck_pip_price_positive"} <= names["check"]
    assert not any("priced" in n for n in names["check"] | names["index"])
    with pytest.raises(store.CheckViolation) as info:
        Pear.create(price=-1)
    assert info.value.constraint == "ck_pear_price_positive"
    with pytest.raises(store.CheckViolation) as info:
        Pip.create(price=0, variety="x")
    assert info.value.constraint == "ck_pip_price_positive"


class Shelf(store.Model):
    label = store.CharField(max_length=10)


class Book(store.Model):
    shelf = store.ForeignKeyField(Shelf, backref="books")


class RareBook(Book):
    pass


class Stock(store.Model):
    shelf = store.ForeignKeyField(Shelf, backref="stock")

    class Meta:
        abstract = True


class StockA(Stock):
    pass


class StockB(Stock):
    pass


def test_fk_names_per_subclass(db, tables):
    assert Book.shelf.constraint_name == "fk_book_shelf_id_shelf"
    assert RareBook.shelf.constraint_name == "fk_rare_book_shelf_id_shelf"
    assert StockA.shelf.constraint_name == "fk_stock_a_shelf_id_shelf"
    tables(Shelf, Book, RareBook, StockA, StockB)
    names = live_names(db)
    assert names["fk"] == {"fk_book_shelf_id_shelf", "fk_rare_book_shelf_id_shelf",
                           "fk_stock_a_shelf_id_shelf", "fk_stock_b_shelf_id_shelf"}
    assert {"ix_book_shelf_id", "ix_rare_book_shelf_id", "ix_stock_a_shelf_id",
            "ix_stock_b_shelf_id"} <= names["index"]
    with pytest.raises(store.ForeignKeyViolation) as info:
        RareBook.create(shelf=12345)
    assert info.value.constraint == "fk_rare_book_shelf_id_shelf"


def test_abstract_fk_leaves_no_backref_on_target(db, tables):
    assert Stock not in Shelf._meta.backrefs.values()
    assert Stock not in Shelf._meta.model_backrefs
    assert not hasattr(Shelf, "stock")          # would query the missing "stock" table
    assert {StockA, StockB} <= set(Shelf._meta.backrefs.values())
    tables(Shelf, Book, RareBook, StockA, StockB)    # every model referencing Shelf
    shelf = Shelf.create(label="s")
    StockA.create(shelf=shelf)
    StockB.create(shelf=shelf)
    assert [s.id for s in shelf.stocka_set] == [1]
    shelf.delete_instance(recursive=True)
    assert StockA.select().count() == 0 and StockB.select().count() == 0
    assert Shelf.select().count() == 0


def test_self_reference_fk_named_per_subclass(db, tables):
    class Node(store.Model):
        parent = store.ForeignKeyField("self", null=True, backref="children")

        class Meta:
            abstract = True

    class Category(Node):
        pass

    tables(Category)
    assert live_names(db)["fk"] == {"fk_category_parent_id_category"}
    assert Category.parent.rel_field is Category._meta.primary_key
    root = Category.create()
    child = Category.create(parent=root)
    assert Category.get_by_id(child.id).parent.id == root.id
    assert [c.id for c in root.category_set] == [child.id]
    assert not hasattr(Category, "children")    # the abstract base's backref


def test_explicit_fk_constraint_name_kept(db, tables):
    class Loan(store.Model):
        shelf = store.ForeignKeyField(Shelf, constraint_name="fk_custom_loan_shelf")

    tables(Shelf, Loan)
    assert "fk_custom_loan_shelf" in live_names(db)["fk"]


# --- 4. table names ------------------------------------------------------------------

class ForecastRun(store.Model):
    label = store.CharField(max_length=10)


def test_table_names_snake_case(db, tables):
    assert ForecastRun._meta.table_name == "forecast_run"
    assert RareBook._meta.table_name == "rare_book"
    tables(ForecastRun)
    assert "forecast_run" in db.get_tables()
    assert "forecastrun" not in db.get_tables()


# --- 5. timestamps -------------------------------------------------------------------

class Event(store.TimestampedModel):
    title = store.CharField(max_length=30)
    hits = store.IntegerField(default=0)


def _utc(value):
    assert isinstance(value, dt.datetime)
    assert value.tzinfo is not None and value.utcoffset() == dt.timedelta(0)
    return value


def _tick():
    time.sleep(0.002)


def test_timestamps_on_insert(db, tables):
    tables(Event)
    before = store.utcnow()
    event = Event.create(title="a")
    after = store.utcnow()
    row = Event.get_by_id(event.id)
    assert before <= _utc(row.created_at) <= after
    assert before <= _utc(row.updated_at) <= after
    assert row.created_at == event.created_at


def test_updated_at_refreshed_by_save(db, tables):
    tables(Event)
    event = Event.create(title="a")
    first = Event.get_by_id(event.id)
    _tick()
    first.title = "b"
    first.save()
    row = Event.get_by_id(event.id)
    assert row.title == "b"
    assert _utc(row.updated_at) > first.created_at
    assert row.updated_at > event.updated_at
    assert row.updated_at == first.updated_at          # instance matches the row
    assert row.created_at == event.created_at


def test_updated_at_refreshed_by_update_query(db, tables):
    tables(Event)
    event = Event.create(title="a")
    other = Event.create(title="other")
    _tick()
    assert Event.update(hits=Event.hits + 1).where(Event.id == event.id).execute() == 1
    row = Event.get_by_id(event.id)
    assert row.hits == 1
    assert _utc(row.updated_at) > event.updated_at
    assert row.created_at == event.created_at
    untouched = Event.get_by_id(other.id)
    assert untouched.updated_at == other.updated_at


def test_explicit_updated_at_in_update_query_kept(db, tables):
    tables(Event)
    event = Event.create(title="a")
    stamp = dt.datetime(2020, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    Event.update(updated_at=stamp).where(Event.id == event.id).execute()
    assert Event.get_by_id(event.id).updated_at == stamp


def test_select_does_not_touch_updated_at(db, tables):
    tables(Event)
    event = Event.create(title="a")
    _tick()
    rows = list(Event.select())
    assert [r.updated_at for r in rows] == [event.updated_at]
    assert Event.get_by_id(event.id).updated_at == event.updated_at


@pytest.mark.parametrize("only", [["title"], "field"])
def test_save_only_refreshes_updated_at(db, tables, only):
    tables(Event)
    event = Event.create(title="a", hits=3)
    _tick()
    obj = Event.get_by_id(event.id)
    obj.title = "b"
    obj.hits = 99                       # not in only: must not be written
    obj.save(only=[Event.title] if only == "field" else only)
    row = Event.get_by_id(event.id)
    assert row.title == "b" and row.hits == 3
    assert _utc(row.updated_at) > event.updated_at
    assert row.updated_at == obj.updated_at
    assert row.created_at == event.created_at


# --- 6. write validation ---------------------------------------------------------------

class Tag(store.Model):
    name = store.CharField(max_length=5)
    n = store.IntegerField(default=0)


TOO_LONG = "abcdefgh"


def _refused(call):
    with pytest.raises(store.ValidationError) as info:
        call()
    assert info.value.field == "tag.name"
    assert "max_length=5" in info.value.reason
    return info.value


def test_validation_save_and_create(db, tables):
    tables(Tag)
    _refused(lambda: Tag(name=TOO_LONG).save())
    _refused(lambda: Tag.create(name=TOO_LONG))
    assert Tag.select().count() == 0


def test_validation_insert(db, tables):
    tables(Tag)
    _refused(lambda: Tag.insert(name=TOO_LONG).execute())
    _refused(lambda: Tag.insert({Tag.name: TOO_LONG}).execute())
    _refused(lambda: Tag.insert({"name": TOO_LONG}).execute())
    _refused(lambda: Tag.replace(name=TOO_LONG).execute())
    assert Tag.select().count() == 0


def test_validation_insert_many_dicts(db, tables):
    tables(Tag)
    _refused(lambda: Tag.insert_many([{"name": "ok"}, {"name": TOO_LONG}]).execute())
    _refused(lambda: Tag.insert_many([{Tag.name: "ok"}, {Tag.name: TOO_LONG}]).execute())
    assert Tag.select().count() == 0


def test_validation_insert_many_tuples(db, tables):
    tables(Tag)
    rows = [("ok", 1), (TOO_LONG, 2)]
    _refused(lambda: Tag.insert_many(rows, fields=[Tag.name, Tag.n]).execute())
    _refused(lambda: Tag.insert_many(rows, fields=["name", "n"]).execute())
    _refused(lambda: Tag.insert_many(iter(rows), fields=["name", "n"]).execute())
    _refused(lambda: Tag.insert_many(rows).execute())      # default columns
    assert Tag.select().count() == 0
    Tag.insert_many(rows[:1], fields=["name", "n"]).execute()
    Tag.insert_many([("ok2", 5)]).execute()
    assert sorted((t.name, t.n) for t in Tag.select()) == [("ok", 1), ("ok2", 5)]


def test_validation_bulk_create(db, tables):
    tables(Tag)
    _refused(lambda: Tag.bulk_create([Tag(name="ok"), Tag(name=TOO_LONG)]))
    assert Tag.select().count() == 0


def test_validation_update(db, tables):
    tables(Tag)
    tag = Tag.create(name="ok")
    _refused(lambda: Tag.update(name=TOO_LONG).where(Tag.id == tag.id).execute())
    _refused(lambda: Tag.update({Tag.name: TOO_LONG}).execute())
    tag.name = TOO_LONG
    _refused(lambda: tag.save())
    _refused(lambda: tag.save(only=[Tag.name]))
    again = Tag.get_by_id(tag.id)
    again.name = TOO_LONG
    _refused(lambda: Tag.bulk_update([again], fields=[Tag.name]))
    assert [t.name for t in Tag.select()] == ["ok"]


def test_validation_not_applied_to_where(db, tables):
    tables(Tag)
    Tag.create(name="ok")
    assert Tag.select().where(Tag.name == TOO_LONG).count() == 0
    assert Tag.update(n=1).where(Tag.name != TOO_LONG).execute() == 1


# --- 7. repr ------------------------------------------------------------------------

class Memo(store.Model):
    title = store.CharField(max_length=200)
    body = store.TextField(null=True)


def test_repr_readable(db, tables):
    tables(Memo)
    memo = Memo.create(title="hello", body=None)
    text = repr(memo)
    assert text == f"<Memo id={memo.id} title='hello' body=None>"
    assert not text.startswith("<Memo:")
    assert repr(Memo(title="x")) == "<Memo id=None title='x' body=None>"


def test_repr_truncates_long_values(db, tables):
    tables(Memo)
    memo = Memo.create(title="y" * 150)
    text = repr(memo)
    assert "y" * 150 not in text
    assert "title='yyyy" in text and "..." in text
    assert len(text) < 120


def test_repr_many_fields_elided():
    class Wide(store.Model):
        a = store.IntegerField(default=1)
        b = store.IntegerField(default=2)
        c = store.IntegerField(default=3)
        d = store.IntegerField(default=4)
        e = store.IntegerField(default=5)
        f = store.IntegerField(default=6)
        g = store.IntegerField(default=7)

    assert repr(Wide()) == "<Wide id=None a=1 b=2 c=3 d=4 e=5 ...>"


def test_repr_own_definition_kept():
    class Custom(store.Model):
        def __repr__(self):
            return "custom!"

    class Child(Custom):
        pass

    assert repr(Custom()) == "custom!"
    assert repr(Child()) == "custom!"


# --- 8. re-binding to the other backend --------------------------------------------------

def test_rebind_to_other_backend(db, tables, request):
    tables(Maker, Gadget, Apple)
    other = store.connect(other_backend_url(db, request))
    try:
        Maker.bind(other)
        other.bind_models([Gadget, Apple])
        assert Gadget._meta.database is other and Maker._meta.database is other
        other.create_tables([Maker, Gadget, Apple])
        names = live_names(other)
        json_check = ({"ck_gadget_data_json"} if other.features.name == "sqlite"
                      else set())
        assert names["check"] == (EXPECTED_CHECKS | json_check
                                  | {"ck_apple_price_positive",
                                     "ck_apple_variety_max_length"})
        assert names["fk"] == EXPECTED_FKS
        maker = Maker.create(name="m")
        with pytest.raises(store.CheckViolation) as info:
            Gadget.create(sku="s", color=Color.BLUE, price=-5, maker=maker, line="l")
        assert info.value.constraint == "ck_gadget_price_positive"
        Gadget.create(sku="s", color=Color.BLUE, price=5, maker=maker, line="l",
                      data={"k": [1]})
        assert Gadget.get().data == {"k": [1]}
    finally:
        other.close()
    # back on the first database: nothing of the other one leaked there
    db.bind_models([Maker, Gadget])
    assert Gadget.select().count() == 0


# --- 9. primary keys made in Python, partial indexes ----------------------------------

import uuid as _uuid


class Ticket(store.Model):
    id = store.UUIDField(primary_key=True, default=_uuid.uuid4)
    title = store.CharField(max_length=50)
    open = store.BooleanField(default=True)

    class Meta:
        table_name = "ticket"


def test_save_inserts_new_row_with_python_default_pk(db, tables):
    tables(Ticket)
    ticket = Ticket(title="first")
    assert ticket.id is not None            # made in Python before any write
    assert ticket.save() == 1
    assert Ticket.select().count() == 1
    ticket.title = "renamed"                # a second save updates the same row
    ticket.save()
    assert [(t.id, t.title) for t in Ticket.select()] == [(ticket.id, "renamed")]
    loaded = Ticket.get_by_id(ticket.id)    # a loaded row updates too
    loaded.title = "again"
    loaded.save()
    assert Ticket.select().count() == 1 and Ticket.get().title == "again"


def test_save_with_explicit_pk_keeps_peewee_update_semantics(db, tables):
    tables(Ticket)
    existing = Ticket.create(title="a")
    # a new instance carrying an explicit pk addresses the existing row
    assert Ticket(id=existing.id, title="b").save() == 1
    assert Ticket.select().count() == 1 and Ticket.get().title == "b"


def test_partial_index_with_boolean_predicate(db):
    class Job(store.Model):
        name = store.CharField()
        active = store.BooleanField(default=True)

        class Meta:
            table_name = "job_partial"
            database = db
    Job.add_index(Job.index(Job.name, where=(Job.active == True),  # noqa: E712
                            name="ix_job_partial_active_name"))
    Job.create_table()
    Job.create(name="x")
    Job.create(name="y", active=False)
    if db.features.name == "postgresql":
        sql = db.execute_sql("SELECT indexdef FROM pg_indexes WHERE indexname = "
                             "'ix_job_partial_active_name'").fetchone()[0]
        assert "WHERE active" in sql or "WHERE (active = true)" in sql
    else:
        sql = db.execute_sql("SELECT sql FROM sqlite_master WHERE name = "
                             "'ix_job_partial_active_name'").fetchone()[0]
        assert "TRUE" in sql
    assert [j.name for j in Job.select().where(Job.active == True)] == ["x"]  # noqa: E712


def test_postgres_only_index_method_skipped_on_sqlite(db):
    class Doc(store.Model):
        tags = store.JSONField(default=list)

        class Meta:
            table_name = "doc_gin"
            database = db
    Doc.add_index(Doc.index(Doc.tags, using="gin", name="ix_doc_gin_tags"))
    Doc.create_table()
    Doc.create(tags=["a", "b"])
    names = live_names(db, {"doc_gin"})["index"]
    if db.features.name == "postgresql":
        assert names == {"ix_doc_gin_tags"}
        method = db.execute_sql(
            "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
            "WHERE c.relname = 'ix_doc_gin_tags'").fetchone()[0]
        assert method == "gin"
    else:
        assert names == set()
    assert [d.tags for d in Doc.select().where(Doc.tags.contains(["a"]))] == [["a", "b"]]
    Doc.drop_table()


def test_percent_in_check_and_raw_sql(db):
    """peewee passes psycopg ``params or ()``, which made a % in DDL a
    placeholder on PostgreSQL."""
    class Contact(store.Model):
        email = store.CharField(max_length=50)

        class Meta:
            table_name = "contact_pct"
            database = db
            checks = [store.Check("email_at", "email LIKE '%_@_%'")]
    Contact.create_table()
    Contact.create(email="a@b.c")
    with pytest.raises(store.CheckViolation) as info:
        Contact.create(email="nobody")
    assert info.value.constraint == "ck_contact_pct_email_at"
    assert db.execute_sql("SELECT count(*) FROM contact_pct WHERE email LIKE '%@%'"
                          ).fetchone()[0] == 1
    assert db.execute_sql("SELECT 7 % 3").fetchone()[0] == 1


# --- upserts validate their update values like inserts (issue 17) -----------------

class Counter(store.Model):
    name = store.CharField(max_length=10, unique=True)
    hits = store.IntegerField(default=0)
    small = store.SmallIntegerField(default=0)
    note = store.TextField(null=True)


@pytest.mark.parametrize("update, column", [
    ({"hits": 2 ** 40}, "counter.hits"),
    ({Counter.small: 70000}, "counter.small"),
    ({"note": "nul\x00here"}, "counter.note"),
])
def test_on_conflict_update_values_are_validated(db, tables, update, column):
    tables(Counter)
    Counter.create(name="a", hits=1)
    with pytest.raises(store.ValidationError) as info:
        (Counter.insert(name="a", hits=1)
         .on_conflict(conflict_target=[Counter.name], update=update).execute())
    assert info.value.field == column
    assert [(c.name, c.hits, c.small, c.note) for c in Counter.select()] == [("a", 1, 0, None)]
    # a valid upsert, and SQL expressions in update, still work
    (Counter.insert(name="a", hits=1)
     .on_conflict(conflict_target=[Counter.name], update={Counter.hits: Counter.hits + 1})
     .execute())
    (Counter.insert_many([{"name": "a"}])
     .on_conflict(conflict_target=[Counter.name], update={"small": 5}).execute())
    assert [(c.hits, c.small) for c in Counter.select()] == [(2, 5)]
