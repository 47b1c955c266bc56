"""Every write path validates the same values the same way, on both backends.

The paths: ``Model.create``, ``Model.insert_many(...).execute()``,
``Model.update(...).execute()``, ``instance.save()``, ``fast.bulk_insert`` by
``executemany`` and by PostgreSQL ``COPY``, ``fast.update_by_pk``. A good
value reads back equal, and of exactly the same type, whichever path wrote
it; a bad one raises ``store.ValidationError`` naming ``table.column`` on
every path, the table keeps its rows, and the connection keeps working (also
inside a caller's transaction, and after a COPY of 1,000 good rows and one
bad one).

Decimal expectations are the Decimals read back through the model, never the
stored representation (which differs between the backends).

The value x path matrices (over a thousand tests) share one database per
backend (``matrix``: the table emptied before each test) instead of a schema
and tables each; the other tests use the ``db`` and ``tables`` fixtures."""
from __future__ import annotations

import datetime as dt
import enum
import uuid
from contextlib import nullcontext
from decimal import Decimal
from urllib.parse import quote

import psycopg
import pytest

import store
from store import fast

UTC = dt.timezone.utc
PLUS2 = dt.timezone(dt.timedelta(hours=2))
MINUS5 = dt.timezone(dt.timedelta(hours=-5))


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class WpParent(store.Model):
    code = store.CharField(max_length=10, primary_key=True)


class WpRow(store.Model):
    """A column of every store field type, all nullable."""
    i = store.IntegerField(null=True)
    si = store.SmallIntegerField(null=True)
    bi = store.BigIntegerField(null=True)
    f = store.FloatField(null=True)
    dbl = store.DoubleField(null=True)
    b = store.BooleanField(null=True)
    c = store.CharField(max_length=10, null=True)
    t = store.TextField(null=True)
    j = store.JSONField(null=True)
    e = store.EnumField(Mood, null=True)
    u = store.UUIDField(null=True)
    ts = store.DateTimeTZField(null=True)
    d = store.DateField(null=True)
    dec = store.DecimalField(10, 2, null=True)
    p = store.ForeignKeyField(WpParent, null=True)


T0 = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
D0 = dt.date(2024, 2, 29)
U1 = uuid.UUID(int=1)
#: A row of good values, as written and as read back (the same here).
GOOD_ROW = dict(i=1, si=2, bi=3, f=0.5, dbl=0.25, b=True, c="c", t="t", j={"k": [1]},
                e=Mood.HAPPY, u=U1, ts=T0, d=D0, dec=Decimal("1.25"), p="P1")
COLUMN = {name: WpRow._meta.fields[name].column_name for name in GOOD_ROW}

