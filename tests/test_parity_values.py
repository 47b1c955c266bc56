"""The value half of the differential parity harness (issue 13), and one test
per difference it found: each fixed one (made identical, or refused the same
way before the database is touched) and each documented one, on both backends.

Default run: ``VALUES_PER_TYPE`` generated values of every store field type
through every write path on SQLite and PostgreSQL, zero undocumented
differences. Long mode, ``STORE_PARITY_LONG=1`` (``STORE_PARITY_VALUES``,
default 10,000 values per type; ``STORE_PARITY_SEED``)::

    STORE_PARITY_LONG=1 python -m pytest -q -p no:cacheprovider -s tests/test_parity_values.py

prints the counts by field type and outcome.
"""
from __future__ import annotations

import datetime as dt
import os
import struct
import sys
import uuid
from decimal import Decimal
from urllib.parse import quote

import psycopg
import pytest

import store
from store import fast
from store.fields import MAX_JSON_DEPTH, TIMESTAMP_MAX, TIMESTAMP_MIN

from parity import BY_ID, DOCUMENTED, Outcome, same
from parity.values import PATHS, run_values

LONG = os.environ.get("STORE_PARITY_LONG", "") not in ("", "0")
VALUES_PER_TYPE = int(os.environ.get("STORE_PARITY_VALUES", 10_000 if LONG else 200))
SEED = int(os.environ.get("STORE_PARITY_SEED", 20261202))
UTC = dt.timezone.utc
#: PostgreSQL sessions of the harness run in a zone west of UTC (a year-1
#: timestamp there is a BC time) and do not wait for the WAL on commit.
PG_OPTIONS = "-ctimezone=America/St_Johns -csynchronous_commit=off"


@pytest.fixture
def schema_url(pg_database):
    """``make(options)``: a URL of a fresh PostgreSQL schema (dropped after)."""
    made = []

    def make(options=""):
        schema = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        made.append(schema)
        return f"{pg_database}?options=" + quote(f"-csearch_path={schema} {options}".strip())
    yield make
    with psycopg.connect(pg_database, autocommit=True) as conn:
        for schema in made:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# --- the harness --------------------------------------------------------------------

def test_every_field_type_on_every_path_has_no_undocumented_difference(tmp_path, schema_url):
    urls = {"sqlite": f"sqlite:///{tmp_path / 'parity.db'}",
            "postgresql": schema_url(PG_OPTIONS)}
    report = run_values(VALUES_PER_TYPE, SEED, urls)
    if LONG:
        print()
        print(report.table(limit=50))
    assert report.total(Outcome.IDENTICAL) > 0
    assert report.total(Outcome.REFUSED_IDENTICALLY) > 0
    assert not report.undocumented, report.table(limit=10)


def test_same_is_type_exact():
    assert same(1, 1) and not same(1, 1.0) and not same(1, True)
    assert not same(0.0, -0.0) and same(float("nan"), float("nan"))
    nan_payload = struct.unpack("<d", bytes.fromhex("010000000000f87f"))[0]
    assert not same(float("nan"), nan_payload)
    assert not same(Decimal("1.10"), Decimal("1.1")) and same(Decimal("1.10"), Decimal("1.10"))
    t = dt.datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert not same(t, t.astimezone(dt.timezone(dt.timedelta(hours=2))))
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not same([1, [2.0]], [1, [2]]) and same([1, {"k": [None]}], [1, {"k": [None]}])


def test_documented_registry_is_complete():
    for entry in DOCUMENTED:
        assert entry.readme and entry.test.startswith("tests/")
        name = entry.test.split("::")[1]
        assert name in globals(), entry.test


# --- writing one value by one path -----------------------------------------------------

class PvRow(store.Model):
    f = store.FloatField(null=True)
    d = store.DoubleField(null=True)
    c = store.CharField(max_length=10, null=True)
    t = store.TextField(null=True)
    j = store.JSONField(null=True)
    ts = store.DateTimeTZField(null=True)


class PvKey(store.Model):
    id = store.AutoField()
    note = store.TextField(null=True)


class PvBigKey(store.Model):
    id = store.BigAutoField()


