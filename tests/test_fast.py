"""store.fast: the fast paths store exactly what the ORM path stores, refuse
exactly what it refuses, and read back exactly what it reads -- on SQLite
and PostgreSQL, by executemany and by COPY."""
from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal

import peewee
import pytest

import store
from store import fast

UTC = dt.timezone.utc
PLUS2 = dt.timezone(dt.timedelta(hours=2))


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class FastParent(store.Model):
    code = store.CharField(max_length=10, primary_key=True)


class FastSample(store.TimestampedModel):
    """Every store field type; created_at/updated_at (auto_now) inherited."""
    key = store.CharField(max_length=20, unique=True)
    parent = store.ForeignKeyField(FastParent, null=True, backref="samples")
    doc = store.JSONField(default=dict)
    tags = store.JSONField(null=True)
    price = store.DecimalField(10, 2, default=Decimal("0"))
    token = store.UUIDField(default=uuid.uuid4)
    seen_at = store.DateTimeTZField(null=True)
    mood = store.EnumField(Mood, default=Mood.HAPPY)
    active = store.BooleanField(default=True)
    qty = store.IntegerField(default=0)
    big = store.BigIntegerField(null=True)
    small = store.SmallIntegerField(null=True)
    ratio = store.DoubleField(null=True)
    note = store.TextField(null=True)
    day = store.DateField(null=True)

    class Meta:
        checks = [store.Check("qty_nonneg", "qty >= 0")]


T0 = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
COLUMNS = [f.column_name for f in FastSample._meta.sorted_fields if f.name not in ("id", "key")]


def rows(prefix, n=None):
    """Rows with awkward values for every field (all given explicitly)."""
    out = [
        dict(key=f"{prefix}a", parent="P1", doc={"n": [1, 2.5, -0.0, 1e16, 12345678901234567890],
                                                 "s": "caf\u00e9 \"q\" \\ \n\t\x01 \U0001F600",
                                                 "o": {"": {}, "e": []}, "b": [True, False, None]},
             tags=["x", "y"], price=Decimal("1.005"), token=uuid.UUID(int=1),
             seen_at=dt.datetime(2024, 1, 1, 12, 0, tzinfo=PLUS2), mood=Mood.SAD, active=False,
             qty=2 ** 31 - 1, big=-2 ** 63, small=-2 ** 15, ratio=0.1, note="x" * 300,
             day=dt.date(2024, 2, 29), created_at=T0, updated_at=T0),
        dict(key=f"{prefix}b", parent=None, doc=[], tags=None, price=7, token=str(uuid.UUID(int=2)),
             seen_at="2024-03-01T00:00:00+05:30", mood="happy", active=True, qty=3.0,
             big=None, small=None, ratio=None, note=None, day=None, created_at=T0, updated_at=T0),
        dict(key=f"{prefix}c", parent="P1", doc="just a string", tags={"k": None}, price="-3.1",
             token=uuid.UUID(int=3).bytes, seen_at=None, mood=Mood.HAPPY, active=1, qty=Decimal(4),
             big=2 ** 63 - 1, small=12, ratio=1e300, note=55, day="2024-01-31",
             created_at=T0, updated_at=T0),
    ]
    return out if n is None else [dict(out[i % 3], key=f"{prefix}{i}") for i in range(n)]


def stored(db, prefix):
    """The stored values of rows whose key starts with ``prefix``, as the
    database holds them: (storage class, text) per column on SQLite, the
    text cast on PostgreSQL; keyed by the key without its prefix."""
    if db.features.name == "sqlite":
        exprs = ", ".join(f'typeof("{c}"), CAST("{c}" AS TEXT)' for c in COLUMNS)
    else:
        exprs = ", ".join(f'CAST("{c}" AS TEXT)' for c in COLUMNS)
    cursor = db.execute_sql(f'SELECT key, {exprs} FROM fast_sample WHERE key LIKE %s ORDER BY key'
                            .replace("%s", db.param), (prefix + "%",))
    return {row[0][len(prefix):]: row[1:] for row in cursor.fetchall()}