# (field, value written, value read back)
GOOD = [
    ("i", 5, 5), ("i", "12", 12), ("i", True, 1), ("i", 3.0, 3), ("i", Decimal("4"), 4),
    ("i", -2 ** 31, -2 ** 31), ("i", 2 ** 31 - 1, 2 ** 31 - 1),
    ("si", 2 ** 15 - 1, 2 ** 15 - 1), ("si", "7", 7),
    ("bi", 2 ** 63 - 1, 2 ** 63 - 1), ("bi", -2 ** 63, -2 ** 63),
    ("f", 1.5, 1.5), ("f", 1, 1.0), ("f", "2.5", 2.5), ("f", Decimal("0.1"), 0.1),
    ("f", float("inf"), float("inf")), ("f", 1e300, 1e300), ("f", 0.1, 0.1),
    ("dbl", 7, 7.0), ("dbl", -0.25, -0.25),
    # BooleanField takes any value by truthiness on every path (peewee's
    # ``bool``), strings included: accepted today, identically everywhere.
    ("b", False, False), ("b", 0, False), ("b", 1, True), ("b", "true", True),
    ("c", "abc", "abc"), ("c", 55, "55"), ("c", b"bytes", "bytes"), ("c", "x" * 10, "x" * 10),
    ("t", "line\n'q' \"dq\" \\ \u00e9 \U0001F600", "line\n'q' \"dq\" \\ \u00e9 \U0001F600"),
    ("t", 55, "55"), ("t", "", ""),
    ("j", {"a": [1, 2.5, None]}, {"a": [1, 2.5, None]}), ("j", [1, "x"], [1, "x"]),
    ("j", "s", "s"), ("j", True, True), ("j", 0, 0),
    ("e", Mood.SAD, Mood.SAD), ("e", "sad", Mood.SAD),
    ("u", uuid.UUID(int=5), uuid.UUID(int=5)), ("u", str(uuid.UUID(int=6)), uuid.UUID(int=6)),
    ("u", uuid.UUID(int=7).bytes, uuid.UUID(int=7)), ("u", uuid.UUID(int=8).hex, uuid.UUID(int=8)),
    ("ts", dt.datetime(2024, 1, 1, 12, tzinfo=PLUS2), dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
    ("ts", "2024-03-01T00:00:00+05:30", dt.datetime(2024, 2, 29, 18, 30, tzinfo=UTC)),
    # DateField: a date; a datetime gives its own date part (time and
    # timezone dropped, nothing converted); strings peewee parses as a date.
    ("d", dt.date(2020, 1, 1), dt.date(2020, 1, 1)),
    ("d", dt.datetime(2020, 1, 1, 23, 30), dt.date(2020, 1, 1)),
    ("d", dt.datetime(2020, 1, 1, 23, 30, tzinfo=MINUS5), dt.date(2020, 1, 1)),
    ("d", "2024-01-31", dt.date(2024, 1, 31)), ("d", "2024-01-31 12:00:00", dt.date(2024, 1, 31)),
    ("d", "2024-01-31T12:00:00", dt.date(2024, 1, 31)),
    ("dec", Decimal("1.5"), Decimal("1.50")), ("dec", 7, Decimal("7.00")),
    ("dec", "-3.1", Decimal("-3.10")), ("dec", Decimal("99999999.99"), Decimal("99999999.99")),
    ("p", "P1", "P1"), ("p", None, None),
]

# (field, bad value): refused with ValidationError on every path
BAD = [
    ("e", "angry"), ("e", "HAPPY"),
    ("u", "not-a-uuid"), ("u", 5),
    ("f", uuid.UUID(int=5)), ("f", "abc"), ("f", float("nan")), ("f", 10 ** 400),
    ("f", dt.date(2020, 1, 1)), ("f", ""),
    ("dbl", "abc"), ("dbl", uuid.UUID(int=5)),
    ("d", 20200101), ("d", "garbage"), ("d", b"2020-01-01"), ("d", dt.time(1, 2)),
    ("i", 2 ** 40), ("i", 1.5), ("i", "12x"), ("si", 2 ** 15), ("bi", 2 ** 63),
    ("t", "a\x00b"), ("c", "x" * 11), ("c", b"\xff"),
    ("ts", dt.datetime(2020, 1, 1)), ("ts", "2020-01-01"),
    ("dec", Decimal("1E+10000")), ("dec", float("nan")), ("dec", "abc"),
    ("dec", Decimal("123456789")),
    ("j", {"v": float("nan")}), ("j", "\x00"),
    ("p", "P" * 11),
]

INSERT_PATHS = ["create", "insert_many", "bulk_insert", "bulk_insert_copy"]
UPDATE_PATHS = ["update", "save", "update_by_pk"]
PATHS = INSERT_PATHS + UPDATE_PATHS


@pytest.fixture
def wp(db, tables):
    tables(WpParent, WpRow)
    WpParent.create(code="P1")
    return WpRow


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shared_db(request, tmp_path_factory):
    """One database per backend for this module's matrices (as ``db``: a
    SQLite file, or a PostgreSQL schema of its own dropped at the end)."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('write_paths') / 'test.db'}"
    else:
        base = request.getfixturevalue("pg_database")
        schema = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{base}?options=" + quote(f"-csearch_path={schema}")
    database = store.connect(url)
    for model in (WpParent, WpRow):
        model._meta.schema = None
    database.bind_models([WpParent, WpRow])
    database.create_tables([WpParent, WpRow])
    yield database
    if not database.is_closed():
        if database.in_transaction():
            database.rollback()
        database.close()
    if schema is not None:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def matrix(shared_db):
    """``shared_db`` with the models bound, ``wp_row`` empty and parent P1."""
    database = shared_db
    try:                                      # a failed test's leftovers
        if database.in_transaction():
            database.rollback()
        database.execute_sql("SELECT 1")
    except Exception:                         # noqa: BLE001 - a lost connection
        database.close()
        database.connect()
    for model in (WpParent, WpRow):
        model._meta.schema = None
    database.bind_models([WpParent, WpRow])   # other tests bind them elsewhere
    WpRow.delete().execute()
    WpParent.insert(code="P1").on_conflict_ignore().execute()
    return database


@pytest.fixture
def sends(monkeypatch):
    """The batches bulk_insert hands to executemany / COPY: {"many": n, "copy": n}."""
    counts = {"many": 0, "copy": 0}
    many, copy = fast._send_many, fast._send_copy

    def spy(kind, send):
        def run(*args):
            counts[kind] += 1
            return send(*args)
        return run
    monkeypatch.setattr(fast, "_send_many", spy("many", many))
    monkeypatch.setattr(fast, "_send_copy", spy("copy", copy))
    return counts


def _needs_copy(db, path):
    if path == "bulk_insert_copy" and db.features.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's")


def write(path, name, value, base=None):
    """Write ``value`` to field ``name`` by ``path``: inserts write two good
    rows and a third carrying the value (bulk inserts in batches of two, so
    the value is in a second batch); updates change row ``base``."""
    row = dict(GOOD_ROW, **{name: value})
    rows = [dict(GOOD_ROW), dict(GOOD_ROW), row]
    if path == "create":
        WpRow.create(**row)
    elif path == "insert_many":
        WpRow.insert_many(rows).execute()
    elif path == "bulk_insert":
        assert fast.bulk_insert(WpRow, rows, batch_size=2, copy=False) == 3
    elif path == "bulk_insert_copy":
        assert fast.bulk_insert(WpRow, rows, batch_size=2, copy=True) == 3
    elif path == "update":
        assert WpRow.update({name: value}).where(WpRow.id == base).execute() == 1
    elif path == "save":
        instance = WpRow.get_by_id(base)
        setattr(instance, name, value)
        assert instance.save() == 1
    elif path == "update_by_pk":
        assert fast.update_by_pk(WpRow, base, {name: value}) == 1
    else:                                       # pragma: no cover
        raise AssertionError(path)


def read(pk):
    data = dict(WpRow.get_by_id(pk).__data__)
    data.pop("id")
    return data


def assert_same(got, expected):
    """Equal, and type for type (1 is not 1.0, '1' is not 1)."""
    assert got == expected
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}
    for key, value in expected.items():
        if isinstance(value, Decimal):          # the field's scale, on every path
            assert got[key].as_tuple().exponent == value.as_tuple().exponent, key
        if isinstance(value, dt.datetime):
            assert got[key].utcoffset() == dt.timedelta(0), key


def connection_works(db, path):
    """The next query, an ORM one and a fast one by the same path kind."""
    assert db.execute_sql("SELECT 1").fetchone()[0] == 1
    before = WpRow.select().count()
    copy = path == "bulk_insert_copy"
    assert fast.bulk_insert(WpRow, [dict(GOOD_ROW)], copy=copy) == 1
    assert WpRow.select().count() == before + 1


def _ids(cases):
    return [f"{case[0]}-{i}" for i, case in enumerate(cases)]


# --- good values: the same back from every path --------------------------------------

@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name,value,expected", GOOD, ids=_ids(GOOD))
def test_good_value_reads_back_the_same_on_every_path(matrix, path, name, value, expected):
    _needs_copy(matrix, path)
    base = WpRow.create(**GOOD_ROW).id if path in UPDATE_PATHS else None
    write(path, name, value, base)
    pk = base if base is not None else WpRow.select(WpRow.id).order_by(WpRow.id.desc()).get().id
    assert_same(read(pk), dict(GOOD_ROW, **{name: expected}))
    assert WpRow.select().count() == (1 if base is not None else 3 if path != "create" else 1)


def test_good_row_reads_back_as_written(db, wp):
    assert_same(read(WpRow.create(**GOOD_ROW).id), GOOD_ROW)


# --- bad values: the same refusal on every path ------------------------------------------

@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name,value", BAD, ids=_ids(BAD))
def test_bad_value_refused_the_same_on_every_path(matrix, sends, path, name, value):
    _needs_copy(matrix, path)
    base = WpRow.create(**GOOD_ROW).id if path in UPDATE_PATHS else None
    before = [read(r.id) for r in WpRow.select().order_by(WpRow.id)]
    with pytest.raises(store.ValidationError) as info:
        write(path, name, value, base)
    assert info.value.field == f"wp_row.{COLUMN[name]}"
    assert sends == {"many": 0, "copy": 0}     # refused before anything was sent
    assert [read(r.id) for r in WpRow.select().order_by(WpRow.id)] == before
    connection_works(matrix, path)


@pytest.mark.parametrize("name,value", BAD, ids=_ids(BAD))
def test_bad_value_error_is_the_same_on_every_path(matrix, name, value):
    """Not only the column: the same reason, whichever path refused it."""
    base = WpRow.create(**GOOD_ROW).id
    errors = {}
    for path in PATHS:
        if path == "bulk_insert_copy" and matrix.features.name != "postgresql":
            continue
        with pytest.raises(store.ValidationError) as info:
            write(path, name, value, base)
        errors[path] = (info.value.field, info.value.reason)
    assert len(set(errors.values())) == 1, errors
    assert WpRow.select().count() == 1


@pytest.mark.parametrize("path", PATHS)
def test_bad_values_inside_callers_transaction(db, wp, path):
    """Each refusal leaves the caller's transaction usable: what it wrote
    before and after is committed, nothing of the refused writes."""
    _needs_copy(db, path)
    with db.atomic():
        base = WpRow.create(**GOOD_ROW).id
        for name, value in BAD:
            with pytest.raises(store.ValidationError) as info:
                write(path, name, value, base)
            assert info.value.field == f"wp_row.{COLUMN[name]}"
        write(path, "i", 42, base)
    rows = list(WpRow.select().order_by(WpRow.id))
    if path in UPDATE_PATHS:
        assert len(rows) == 1 and read(base) == dict(GOOD_ROW, i=42)
    else:
        assert len(rows) == 1 + (1 if path == "create" else 3)
        assert rows[-1].i == 42
    connection_works(db, path)


# --- 1,000 good rows and one bad one (COPY on PostgreSQL) --------------------------------

THOUSAND_BAD = [
    ("e", "angry"), ("u", "not-a-uuid"), ("i", 2 ** 40), ("ts", dt.datetime(2020, 1, 1)),
    ("dec", Decimal("1E+10000")), ("f", uuid.UUID(int=5)), ("d", 20200101),
    ("u", "x" * 20_000),                        # an error message longer than CopyFail's limit
]


@pytest.mark.parametrize("inside", [False, True], ids=["autocommit", "in_atomic"])
@pytest.mark.parametrize("name,value", THOUSAND_BAD, ids=_ids(THOUSAND_BAD))
def test_thousand_good_rows_and_one_bad(db, wp, sends, name, value, inside):
    """``bulk_insert`` with no ``copy`` argument picks COPY on PostgreSQL from
    ``COPY_THRESHOLD`` rows on; the bad row refuses the whole call."""
    assert 1001 >= fast.COPY_THRESHOLD
    rows = [dict(GOOD_ROW, i=n) for n in range(1000)] + [dict(GOOD_ROW, **{name: value})]
    with db.atomic() if inside else nullcontext():
        first = WpRow.create(**GOOD_ROW).id
        with pytest.raises(store.ValidationError) as info:
            fast.bulk_insert(WpRow, rows)
        assert info.value.field == f"wp_row.{COLUMN[name]}"
        assert WpRow.select().count() == 1
        assert db.execute_sql("SELECT 1").fetchone()[0] == 1
        assert fast.bulk_insert(WpRow, rows[:1000]) == 1000     # same connection, COPY again
    assert WpRow.select().count() == 1001
    assert sorted(r.i for r in WpRow.select().where(WpRow.id != first)) == list(range(1000))
    postgres = db.features.name == "postgresql"
    assert sends == {"many": 0 if postgres else 1, "copy": 1 if postgres else 0}


@pytest.mark.parametrize("inside", [False, True], ids=["autocommit", "in_atomic"])
def test_error_while_copy_streams_ends_copy_and_keeps_connection(db, wp, monkeypatch, inside):
    """An error raised while COPY is open (here by the driver, with a message
    over PostgreSQL's 10,000-byte CopyFail limit) ends the COPY, rolls back,
    is raised as it was, and leaves the connection usable."""
    if db.features.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    write_row = psycopg.Copy.write_row
    calls = []

    def failing(self, row):
        calls.append(1)
        if len(calls) == 500:
            raise RuntimeError("driver refused a row: " + "x" * 20_000)
        return write_row(self, row)

    rows = [dict(GOOD_ROW, i=n) for n in range(1000)]
    with db.atomic() if inside else nullcontext():
        first = WpRow.create(**GOOD_ROW).id
        monkeypatch.setattr(psycopg.Copy, "write_row", failing)
        with pytest.raises(RuntimeError, match="driver refused a row") as info:
            fast.bulk_insert(WpRow, rows, copy=True)
        assert len(str(info.value)) > 20_000
        monkeypatch.setattr(psycopg.Copy, "write_row", write_row)
        assert WpRow.select().count() == 1
        assert fast.bulk_insert(WpRow, rows, copy=True) == 1000
        assert fast.update_by_pk(WpRow, first, i=-1) == 1
    assert WpRow.select().count() == 1001
    assert WpRow.get_by_id(first).i == -1