def write(db, path, model, name, value):
    """Write ``value`` to ``model.name`` by ``path``; return the row's key."""
    if path == "bulk_insert_copy" and db.features.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    row = {name: value}
    key = model._meta.primary_key
    if path == "create":
        return model.create(**row)._pk
    if path in ("insert_many", "bulk_insert", "bulk_insert_copy"):
        if path == "insert_many":
            model.insert_many([row]).execute()
        else:
            fast.bulk_insert(model, [row], copy=path == "bulk_insert_copy")
        if name == key.name:
            return int(value)
        return model.select(key).order_by(key.desc()).scalar()
    pk = model.create()._pk
    if path == "update":
        model.update({name: value}).where(model._meta.primary_key == pk).execute()
    elif path == "save":
        instance = model.get_by_id(pk)
        setattr(instance, name, value)
        instance.save()
    else:
        fast.update_by_pk(model, pk, {name: value})
    return pk


def read(model, pk, name, exact=True):
    orm = model.get_by_id(pk).__data__[name]
    quick = fast.get_by_pk(model, pk).__data__[name]
    assert same(orm, quick) if exact else orm == quick
    return orm


def raw_text(db, model, name, pk):
    column = "%s::text" % name if db.features.name == "postgresql" else name
    return db.execute_sql(f'SELECT {column} FROM "{model._meta.table_name}" WHERE id = '
                          f'{int(pk)}').fetchone()[0]


@pytest.fixture
def rows(db, tables):
    tables(PvRow, PvKey, PvBigKey)
    return db


# --- FloatField / DoubleField ---------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", ["f", "d"])
@pytest.mark.parametrize("value", [-0.0, "-0", Decimal("-0")], ids=["float", "str", "decimal"])
def test_negative_zero_float_reads_back_zero_on_both(rows, path, name, value):
    """SQLite stores a zero without its sign, PostgreSQL kept -0.0: written
    as 0.0 on both now."""
    pk = write(rows, path, PvRow, name, value)
    back = read(PvRow, pk, name)
    assert same(back, 0.0)


@pytest.mark.parametrize("value", [float("inf"), -float("inf"), -0.0, 1.5])
def test_float_server_default_is_a_literal_on_both(rows, value):
    """``FloatField(server_default=inf)`` rendered ``DEFAULT inf``, which is
    no SQL literal on either backend."""
    class PvDefault(store.Model):
        x = store.FloatField(server_default=value)
        y = store.DoubleField(server_default=value)
    rows.bind_models([PvDefault])
    rows.create_tables([PvDefault])
    rows.execute_sql('INSERT INTO "pv_default" (id) VALUES (1)')
    row = PvDefault.get_by_id(1)
    expected = 0.0 if value == 0 else value
    assert same(row.x, expected) and same(row.y, expected)


def test_float_server_default_nan_is_refused(rows):
    class PvNan(store.Model):
        x = store.FloatField(server_default=float("nan"))
    rows.bind_models([PvNan])
    with pytest.raises(store.ValidationError) as info:
        rows.create_tables([PvNan])
    assert info.value.field == "pv_nan.x"


# --- text: lone surrogates --------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name,value", [("c", "a\ud800"), ("t", "\udfff"),
                                        ("t", "\ud83d\ude00"), ("j", {"k": "\ud800"}),
                                        ("j", {"\udfff": 1}), ("j", "x\ud800")])
def test_lone_surrogate_is_refused_the_same_on_both(rows, path, name, value):
    """A str holding a surrogate code point is no UTF-8: it raised the
    driver's UnicodeEncodeError for text, and for JSON SQLite stored it while
    PostgreSQL refused it (DataError)."""
    with pytest.raises(store.ValidationError) as info:
        write(rows, path, PvRow, name, value)
    assert info.value.field == f"pv_row.{name}"
    assert "surrogate" in info.value.reason


# --- JSONField ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
def test_json_non_ascii_is_stored_as_itself(rows, path):
    """SQLite stored ``{"\\u00e9": 1}`` (the key escaped); JSON path queries and
    other programs see the character itself now, as on PostgreSQL."""
    pk = write(rows, path, PvRow, "j", {"\u00e9": "\U0001F600"})
    text = raw_text(rows, PvRow, "j", pk)
    assert "\u00e9" in text and "\U0001F600" in text and "\\u" not in text
    assert same(read(PvRow, pk, "j"), {"\u00e9": "\U0001F600"})
    assert PvRow.select().where(PvRow.j["\u00e9"] == "\U0001F600").count() == 1


