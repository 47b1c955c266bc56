"""store.repository.Repository on SQLite and PostgreSQL: find/get/create,
transaction ownership (the caller's db.atomic() decides), stable pages,
counts, and an idempotent bulk upsert with typed errors."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import store
from store.repository import MultipleRowsFound, Repository

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class Item(store.Model):
    sku = store.CharField(max_length=20, unique=True)
    name = store.CharField(max_length=40)
    qty = store.IntegerField(null=True)
    price = store.DecimalField(8, 2, default=Decimal("0"))
    tags = store.JSONField(default=list)
    created_at = store.DateTimeTZField(default=store.utcnow)
    updated_at = store.DateTimeTZField(auto_now=True)

    class Meta:
        table_name = "repo_item"
        checks = [store.Check("qty_non_negative", "qty IS NULL OR qty >= 0")]


class Slot(store.Model):
    shelf = store.CharField(max_length=10)
    position = store.IntegerField()
    label = store.CharField(max_length=20, null=True)

    class Meta:
        table_name = "repo_slot"
        indexes = ((("shelf", "position"), True),)     # uq_repo_slot_shelf_position


class ItemRepository(Repository[Item]):
    model = Item
    natural_key = ("sku",)


@pytest.fixture
def items(db, tables):
    tables(Item, Slot)
    return ItemRepository(db)


def count_on(database, table):
    """Rows of ``table`` seen by the connection of ``database`` (raw SQL)."""
    return database.execute_sql(f"SELECT count(*) FROM {table}").fetchone()[0]


def snapshot():
    return [(i.id, i.sku, i.name, i.qty, i.price, i.tags, i.created_at, i.updated_at)
            for i in Item.select().order_by(Item.id)]


# --- create, get, find_by ---------------------------------------------------------

def test_create_sets_the_id_and_reads_back_as_stored(items):
    item = items.create(sku="A-1", name="apple", qty=3, price=Decimal("2.5"), tags=["x"])
    assert isinstance(item.id, int)
    again = items.get(item.id)
    assert (again.sku, again.qty, again.tags) == ("A-1", 3, ["x"])
    assert str(again.price) == "2.50"
    assert items.find_by(sku="A-1").id == item.id
    # the seed's form: an unsaved instance, returned with its id populated
    made = items.create(Item(sku="B-1", name="banana"))
    assert made.id not in (None, item.id) and items.get(made.id).price == Decimal("0.00")


def test_create_errors_are_typed_and_leave_nothing(items):
    items.create(sku="A-1", name="apple")
    with pytest.raises(store.ValidationError) as exc:
        items.create(sku="X" * 21, name="long")
    assert exc.value.field == "repo_item.sku"
    with pytest.raises(store.ValidationError) as exc:
        items.create(sku="A-2", name="a", colour="red")
    assert exc.value.field == "repo_item.colour"
    with pytest.raises(store.CheckViolation) as exc:
        items.create(sku="A-3", name="a", qty=-1)
    assert exc.value.constraint == "ck_repo_item_qty_non_negative"
    with pytest.raises(store.UniqueViolation) as exc:
        items.create(sku="A-1", name="again")
    assert (exc.value.table, exc.value.constraint) == ("repo_item", "uq_repo_item_sku")
    with pytest.raises(store.ValidationError):
        items.create(Slot(shelf="s", position=1))
    assert items.count() == 1


def test_get_missing_is_none_and_a_bad_key_is_refused_on_both(items):
    assert items.get(12345) is None
    item = items.create(sku="A-1", name="apple")
    assert items.get(str(item.id)).id == item.id
    for bad in ("abc", 1.5, True, None):
        with pytest.raises(store.ValidationError) as exc:
            items.get(bad)
        assert exc.value.field == "repo_item.id"


def test_find_by_one_none_several(items):
    items.create(sku="A-1", name="apple", qty=None)
    items.create(sku="A-2", name="apple", qty=2)
    assert items.find_by(sku="nope") is None
    assert items.find_by(sku="a-1") is None                  # case-sensitive on both
    assert items.find_by(name="apple", qty=None).sku == "A-1"   # None is IS NULL
    assert items.find_by(name="apple", qty=2).sku == "A-2"
    with pytest.raises(MultipleRowsFound) as exc:
        items.find_by(name="apple")
    assert exc.value.found == 2 and isinstance(exc.value, store.StoreError)
    with pytest.raises(store.ValidationError):
        items.find_by()
    with pytest.raises(store.ValidationError) as exc:
        items.find_by(colour="red")
    assert exc.value.field == "repo_item.colour"


# --- transactions: the caller owns them ----------------------------------------------

def test_caller_rollback_removes_the_created_row(db, items):
    with db.atomic() as txn:
        item = items.create(sku="A-1", name="apple")
        assert items.get(item.id).sku == "A-1"          # flushed: visible here
        txn.rollback()
    assert items.get(item.id) is None and items.count() == 0
    with pytest.raises(RuntimeError):
        with db.atomic():
            items.create(sku="A-2", name="apple")
            raise RuntimeError("the caller fails after the create")
    assert items.count() == 0


def test_uncommitted_row_is_invisible_to_another_connection(db, items, backend_url):
    other = store.connect(backend_url)
    try:
        with db.atomic():
            items.create(sku="A-1", name="apple")
            assert count_on(db, "repo_item") == 1
            assert count_on(other, "repo_item") == 0    # nothing committed it
        assert count_on(other, "repo_item") == 1        # the caller's block did
        items.create(sku="A-2", name="apple")           # no transaction: autocommit
        assert count_on(other, "repo_item") == 2
    finally:
        other.close()


def test_a_refused_create_leaves_the_callers_transaction_usable(db, items):
    # PostgreSQL aborts a transaction on any error; create's savepoint keeps
    # it usable on both backends, so the caller can go on and commit.
    with db.atomic():
        items.create(sku="A-1", name="apple")
        with pytest.raises(store.UniqueViolation):
            items.create(sku="A-1", name="duplicate")
        items.create(sku="A-2", name="pear")
    assert [i.sku for i in items.find_all(order_by="sku")] == ["A-1", "A-2"]


# --- pages, order, count -----------------------------------------------------------

def make_items(items, n=7):
    qtys = [3, None, 1, 3, None, 2, 1][:n]
    for i, qty in enumerate(qtys):
        items.create(sku=f"S-{i}", name=f"n{i % 2}", qty=qty, created_at=T0)
    return list(Item.select())


def expected(rows, key, reverse=False):
    return [r.id for r in sorted(rows, key=key, reverse=reverse)]


def test_get_all_pages_are_stable_and_cover_every_row_once(items):
    rows = make_items(items)
    # every created_at ties: the primary key decides, newest id first
    pages = [items.get_all(page=p, per_page=3, order_by="-created_at") for p in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    assert [r.id for p in pages for r in p] == expected(rows, lambda r: r.id, reverse=True)
    assert [r.id for r in items.get_all()] == expected(rows, lambda r: r.id)


def test_get_all_sorts_nulls_the_same_on_both_backends(items):
    rows = make_items(items)
    nulls_last = expected(rows, lambda r: (r.qty is None, r.qty or 0, r.id))
    assert [r.id for r in items.get_all(order_by="qty")] == nulls_last
    assert [r.id for r in items.get_all(order_by=Item.qty)] == nulls_last
    nulls_first = expected(rows, lambda r: (r.qty is not None, -(r.qty or 0), -r.id))
    assert [r.id for r in items.get_all(order_by="-qty")] == nulls_first
    assert [r.id for r in items.get_all(order_by=[Item.qty.desc()])] == nulls_first
    by_name = expected(rows, lambda r: (r.name, r.qty is None, r.qty or 0, r.id))
    assert [r.id for r in items.find_all(order_by=("name", "qty"))] == by_name


def test_get_all_refuses_bad_arguments(items):
    make_items(items, 2)
    for kwargs in ({"page": 0}, {"page": "1"}, {"page": True}, {"per_page": 0},
                   {"per_page": 1001}, {"per_page": 2.0}):
        with pytest.raises(store.ValidationError) as exc:
            items.get_all(**kwargs)
        assert exc.value.field == next(iter(kwargs))
    assert len(items.get_all(per_page=1000)) == 2
    with pytest.raises(store.ValidationError) as exc:
        items.get_all(order_by="-colour")
    assert exc.value.field == "repo_item.colour"


def test_count_with_and_without_filters(items):
    rows = make_items(items)
    assert items.count() == len(rows)
    assert items.count(qty=3) == sum(r.qty == 3 for r in rows)
    assert items.count(qty=None) == sum(r.qty is None for r in rows)
    assert items.count(name="n0", qty=1) == sum(r.name == "n0" and r.qty == 1 for r in rows)
    with pytest.raises(store.ValidationError):
        items.count(colour="red")


# --- upsert ------------------------------------------------------------------------

ROWS = [{"sku": "A-1", "name": "apple", "qty": 1, "price": Decimal("1.5"), "tags": ["r"]},
        {"sku": "A-2", "name": "pear", "qty": None, "price": Decimal("2"), "tags": []},
        {"sku": "A-3", "name": "plum", "qty": 0, "price": Decimal("0.1"), "tags": [1, 2]}]


def test_upsert_twice_gives_the_same_rows_and_ids(items):
    assert items.upsert(ROWS) == 3
    first = snapshot()
    assert [(r[1], r[4]) for r in first] == [(r["sku"], r["price"]) for r in ROWS]
    assert items.upsert(ROWS) == 0                      # nothing to write
    assert snapshot() == first                          # ids, values, updated_at
    assert items.upsert(ROWS, conflict=("sku",), update=("name", "qty")) == 0
    assert snapshot() == first
    newer = items.create(sku="A-4", name="fig")
    assert newer.id > max(r[0] for r in first)          # ids can gap on PostgreSQL


def test_upsert_updates_only_rows_that_change(items):
    items.upsert(ROWS)
    before = {r[1]: r for r in snapshot()}
    changed = [dict(ROWS[0], qty=5), dict(ROWS[1], qty=7),            # NULL -> 7
               ROWS[2], {"sku": "A-9", "name": "new", "qty": None,
                         "price": Decimal("9"), "tags": []}]
    assert items.upsert(changed) == 3
    after = {r[1]: r for r in snapshot()}
    assert after["A-1"][3] == 5 and after["A-2"][3] == 7
    for sku in ("A-1", "A-2", "A-3"):
        assert after[sku][0] == before[sku][0]          # same id
        assert after[sku][6] == before[sku][6]          # created_at kept
    assert after["A-1"][7] > before["A-1"][7]           # updated_at refreshed
    assert after["A-3"] == before["A-3"]                # untouched row, untouched
    assert items.upsert([dict(ROWS[1], qty=None)]) == 1  # 7 -> NULL is a change
    assert items.get(before["A-2"][0]).qty is None
    assert items.count() == 4


def test_upsert_update_columns_and_insert_only(items):
    items.upsert(ROWS)
    renamed = [dict(r, name=r["name"] + "!", qty=9) for r in ROWS]
    assert items.upsert(renamed, update=("qty",)) == 3
    assert [(i.name, i.qty) for i in items.find_all(order_by="sku")] == \
        [(r["name"], 9) for r in ROWS]
    fresh = {"sku": "A-5", "name": "kiwi", "qty": 1, "price": Decimal("1"), "tags": []}
    assert items.upsert(renamed + [fresh], update=()) == 1   # existing rows untouched
    assert [i.name for i in items.find_all(order_by="sku")] == \
        [r["name"] for r in ROWS] + ["kiwi"]


def test_upsert_on_a_composite_unique_index_and_on_the_primary_key(db, tables):
    tables(Slot)
    slots = Repository(db, model=Slot)
    rows = [{"shelf": "a", "position": p, "label": f"L{p}"} for p in (1, 2)]
    assert slots.upsert(rows, conflict=("shelf", "position")) == 2
    ids = [s.id for s in slots.find_all()]
    assert slots.upsert(rows, conflict=("shelf", "position")) == 0
    by_pk = [{"id": ids[0], "shelf": "a", "position": 1, "label": "changed"}]
    assert slots.upsert(by_pk, conflict="id") == 1
    assert [(s.id, s.label) for s in slots.find_all()] == [(ids[0], "changed"), (ids[1], "L2")]


def test_upsert_refuses_bad_input_before_writing(items):
    with pytest.raises(store.ValidationError) as exc:       # PostgreSQL would refuse,
        items.upsert([ROWS[0], dict(ROWS[0], qty=4)])         # SQLite keep the last
    assert "same conflict key" in exc.value.reason
    with pytest.raises(store.ValidationError) as exc:        # 1 and 1.0 are one key
        Repository(items.db, model=Slot).upsert(
            [{"shelf": "a", "position": 1}, {"shelf": "a", "position": 1.0}],
            conflict=("shelf", "position"))
    with pytest.raises(store.ValidationError) as exc:
        items.upsert(ROWS, conflict=("name",))
    assert "UNIQUE" in exc.value.reason
    with pytest.raises(store.ValidationError):
        items.upsert([ROWS[0], {"sku": "A-2", "name": "pear"}])
    with pytest.raises(store.ValidationError):
        items.upsert([{"name": "no sku"}])
    with pytest.raises(store.ValidationError):
        items.upsert(ROWS, update=("sku",))
    with pytest.raises(store.ValidationError):
        items.upsert([{"sku": "A-1", "name": "a"}], update=("qty",))
    with pytest.raises(store.ValidationError) as exc:
        items.upsert(ROWS, batch_size=0)
    assert exc.value.field == "batch_size"
    with pytest.raises(store.ValidationError) as exc:
        items.upsert([ROWS[0], dict(ROWS[1], sku="Z" * 21)])
    assert exc.value.field == "repo_item.sku"
    assert items.count() == 0


def test_upsert_is_all_or_nothing_across_batches(items):
    rows = [dict(ROWS[0], sku=f"B-{i}") for i in range(5)]
    rows[4]["qty"] = -1                                    # refused by the CHECK
    with pytest.raises(store.CheckViolation) as exc:
        items.upsert(rows, batch_size=2)
    assert exc.value.constraint == "ck_repo_item_qty_non_negative"
    assert items.count() == 0                              # batches 1-2 rolled back
    rows[4]["qty"] = 1
    assert items.upsert(rows, batch_size=2) == 5
    assert items.upsert(rows, batch_size=2) == 0


# --- binding ----------------------------------------------------------------------

def test_repository_refuses_a_database_its_model_is_not_bound_to(db, items, request):
    other_url = request.getfixturevalue(
        "pg_url" if db.features.name == "sqlite" else "sqlite_url")
    other = store.connect(other_url)
    try:
        with pytest.raises(store.ConfigError, match="bound to"):
            ItemRepository(other)
        repo = ItemRepository(db)
        other.bind_models([Item])                          # re-bound elsewhere later
        with pytest.raises(store.ConfigError):
            repo.count()
    finally:
        db.bind_models([Item])
        other.close()

    class Loose(store.Model):
        name = store.CharField(max_length=5)

    with pytest.raises(store.ConfigError, match="not bound"):
        Repository(model=Loose)
    with pytest.raises(store.ConfigError, match="no model"):
        Repository(db)