@pytest.fixture
def sample(tables):
    tables(FastParent, FastSample)
    FastParent.create(code="P1")
    return FastSample


@pytest.fixture(params=["executemany", "auto"])
def mode(request, monkeypatch):
    """How bulk_insert sends rows: executemany, or its own choice with the
    COPY threshold at 1 (COPY on PostgreSQL, executemany on SQLite)."""
    if request.param == "executemany":
        return {"copy": False}
    monkeypatch.setattr(fast, "COPY_THRESHOLD", 1)
    return {}


# --- what is stored ---------------------------------------------------------------

def test_bulk_insert_stores_what_insert_many_stores(db, sample, mode):
    sample.insert_many(rows("orm-")).execute()
    assert fast.bulk_insert(sample, rows("fast-"), **mode) == 3
    orm, quick = stored(db, "orm-"), stored(db, "fast-")
    assert set(orm) == {"a", "b", "c"}
    assert quick == orm
    # the values really are the converted ones (not a shared mistake)
    got = sample.get(sample.key == "fast-a")
    assert (got.price, got.seen_at, got.qty, got.mood) == (Decimal("1.01"), dt.datetime(
        2024, 1, 1, 10, 0, tzinfo=UTC), 2 ** 31 - 1, Mood.SAD)
    assert sample.get(sample.key == "fast-c").note == "55"


def test_copy_and_executemany_store_the_same(db, sample, monkeypatch):
    fast.bulk_insert(sample, rows("many-"), copy=False)
    sent = []
    monkeypatch.setattr(fast, "_send_copy", lambda *a: sent.append(a) or copy_rows(*a))
    monkeypatch.setattr(fast, "COPY_THRESHOLD", 1)
    fast.bulk_insert(sample, rows("copy-"))
    assert stored(db, "copy-") == stored(db, "many-")
    assert len(stored(db, "copy-")) == 3
    assert len(sent) == (1 if db.features.name == "postgresql" else 0)   # COPY: PostgreSQL's
    if not sent:
        with pytest.raises(store.ConfigError, match="COPY needs PostgreSQL"):
            fast.bulk_insert(sample, rows("x-"), copy=True)


copy_rows = fast._send_copy


def test_sqlite_json_wrapper_path_stores_the_same(db, sample, monkeypatch):
    """Where compact JSON text is not what json() stores (the probe fails),
    the SQL wraps the parameter in json() as the ORM path does."""
    monkeypatch.setattr(fast, "_PLANS", {})
    monkeypatch.setattr(fast, "_PROBES", {("json", "sqlite"): False})
    fast.bulk_insert(sample, rows("wrapped-"), copy=False)
    sample.insert_many(rows("orm-")).execute()
    assert stored(db, "wrapped-") == stored(db, "orm-")
    plan = next(p for k, p in fast._PLANS.items() if k[0] == "insert")
    assert ("json(" in plan.sql) == (db.features.name == "sqlite")


def test_many_rows_in_batches(db, sample, mode):
    assert fast.bulk_insert(sample, rows("n-", 25), batch_size=7, **mode) == 25
    assert sample.select().where(sample.key.startswith("n-")).count() == 25
    sample.insert_many(rows("o-", 25)).execute()
    assert stored(db, "n-") == stored(db, "o-")