@pytest.mark.parametrize("path", PATHS)
def test_json_keys_read_back_in_the_same_order_on_both(rows, path):
    """JSONB orders keys (shorter first, then bytewise); SQLite kept the
    written order. store writes JSONB's order on both."""
    doc = {"b": 1, "aa": {"zz": 0, "y": 1}, "a": [{"\u00e9": 1, "e": 2}], "": None}
    pk = write(rows, path, PvRow, "j", doc)
    back = read(PvRow, pk, "j")
    assert same(back, {"": None, "a": [{"e": 2, "\u00e9": 1}], "b": 1, "aa": {"y": 1, "zz": 0}})


@pytest.mark.parametrize("path", PATHS)
def test_json_negative_zero_reads_back_zero_on_both(rows, path):
    """JSONB has no negative zero (-0.0 read back 0.0); SQLite kept -0.0."""
    pk = write(rows, path, PvRow, "j", {"v": [-0.0, 0.0, -0.5]})
    assert same(read(PvRow, pk, "j"), {"v": [0.0, 0.0, -0.5]})
    pk = write(rows, path, PvRow, "j", -0.0)
    assert same(read(PvRow, pk, "j"), 0.0)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("doc", [{1: "a", "1": "b"}, {True: 1, "true": 2},
                                 {"k": [{None: 1, "null": 2}]}])
def test_json_keys_written_alike_are_refused_on_both(rows, path, doc):
    """JSON writes ``1`` and ``"1"`` as the same key: JSONB kept the last,
    SQLite stored both."""
    with pytest.raises(store.ValidationError) as info:
        write(rows, path, PvRow, "j", doc)
    assert info.value.field == "pv_row.j" and "duplicate" in info.value.reason


@pytest.mark.parametrize("path", PATHS)
def test_json_non_string_keys_are_written_as_json_writes_them(rows, path):
    pk = write(rows, path, PvRow, "j", {2: "a", None: "b", 1.5: "c", False: "d"})
    assert same(read(PvRow, pk, "j"), {"2": "a", "1.5": "c", "null": "b", "false": "d"})


def _deep(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("path", PATHS)
def test_json_nesting_depth_is_limited_the_same_on_both(rows, path):
    """Up to MAX_JSON_DEPTH levels read back on both (with Python's default
    recursion limit); deeper is refused before the database is touched
    (SQLite refused 2,000 levels, PostgreSQL took them, Python's json could
    not read 1,000 back)."""
    assert sys.getrecursionlimit() <= 1000 + 500      # not raised by the test run
    pk = write(rows, path, PvRow, "j", _deep(MAX_JSON_DEPTH))
    assert read(PvRow, pk, "j", exact=False) == _deep(MAX_JSON_DEPTH)
    for depth in (MAX_JSON_DEPTH + 1, 2001, 5000):
        with pytest.raises(store.ValidationError) as info:
            write(rows, path, PvRow, "j", _deep(depth))
        assert info.value.field == "pv_row.j" and "nested deeper" in info.value.reason


@pytest.mark.parametrize("path", PATHS)
def test_documented_json_big_float(rows, path):
    """Documented (json-big-float): an integral float >= 1e16 reads back from
    PostgreSQL as the equal int; SQLite gives the float back."""
    entry = BY_ID["json-big-float"]
    doc = {"big": 1e16, "neg": -3e20, "odd": 1.5e300, "small": 1e15}
    assert entry.predicate("json", doc, path)
    pk = write(rows, path, PvRow, "j", doc)
    back = read(PvRow, pk, "j")
    if rows.features.name == "postgresql":
        assert same(back, {"big": 10 ** 16, "neg": -3 * 10 ** 20,
                           "odd": 15 * 10 ** 299, "small": 1e15})
        assert float(back["odd"]) == 1.5e300
    else:
        assert same(back, doc)
    assert entry.explains(("ok", doc), ("ok", {"big": 10 ** 16, "neg": -3 * 10 ** 20,
                                                "odd": 15 * 10 ** 299, "small": 1e15}))


# --- DateTimeTZField ----------------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("value", [dt.datetime(1, 1, 1, tzinfo=UTC),
                                   dt.datetime(1, 1, 1, 23, 59, 59, 999999, tzinfo=UTC),
                                   dt.datetime(9999, 12, 31, tzinfo=UTC),
                                   dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                                   "0001-01-01T00:00:00+00:00"])