def test_defaults_applied_per_row_like_insert_many(db, sample, mode):
    fast.bulk_insert(sample, [{"key": "d1"}, {"key": "d2", "qty": 5}], **mode)
    sample.insert_many([{"key": "o1"}, {"key": "o2", "qty": 5}]).execute()
    one, two = sample.get(sample.key == "d1"), sample.get(sample.key == "d2")
    assert (one.doc, one.price, one.mood, one.active, one.qty, one.tags) == \
        ({}, Decimal("0.00"), Mood.HAPPY, True, 0, None)
    assert two.qty == 5
    assert one.token != two.token                      # a callable default, per row
    assert one.created_at.tzinfo is UTC
    quick, orm = stored(db, "d"), stored(db, "o")
    skip = {COLUMNS.index(c) for c in ("token", "created_at", "updated_at")}
    width = 2 if db.features.name == "sqlite" else 1
    strip = lambda vals: [v for i, v in enumerate(vals) if i // width not in skip]  # noqa: E731
    assert {k: strip(v) for k, v in quick.items()} == {k: strip(v) for k, v in orm.items()}


def test_model_instances_as_rows(db, sample, mode):
    made = [sample(**r) for r in rows("inst-")]
    assert fast.bulk_insert(sample, made, **mode) == 3
    sample.insert_many(rows("orm-")).execute()
    assert stored(db, "inst-") == stored(db, "orm-")


def test_keys_by_column_name_and_field(db, sample):
    fast.bulk_insert(sample, [{sample.key: "k1", "parent_id": "P1"},
                              {sample.key: "k2", "parent": None}], copy=False)
    assert [s.parent_id for s in sample.select().order_by(sample.key)] == ["P1", None]


def test_empty_input_writes_nothing(db, sample):
    assert fast.bulk_insert(sample, []) == 0
    assert fast.bulk_insert(sample, iter(())) == 0


# --- refusals ---------------------------------------------------------------------

BAD_VALUES = [
    ("key", "x" * 21, "fast_sample.key"),
    ("note", "nul\x00", "fast_sample.note"),
    ("mood", "angry", "fast_sample.mood"),
    ("doc", {"v": float("nan")}, "fast_sample.doc"),
    ("doc", {"v": object()}, "fast_sample.doc"),
    ("tags", ["\x00"], "fast_sample.tags"),
    ("seen_at", dt.datetime(2024, 1, 1), "fast_sample.seen_at"),
    ("price", Decimal("123456789"), "fast_sample.price"),
    ("token", "not-a-uuid", "fast_sample.token"),
    ("qty", 2 ** 31, "fast_sample.qty"),
    ("qty", 1.5, "fast_sample.qty"),
    ("small", 2 ** 15, "fast_sample.small"),
    ("parent", "P" * 11, "fast_sample.parent_id"),
]


@pytest.mark.parametrize("field,value,name", BAD_VALUES,
                         ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(BAD_VALUES)])
def test_validation_error_same_as_orm_and_nothing_written(db, sample, mode, field, value, name):
    good = rows("v-")
    bad = good[:2] + [dict(good[2], **{field: value})]
    with pytest.raises(store.ValidationError) as orm:
        sample.insert_many(bad).execute()
    with pytest.raises(store.ValidationError) as quick:
        fast.bulk_insert(sample, bad, batch_size=1, **mode)   # two batches went first
    assert (quick.value.field, quick.value.reason) == (orm.value.field, orm.value.reason)
    assert quick.value.field == name
    assert sample.select().count() == 0
    fast.bulk_insert(sample, good, **mode)                    # the good rows alone pass
    assert sample.select().count() == 3


CONSTRAINTS = [
    ({"qty": -1}, store.CheckViolation, "ck_fast_sample_qty_nonneg"),
    ({"key": "v-a"}, store.UniqueViolation, "uq_fast_sample_key"),
    ({"parent": "NOPE"}, store.ForeignKeyViolation, "fk_fast_sample_parent_id_fast_parent"),
    ({"key": None}, store.NotNullViolation, None),
]


@pytest.mark.parametrize("change,error,constraint", CONSTRAINTS,
                         ids=[c[1].__name__ for c in CONSTRAINTS])
def test_constraint_errors_translated_like_orm(db, sample, mode, change, error, constraint):
    bad = rows("v-")
    bad[2].update(change)
    with pytest.raises(error) as orm:
        sample.insert_many(bad).execute()
    with pytest.raises(error) as quick:
        fast.bulk_insert(sample, bad, batch_size=2, **mode)
    for exc in (orm.value, quick.value):
        assert (exc.table, exc.constraint) == ("fast_sample", constraint)
    assert quick.value.column == orm.value.column
    assert sample.select().count() == 0


def test_failure_inside_callers_transaction_keeps_it_usable(db, sample, mode):
    with db.atomic():
        fast.bulk_insert(sample, rows("t1-"), **mode)
        bad = rows("t2-")
        bad[1]["qty"] = -5
        with pytest.raises(store.CheckViolation):
            fast.bulk_insert(sample, bad, **mode)
        fast.bulk_insert(sample, rows("t3-"), **mode)
    keys = {s.key[:3] for s in sample.select()}
    assert keys == {"t1-", "t3-"}


def test_bad_rows_refused_clearly(db, sample):
    with pytest.raises(ValueError, match="Missing value for key"):
        fast.bulk_insert(sample, [{"key": "a"}, {"qty": 1}])
    with pytest.raises(ValueError, match='unrecognized field name: "colour"'):
        fast.bulk_insert(sample, [{"key": "a", "colour": 1}])
    with pytest.raises(ValueError, match="'note', which the first row lacks"):
        fast.bulk_insert(sample, [{"key": "a"}, {"key": "b", "note": "lost"}])
    with pytest.raises(TypeError, match="fast_sample.qty: fast paths take values"):
        fast.bulk_insert(sample, [{"key": "a", "qty": peewee.SQL("1")}])
    with pytest.raises(TypeError, match="rows are dicts"):
        fast.bulk_insert(sample, [("a",)])
    assert sample.select().count() == 0


# --- lookup by primary key -----------------------------------------------------------

def test_get_by_pk_equals_get_by_id(db, sample):
    sample.insert_many(rows("g-")).execute()
    for row in sample.select(sample.id):
        quick, orm = fast.get_by_pk(sample, row.id), sample.get_by_id(row.id)
        assert quick == orm
        assert quick.__data__ == orm.__data__
        assert {k: type(v) for k, v in quick.__data__.items()} == \
            {k: type(v) for k, v in orm.__data__.items()}
        assert not quick._dirty and quick._store_unsaved_default_pk is False
    a = fast.get_by_pk(sample, sample.get(sample.key == "g-a").id)
    assert (a.mood, a.price, a.token, a.doc["s"]) == \
        (Mood.SAD, Decimal("1.01"), uuid.UUID(int=1), "caf\u00e9 \"q\" \\ \n\t\x01 \U0001F600")
    assert a.parent == FastParent.get_by_id("P1")         # the FK accessor works
    with pytest.raises(sample.DoesNotExist):
        fast.get_by_pk(sample, 10 ** 6)


def test_get_by_pk_text_key_and_json_not_json(db, sample):
    """A text primary key; JSON text that is not a whole document reads as
    peewee reads it (kept as text)."""
    assert fast.get_by_pk(FastParent, "P1") == FastParent.get_by_id("P1")
    sample.create(key="j")
    db.execute_sql("UPDATE fast_sample SET doc = ' [1] ' WHERE key = 'j'")   # valid, spaced
    row = sample.get(sample.key == "j")
    assert fast.get_by_pk(sample, row.id).doc == sample.get_by_id(row.id).doc == [1]


# --- update by primary key -----------------------------------------------------------

def test_update_by_pk_stores_what_update_stores(db, sample):
    sample.insert_many(rows("u-")).execute()
    sample.insert_many(rows("w-")).execute()
    a, b = sample.get(sample.key == "u-a"), sample.get(sample.key == "w-a")
    values = {"doc": {"z": [1, {"y": "\u00e9"}]}, "price": Decimal("2.345"), "mood": "happy",
              "seen_at": dt.datetime(2025, 1, 1, tzinfo=PLUS2), "qty": 7, "tags": None,
              "parent_id": None, "active": True}
    sample.update(values).where(sample.id == a.id).execute()
    assert fast.update_by_pk(sample, b.id, values) == 1
    orm, quick = stored(db, "u-"), stored(db, "w-")
    col = COLUMNS.index("updated_at") * (2 if db.features.name == "sqlite" else 1)
    width = 2 if db.features.name == "sqlite" else 1
    cut = lambda vals: vals[:col] + vals[col + width:]      # noqa: E731 - updated_at: now
    assert cut(quick["a"]) == cut(orm["a"])
    assert quick["a"] != stored(db, "u-")["b"]
    assert sample.get_by_id(b.id).updated_at > T0           # auto_now refreshed
    assert fast.update_by_pk(sample, b.id, qty=8, updated_at=T0) == 1
    assert (sample.get_by_id(b.id).qty, sample.get_by_id(b.id).updated_at) == (8, T0)
    assert fast.update_by_pk(sample, 10 ** 6, qty=1) == 0