def test_timestamp_outside_the_readable_range_is_refused_on_both(rows, path, value):
    """0001-01-01 UTC was stored on both, but PostgreSQL sends it in the
    session's time zone, a BC time west of UTC that psycopg cannot read."""
    with pytest.raises(store.ValidationError) as info:
        write(rows, path, PvRow, "ts", value)
    assert info.value.field == "pv_row.ts" and "outside" in info.value.reason


@pytest.mark.parametrize("zone", ["America/St_Johns", "Pacific/Kiritimati", "Etc/GMT+12",
                                  "Asia/Kathmandu"])
@pytest.mark.parametrize("path", PATHS)
def test_timestamp_range_ends_read_back_in_any_session_time_zone(backend_url, schema_url,
                                                                 path, zone):
    url = backend_url if backend_url.startswith("sqlite") else schema_url(f"-ctimezone={zone}")
    db = store.connect(url)
    try:
        PvRow._meta.schema = None
        db.bind_models([PvRow])
        db.create_tables([PvRow])
        for value in (TIMESTAMP_MIN, TIMESTAMP_MAX):
            pk = write(db, path, PvRow, "ts", value)
            assert same(read(PvRow, pk, "ts"), value)
    finally:
        db.close()


# --- AutoField / BigAutoField ---------------------------------------------------------------

@pytest.mark.parametrize("path", ["create", "insert_many", "bulk_insert", "bulk_insert_copy",
                                  "update", "update_by_pk"])
@pytest.mark.parametrize("model,value", [(PvKey, 2 ** 31), (PvKey, -2 ** 31 - 1),
                                         (PvKey, Decimal("4.5")), (PvKey, 1.5),
                                         (PvKey, "12x"), (PvBigKey, 2 ** 63)])
def test_explicit_key_is_validated_as_its_integer_type(rows, path, model, value):
    """An explicit AutoField value was not validated: SQLite stored 2**31,
    PostgreSQL raised DataError; 1.5 was rounded by PostgreSQL."""
    with pytest.raises(store.ValidationError) as info:
        write(rows, path, model, "id", value)
    assert info.value.field == f"{model._meta.table_name}.id"


@pytest.mark.parametrize("path", ["create", "insert_many", "bulk_insert", "bulk_insert_copy"])
def test_explicit_key_in_range_reads_back_on_both(rows, path):
    for model, value in ((PvKey, 2 ** 31 - 1), (PvKey, "-7"), (PvBigKey, -2 ** 63)):
        pk = write(rows, path, model, "id", value)
        assert same(model.get_by_id(int(value))._pk, int(value)) and int(pk) == int(value)


def test_documented_auto_key_after_explicit_keys(rows):
    """Documented (auto-key-after-explicit-keys): SQLite assigns the largest
    key + 1, PostgreSQL its sequence, which an explicit key does not advance."""
    entry = BY_ID["auto-key-after-explicit-keys"]
    assert entry.predicate("auto", None, "create")
    PvKey.create(id=10)
    assigned = PvKey.create()._pk
    assert assigned == (1 if rows.features.name == "postgresql" else 11)
    assert entry.explains(("ok", 11), ("ok", 1))
    if rows.features.name == "postgresql":
        PvKey.create(id=2)
        with pytest.raises(store.UniqueViolation):
            PvKey.create()


# --- refused the same before: still so (guards, not fixes) ---------------------------------

@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name,value", [("f", "abc"), ("f", float("nan")), ("d", "nan")])
def test_float_non_numbers_and_nan_stay_refused_on_both(rows, path, name, value):
    with pytest.raises(store.ValidationError) as info:
        write(rows, path, PvRow, name, value)
    assert info.value.field == f"pv_row.{name}"


class PvDay(store.Model):
    day = store.DateField(null=True)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("value", ["2020-02-30", "2021-02-29", "2024-13-01", "10000-01-01"])
def test_impossible_dates_stay_refused_on_both(db, tables, path, value):
    tables(PvDay)
    with pytest.raises(store.ValidationError) as info:
        write(db, path, PvDay, "day", value)
    assert info.value.field == "pv_day.day"