def test_update_by_pk_refuses_like_update(db, sample):
    sample.insert_many(rows("r-")).execute()
    row = sample.get(sample.key == "r-a")
    with pytest.raises(store.ValidationError) as orm:
        sample.update(qty=2 ** 40).where(sample.id == row.id).execute()
    with pytest.raises(store.ValidationError) as quick:
        fast.update_by_pk(sample, row.id, qty=2 ** 40)
    assert (quick.value.field, quick.value.reason) == (orm.value.field, orm.value.reason)
    with pytest.raises(store.CheckViolation) as check:
        fast.update_by_pk(sample, row.id, {"qty": -1})
    assert check.value.constraint == "ck_fast_sample_qty_nonneg"
    with pytest.raises(store.UniqueViolation) as unique:
        fast.update_by_pk(sample, row.id, key="r-b")
    assert unique.value.constraint == "uq_fast_sample_key"
    with pytest.raises(store.ForeignKeyViolation) as fk:
        fast.update_by_pk(sample, row.id, parent="NOPE")
    assert fk.value.constraint == "fk_fast_sample_parent_id_fast_parent"
    assert fast.get_by_pk(sample, row.id) == row and \
        fast.get_by_pk(sample, row.id).__data__ == row.__data__      # unchanged
    with pytest.raises(ValueError, match="given twice"):
        fast.update_by_pk(sample, row.id, {"parent": None, "parent_id": None})
    with pytest.raises(ValueError, match="unrecognized"):
        fast.update_by_pk(sample, row.id, colour=1)


def test_unbound_model_refused():
    class Loose(store.Model):
        name = store.TextField()
    with pytest.raises(store.ConfigError, match="not bound"):
        fast.get_by_pk(Loose, 1)


def test_statements_survive_reconnect(db, sample):
    """The reused cursor belongs to a connection: after close/connect the
    fast paths run on the new connection."""
    fast.bulk_insert(sample, rows("c-"), copy=False)
    row = sample.get(sample.key == "c-a")
    assert fast.get_by_pk(sample, row.id) == row
    db.close()
    db.connect()
    assert fast.update_by_pk(sample, row.id, qty=9) == 1
    assert fast.get_by_pk(sample, row.id).qty == 9
    assert fast.bulk_insert(sample, [{"key": "c-new"}]) == 1


def test_fetch_equals_list_of_query(db, sample):
    sample.insert_many(rows("f-", 9)).execute()
    query = sample.select().where(sample.qty > 2).order_by(sample.key.desc()).limit(5)
    quick, orm = fast.fetch(query), list(query)
    assert len(orm) == 5 and [o.key for o in orm] == sorted((o.key for o in orm), reverse=True)
    assert quick == orm
    assert [q.__data__ for q in quick] == [o.__data__ for o in orm]
    assert fast.fetch(sample.select().where(sample.key == "none")) == []
    # other shapes run as list(query): same result, whatever it is
    dicts = sample.select(sample.key).where(sample.qty > 2).order_by(sample.key).dicts()
    assert fast.fetch(dicts) == list(dicts) and isinstance(fast.fetch(dicts)[0], dict)
    joined = sample.select().join(FastParent).order_by(sample.key)
    assert [j.__data__ for j in fast.fetch(joined)] == [j.__data__ for j in joined]
