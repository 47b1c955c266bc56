"""The VALUE half of the differential harness: generated values of every
store field type, written through every write path on SQLite and
PostgreSQL, read back and compared type-exactly.

``run_values(n_per_type, seed, urls)`` makes one table per field kind (a field
type with its kwargs) on each backend (a SQLite file, a PostgreSQL schema),
writes ``n_per_type`` values of each field type (shared by its kinds) by each
path (``create``, ``insert_many``, ``update``, ``save``, ``fast.bulk_insert`` by
executemany, by COPY (PostgreSQL), ``fast.update_by_pk``),
reads every row back (``Model.select()`` and ``fast.fetch``, which must agree)
and classifies each value (``parity.Outcome``): identical on every path of
both backends; refused identically (the same ``store.ValidationError``, or the
same ``store.ConstraintViolation`` from the database); a documented
difference (``parity.DOCUMENTED``); anything else is undocumented.

Values are seeded (``random.Random``), half from a list of edge cases per kind
and half random, so a failure is reproduced by its seed. Values equal
type-exactly are written once and counted for each occurrence. The two
backends run side by side (a thread each, with models of their own). Batch paths send the
values the ``create`` path accepted in batches (falling back to one value per
call when a batch is refused) and the others one by one, so that each value
gets its own outcome on every path.
"""
from __future__ import annotations

import datetime as dt
import enum
import random
import struct
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

import peewee

import store
from store import fast
from store.errors import ConstraintViolation, StoreError, ValidationError

from . import Outcome, documented_for, same

INSERT_PATHS = ("create", "insert_many", "bulk_insert", "bulk_insert_copy")
UPDATE_PATHS = ("update", "save", "update_by_pk")
PATHS = INSERT_PATHS + UPDATE_PATHS
BATCH = 250
UTC = dt.timezone.utc


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"
    EMPTY = ""
    ACCENT = "caf\u00e9"


class OtherMood(enum.Enum):
    HAPPY = "happy"


class StrMood(str, enum.Enum):
    SAD = "sad"


# --- generators ------------------------------------------------------------------------

_ALPHABET = ("a", "Z", "0", " ", "\t", "\n", "\r", "'", '"', "\\", "%", "_", "/", "\u00e9",
             "e\u0301", "\u00df", "\u0130", "\u03a3", "\u4e2d", "\U0001F600", "\U0001F1EB",
             "\u200b", "\u2028", "\ufeff", "\uffff", "\x01", "\x7f", "\x00", "\ud800",
             "\udfff", "{", "[", ":", ",", "$", ".", "*")


def _rand_text(rng, max_len=14, bad=True):
    alphabet = _ALPHABET if bad and rng.random() < 0.2 else _ALPHABET[:-3]
    if not bad:
        alphabet = tuple(c for c in _ALPHABET if c not in ("\x00", "\ud800", "\udfff"))
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_len)))


def _rand_float(rng):
    r = rng.random()
    if r < 0.3:
        return struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
    if r < 0.6:
        return rng.uniform(-1e6, 1e6)
    if r < 0.8:
        return float(rng.randint(-2 ** 60, 2 ** 60))
    return rng.choice([0.1, 0.2, 1 / 3, 2 / 3, 1e-7, 123456.789, -2.5, 1e15 + 0.5, 2 ** 53 + 0.0])


def _pick(rng, edges, random_value):
    return rng.choice(edges) if rng.random() < 0.5 else random_value(rng)


def _integer_gen(low, high):
    edges = [0, 1, -1, low, high, low - 1, high + 1, 2 ** 31, -2 ** 31 - 1, 2 ** 63, -2 ** 63 - 1,
             2 ** 64, 10 ** 30, True, False, 3.0, -0.0, 1.5, float("nan"), float("inf"),
             1e300, Decimal("4"), Decimal("4.0"), Decimal("4.5"), Decimal("-0"),
             Decimal("NaN"), Decimal("1E+3"), "12", " 12 ", "-7", "12x", "", "1e3", "1.0",
             "\u0663", "1_000", b"12", None, [1], {}, uuid.UUID(int=1), dt.date(2020, 1, 1),
             float(high), float(low), str(high), str(high + 1)]

    def rand(rng):
        r = rng.random()
        if r < 0.7:
            return rng.randint(low, high)
        if r < 0.8:
            return rng.randint(low * 4, high * 4)
        if r < 0.9:
            return str(rng.randint(low, high))
        return float(rng.randint(-2 ** 20, 2 ** 20))
    return lambda rng: _pick(rng, edges, rand)


_FLOAT_EDGES = [0.0, -0.0, float("nan"), -float("nan"), float("inf"), -float("inf"),
                struct.unpack("<d", bytes.fromhex("010000000000f87f"))[0],   # NaN payload
                5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                -1.7976931348623157e308, 1e16, 1e300, 0.1, 1 / 3, 1, 0, -1, 2 ** 53 + 1,
                10 ** 400, -10 ** 400, True, False, Decimal("0.1"), Decimal("NaN"),
                Decimal("sNaN"), Decimal("-0"), Decimal("1e400"), Decimal("1e-400"),
                "1.5", " 1.5 ", "nan", "inf", "-inf", "Infinity", "-0", "-0.0", "1e400",
                "abc", "", "0x10", "1_0", b"1.5", None, dt.date(2020, 1, 1),
                uuid.UUID(int=5), [1.0], complex(1, 0)]


def _float_gen():
    return lambda rng: _pick(rng, _FLOAT_EDGES, _rand_float)


_BOOL_EDGES = [True, False, 0, 1, 2, -1, 0.0, -0.0, float("nan"), "", "false", "true", "0",
               "no", [], {}, [0], None, Decimal("0"), Decimal("0.0"), b"", b"\x00"]


def _bool_gen():
    return lambda rng: _pick(rng, _BOOL_EDGES, lambda r: r.choice([True, False, None]))


def _text_gen(max_length=None):
    edges = ["", " ", "a", "a ", " a", "x" * 10, "x" * 11, "\U0001F600" * 10, "\U0001F600" * 11,
             "\u00e9" * 10, "e\u0301" * 5, "e\u0301" * 6, "\x00", "a\x00b", "\ud800", "a\udfffb",
             "\ud83d\ude00", "\r\n", "\u2028", "\ufeff", "'; DROP TABLE x; --", "NULL",
             "\\", "%_", 55, 5.5, True, b"bytes", b"\xff", bytearray(b"ab"), None,
             Decimal("1.10"), uuid.UUID(int=3), dt.date(2020, 1, 1), ["a"], "\u0130" * 10]
    if max_length is None:
        edges += ["y" * 5000, "\U0001F600" * 3000]

    def rand(rng):
        text = _rand_text(rng, (max_length or 12) + 2)
        return text
    return lambda rng: _pick(rng, edges, rand)


def _deep(depth, leaf=1, kind="list"):
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


_JSON_EDGES = [
    {}, [], "", 0, 1, -1, 0.0, -0.0, 1.5, True, False, "s", {"a": None}, [None],
    {"b": 1, "a": 2}, {"aa": 1, "b": 2}, {"\u00e9": 1}, {"e\u0301": 1, "\u00e9": 2},
    {"\U0001F600": "\U0001F600"}, {"": ""}, {"k": "\u2028\ufeff"}, {"k": "\ud800"},
    {"\udfff": 1}, ["\ud83d\ude00"], {"k": "\x00"}, {"k": "\\u0000"}, {"k": "\x01\x1f"},
    {1: "a"}, {1: "a", "1": "b"}, {True: 1, "true": 2}, {None: 1}, {1.5: 1},
    {"a": {"c": 1, "b": 2}, "B": [{"z": 0, "y": -0.0}]}, [1, 1.0, True, "1"],
    2 ** 63 - 1, 2 ** 63, -2 ** 63 - 1, 2 ** 64, 10 ** 30, -10 ** 30, 10 ** 4000,
    1e16, -1e16, 1e300, 5e-324, 1e-7, 0.1, 123456789012345678.0, 2 ** 53 + 0.0,
    float("nan"), float("inf"), {"v": float("-inf")}, (1, 2), {"t": (1, "a")},
    {1, 2}, b"bytes", dt.date(2020, 1, 1), Decimal("1.5"), {"k": Mood.HAPPY},
    _deep(10), _deep(100), _deep(255, kind="dict"), _deep(256), _deep(500), _deep(999),
    _deep(1000), _deep(1001), _deep(3000),
]


def _json_scalar(rng):
    r = rng.random()
    if r < 0.2:
        return _rand_text(rng, 8)
    if r < 0.4:
        return rng.randint(-2 ** 70, 2 ** 70) if rng.random() < 0.2 else rng.randint(-1000, 1000)
    if r < 0.7:
        return _rand_float(rng)
    if r < 0.85:
        return rng.choice([True, False, None])
    return rng.choice(_JSON_EDGES[:40])


def _json_value(rng, depth=0):
    r = rng.random()
    if depth > 4 or r < 0.4:
        return _json_scalar(rng)
    if r < 0.7:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    out = {}
    for _ in range(rng.randint(0, 5)):
        key = _rand_text(rng, 6) if rng.random() < 0.9 else rng.choice([1, "1", True, None])
        out[key] = _json_value(rng, depth + 1)
    return out


def _json_gen():
    return lambda rng: _pick(rng, _JSON_EDGES, _json_value)


_ENUM_EDGES = [Mood.HAPPY, Mood.SAD, Mood.EMPTY, Mood.ACCENT, "happy", "sad", "", "caf\u00e9",
               "cafe\u0301", "HAPPY", "Happy", "angry", OtherMood.HAPPY, StrMood.SAD, 1, None,
               ["happy"], {}, b"happy", "happy ", "\x00"]


def _enum_gen():
    return lambda rng: _pick(rng, _ENUM_EDGES, lambda r: r.choice(list(Mood)))


def _uuid_gen():
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    edges = [u, str(u), str(u).upper(), "{%s}" % u, "urn:uuid:%s" % u, u.hex, u.bytes, u.bytes[:15],
             u.int, uuid.UUID(int=0), uuid.UUID(int=2 ** 128 - 1), "not-a-uuid", "", None,
             " %s " % u, u.hex + "0", b"x" * 36, uuid.uuid1(node=1, clock_seq=1)]

    def rand(rng):
        value = uuid.UUID(int=rng.getrandbits(128))
        return rng.choice([value, str(value), value.hex, value.bytes])
    return lambda rng: _pick(rng, edges, rand)


_ZONES = [UTC, dt.timezone(dt.timedelta(hours=14)), dt.timezone(dt.timedelta(hours=-12)),
          dt.timezone(dt.timedelta(hours=5, minutes=45)),
          dt.timezone(dt.timedelta(hours=23, minutes=59)),
          dt.timezone(dt.timedelta(hours=-23, minutes=-59, seconds=-59, microseconds=-1)),
          dt.timezone(dt.timedelta(seconds=-17762))]


def _zones():
    try:
        from zoneinfo import ZoneInfo
        return _ZONES + [ZoneInfo("America/St_Johns"), ZoneInfo("Asia/Kathmandu"),
                         ZoneInfo("Europe/Amsterdam")]
    except Exception:                                      # noqa: BLE001 - no tz data
        return list(_ZONES)


def _timestamp_gen():
    zones = _zones()
    edges = [dt.datetime(1, 1, 1, tzinfo=UTC), dt.datetime(1, 1, 1, 23, 59, tzinfo=UTC),
             dt.datetime(1, 1, 2, tzinfo=UTC), dt.datetime(1, 1, 3, tzinfo=UTC),
             dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
             dt.datetime(9999, 12, 30, tzinfo=UTC), dt.datetime(9999, 12, 29, tzinfo=UTC),
             dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
             dt.datetime(1, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=5))),
             dt.datetime(9999, 12, 31, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
             dt.datetime(1970, 1, 1, tzinfo=UTC), dt.datetime(2024, 2, 29, 12, tzinfo=UTC),
             dt.datetime(2020, 1, 1), "2020-01-01", "2020-01-01T00:00:00Z",
             "2020-01-01T00:00:00+05:30", "2020-01-01 00:00:00.123456+00:00",
             "2020-02-30T00:00:00+00:00", "garbage", "", 1577836800, dt.date(2020, 1, 1),
             None, dt.datetime(2021, 11, 7, 1, 30, fold=1, tzinfo=zones[-1])]

    def rand(rng):
        seconds = rng.randint(-62135596800 + 86400 * 3, 253402300799 - 86400 * 3)
        value = dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(
            seconds=seconds, microseconds=rng.randint(0, 999999))
        zone = rng.choice(zones)
        try:
            return value.astimezone(zone)
        except (OverflowError, ValueError):
            return value
    return lambda rng: _pick(rng, edges, rand)


def _date_gen():
    edges = [dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2024, 2, 29), dt.date(1970, 1, 1),
             dt.datetime(2020, 1, 1, 23, 30), dt.datetime(2020, 1, 1, 23, 30, tzinfo=UTC),
             dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5))),
             "2020-02-30", "2020-02-29", "2021-02-29", "2024-01-31 12:00:00",
             "2024-01-31T12:00:00", "2024-01-31T12:00:00+05:00", "2024-01-31 12:00:00.5",
             " 2024-01-31", "20240131", "2024-1-5", "0000-01-01", "10000-01-01", "0001-01-01",
             "9999-12-31", "2024-13-01", "2024-00-10", "garbage", "", 20200101, b"2020-01-01",
             dt.time(1, 2), None, 1.5]

    def rand(rng):
        day = dt.date(1, 1, 1) + dt.timedelta(days=rng.randint(0, 3652058))
        r = rng.random()
        if r < 0.6:
            return day
        if r < 0.8:
            return day.isoformat()
        return "%04d-%02d-%02d" % (day.year, rng.randint(1, 12), rng.randint(1, 31))
    return lambda rng: _pick(rng, edges, rand)


def _decimal_gen(max_digits, places):
    top = Decimal(10) ** (max_digits - places)
    unit = Decimal(1).scaleb(-places)
    edges = [Decimal("0"), Decimal("-0"), Decimal("-0.001"), Decimal("0.005"), Decimal("-0.005"),
             Decimal("1.005"), Decimal("-1.005"), Decimal("1.10"), Decimal("1.1"),
             top - unit, -(top - unit), top, top - unit / 2, top - unit / 3,
             Decimal("1E+7"), Decimal("1e-30"), Decimal("NaN"), Decimal("sNaN"),
             Decimal("Infinity"), Decimal("-Infinity"), Decimal("1E+10000"), 0.1, 1.005,
             -0.0, float("nan"), float("inf"), 1e16, 7, True, "1.5", " 1.5 ", "1_000", "abc",
             "", "1e2", None, [1], b"1.5"]

    def rand(rng):
        digits = rng.randint(1, max_digits + 2)
        number = Decimal(rng.randint(-10 ** digits, 10 ** digits)).scaleb(
            -rng.randint(0, places + 3))
        r = rng.random()
        if r < 0.7:
            return number
        if r < 0.85:
            return str(number)
        return float(number)
    return lambda rng: _pick(rng, edges, rand)


PARENT_CODES = ["P0", "P1", "55", "\u00e9", "x" * 10]


def _fk_gen():
    edges = PARENT_CODES + ["P2", "", "x" * 11, 55, None, b"P1", "p1", "P1 "]
    return lambda rng: _pick(rng, edges, lambda r: r.choice(PARENT_CODES + ["Q%d" % r.randint(0, 9)]))


# --- the kinds -------------------------------------------------------------------------

def parent_model():
    """The table the ForeignKeyField kind refers to (a fresh model per run of
    a backend: models are bound to one database at a time)."""
    return type("PvParent", (store.Model,), {
        "__module__": __name__, "code": store.CharField(max_length=10, primary_key=True),
        "Meta": type("Meta", (), {"table_name": "pv_parent"})})


@dataclass
class Kind:
    name: str            # table pv_<name>; the field kind documented entries see
    type_name: str       # the store field class it exercises
    make: Callable       # () -> the field (column ``v``)
    base: Any            # the value of the rows updated by the update paths
    gen: Callable        # (rng) -> a value
    checks: tuple = ()
    pk: bool = False     # the column under test is the primary key
    model: Any = None


def _no_none(gen):
    def no_none(rng):
        value = gen(rng)
        return 0 if value is None else value
    return no_none


def kinds(parent=None):
    """Every store field type with the kwargs that matter (fresh models; the
    ForeignKeyField kind refers to ``parent``, made if not given)."""
    parent = parent or parent_model()
    out = [
        Kind("integer", "IntegerField", lambda: store.IntegerField(null=True), 0,
             _integer_gen(-2 ** 31, 2 ** 31 - 1)),
        Kind("integer_check", "IntegerField", lambda: store.IntegerField(), 0,
             _integer_gen(-2 ** 31, 2 ** 31 - 1), checks=(("v_not_13", "v <> 13"),)),
        Kind("smallint", "SmallIntegerField", lambda: store.SmallIntegerField(null=True), 0,
             _integer_gen(-2 ** 15, 2 ** 15 - 1)),
        Kind("bigint", "BigIntegerField", lambda: store.BigIntegerField(null=True), 0,
             _integer_gen(-2 ** 63, 2 ** 63 - 1)),
        # a key the database assigns (None) is not a written value: left out
        Kind("auto", "AutoField", lambda: store.AutoField(), None,
             _no_none(_integer_gen(-2 ** 31, 2 ** 31 - 1)), pk=True),
        Kind("bigauto", "BigAutoField", lambda: store.BigAutoField(), None,
             _no_none(_integer_gen(-2 ** 63, 2 ** 63 - 1)), pk=True),
        Kind("float", "FloatField", lambda: store.FloatField(null=True), 0.0, _float_gen()),
        Kind("double", "DoubleField", lambda: store.DoubleField(), 0.0, _float_gen(),
             checks=(("v_range", "v > -1e308"),)),
        Kind("boolean", "BooleanField", lambda: store.BooleanField(null=True), False, _bool_gen()),
        Kind("char", "CharField", lambda: store.CharField(max_length=10, null=True), "",
             _text_gen(10)),
        Kind("text", "TextField", lambda: store.TextField(), "", _text_gen()),
        Kind("json", "JSONField", lambda: store.JSONField(null=True), None, _json_gen()),
        Kind("enum", "EnumField", lambda: store.EnumField(Mood, null=True), None, _enum_gen()),
        Kind("uuid", "UUIDField", lambda: store.UUIDField(null=True), None, _uuid_gen()),
        Kind("timestamp", "DateTimeTZField", lambda: store.DateTimeTZField(null=True), None,
             _timestamp_gen()),
        Kind("date", "DateField", lambda: store.DateField(null=True), None, _date_gen()),
        Kind("decimal", "DecimalField", lambda: store.DecimalField(10, 2, null=True), None,
             _decimal_gen(10, 2)),
        Kind("decimal_15_0", "DecimalField", lambda: store.DecimalField(15, 0), Decimal(0),
             _decimal_gen(15, 0), checks=(("v_positive", "v >= 0"),)),
        Kind("decimal_6_6", "DecimalField", lambda: store.DecimalField(6, 6, null=True), None,
             _decimal_gen(6, 6)),
        Kind("fk", "ForeignKeyField",
             lambda: store.ForeignKeyField(parent, null=True, column_name="v"), None,
             _fk_gen()),
    ]
    for kind in out:
        attrs = {"__module__": __name__, "k": store.IntegerField(),
                 "Meta": type("Meta", (), {
                     "table_name": f"pv_{kind.name}",
                     "checks": [store.Check(n, sql) for n, sql in kind.checks]})}
        if kind.pk:
            attrs["v"] = kind.make()
            attrs["v"].primary_key = True
            attrs["v"].column_name = "v"
        else:
            attrs["v"] = kind.make()
        kind.model = type(f"Pv_{kind.name}", (store.Model,), attrs)
    return out


TYPE_NAMES = sorted({k.type_name for k in kinds()})


def generate(kind, n, seed):
    rng = random.Random(f"{seed}:{kind.name}")
    return [kind.gen(rng) for _ in range(n)]


# --- running the paths ---------------------------------------------------------------

def _error(exc):
    if isinstance(exc, ValidationError):
        return ("refused", "ValidationError", exc.field, exc.reason)
    if isinstance(exc, ConstraintViolation):
        return ("db-refused", type(exc).__name__, exc.table, exc.constraint)
    return ("error", type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")


def _attempt(fn):
    try:
        fn()
        return None
    except (StoreError, peewee.PeeweeException, ValueError, TypeError, OverflowError,
            RecursionError, UnicodeError, ArithmeticError) as exc:
        return _error(exc)


class _Run:
    """One kind on one backend: every path, every value."""

    def __init__(self, db, kind, values):
        self.db, self.kind, self.values = db, kind, values
        self.model = kind.model
        self.backend = db.features.name
        self.created_ok = set()

    def _clear(self):
        self.model.delete().execute()

    def _row(self, i, value):
        return {"k": i, "v": value}

    def _read(self):
        model = self.model
        try:
            orm = {r.k: r.__data__["v"] for r in model.select()}
            quick = {r.k: r.__data__["v"] for r in fast.fetch(model.select())}
        except Exception:                       # noqa: BLE001 - a row that cannot be read
            return self._read_one_by_one()
        out = {}
        for k, value in orm.items():
            other = quick.get(k, None)
            out[k] = ("ok", value) if same(value, other) else ("read-differs", value, other)
        return out

    def _read_one_by_one(self):
        model, out = self.model, {}
        for (k,) in model.select(model.k).tuples():
            try:
                value = model.get(model.k == k).__data__["v"]
                other = fast.fetch(model.select().where(model.k == k))[0].__data__["v"]
            except Exception as exc:            # noqa: BLE001
                out[k] = ("unreadable", type(exc).__name__, str(exc).splitlines()[0][:200])
                if self.db.in_transaction():
                    self.db.rollback()
                continue
            out[k] = ("ok", value) if same(value, other) else ("read-differs", value, other)
        return out

    def run(self, path):
        if path == "bulk_insert_copy" and self.backend != "postgresql":
            return None
        if path == "save" and self.kind.pk:
            return None                          # save() of a changed key is an UPDATE of no row
        # SQLite: one transaction per path (a refused statement does not end
        # it); PostgreSQL: each statement its own (a refused one would abort
        # a transaction), committed without waiting for the WAL
        with self.db.atomic() if self.backend == "sqlite" else nullcontext():
            self._clear()
            if path in INSERT_PATHS:
                errors = self._inserts(path)
            else:
                errors = self._updates(path)
            read = self._read()
        out = {}
        for i in range(len(self.values)):
            if i in errors:
                out[i] = errors[i]
            else:
                out[i] = read.get(i, ("missing",))
        if path == "create":
            self.created_ok = {i for i, o in out.items() if o[0] == "ok"}
        return out

    def _send(self, path, rows):
        model = self.model
        if path == "create":
            assert len(rows) == 1
            model.create(**rows[0])
        elif path == "insert_many":
            model.insert_many(rows).execute()
        elif path == "bulk_insert":
            fast.bulk_insert(model, rows, copy=False, batch_size=BATCH)
        elif path == "bulk_insert_copy":
            fast.bulk_insert(model, rows, copy=True, batch_size=BATCH)

    def _inserts(self, path):
        errors = {}
        rows = [(i, self._row(i, v)) for i, v in enumerate(self.values)]
        # in the order of the values (a repeated key is refused the second
        # time on every path): runs of values ``create`` took go in batches
        batch = []

        def flush():
            if batch and _attempt(lambda: self._send(path, [r for _, r in batch])) is not None:
                for j, one in batch:
                    single(j, one)
            batch.clear()

        def single(j, row):
            error = _attempt(lambda: self._send(path, [row]))
            if error is not None:
                errors[j] = error

        for i, row in rows:
            if path != "create" and i in self.created_ok:
                batch.append((i, row))
                if len(batch) >= BATCH:
                    flush()
            else:
                flush()
                single(i, row)
        flush()
        return errors

    def _updates(self, path):
        model, kind = self.model, self.kind
        n = len(self.values)
        if kind.pk:
            base_rows = [{"k": i, "v": 2_000_000_000 + i} for i in range(n)]
        else:
            base_rows = [{"k": i, "v": kind.base} for i in range(n)]
        fast.bulk_insert(model, base_rows, copy=False)
        pk = model._meta.primary_key
        ids = {r.k: r._pk for r in model.select()}
        instances = {r.k: r for r in model.select()} if path == "save" else {}
        errors = {}
        for i, value in enumerate(self.values):
            if path == "update":
                def go():
                    model.update({model.v: value}).where(pk == ids[i]).execute()
            elif path == "save":
                def go():
                    instance = instances[i]
                    instance.v = value
                    instance.save()
            else:
                def go():
                    fast.update_by_pk(model, ids[i], {"v": value})
            error = _attempt(go)
            if error is not None:
                errors[i] = error
        return errors


# --- the report --------------------------------------------------------------------------

@dataclass
class Report:
    n_per_type: int
    seed: int
    counts: Counter = field(default_factory=Counter)          # (type, outcome) -> n
    by_kind: Counter = field(default_factory=Counter)         # (kind, outcome) -> n
    documented: Counter = field(default_factory=Counter)      # documented id -> n
    undocumented: list = field(default_factory=list)          # (kind, value, outcomes)
    seconds: float = 0.0

    def total(self, outcome: Outcome) -> int:
        return sum(n for (_, o), n in self.counts.items() if o is outcome)

    def table(self, limit=20) -> str:
        outcomes = list(Outcome)
        lines = [f"parity values: {self.n_per_type} values per field type, seed {self.seed}, "
                 f"{self.seconds:.1f} s",
                 f"{'field type':<18}" + "".join(f"{o.value:>21}" for o in outcomes)]
        for name in TYPE_NAMES:
            lines.append(f"{name:<18}" + "".join(
                f"{self.counts.get((name, o), 0):>21}" for o in outcomes))
        lines.append(f"{'total':<18}" + "".join(f"{self.total(o):>21}" for o in outcomes))
        if self.documented:
            lines.append("documented: " + ", ".join(
                f"{k} {v}" for k, v in sorted(self.documented.items())))
        for kind, value, outcomes in self.undocumented[:limit]:
            lines.append(f"UNDOCUMENTED {kind} {value!r:.120}")
            lines += ["    " + line for line in describe(outcomes)]
        return "\n".join(lines)


def describe(outcomes):
    """One line per distinct outcome: which backends and paths gave it."""
    groups = []
    for key, outcome in outcomes.items():
        for group in groups:
            if same(group[0], outcome):
                group[1].append(key)
                break
        else:
            groups.append((outcome, [key]))
    return [f"{' '.join(b[0] + ':' + p for b, p in keys)} -> {outcome!r:.240}"
            for outcome, keys in groups]


def classify(kind_name, value, outcomes):
    """``outcomes``: {(backend, path): outcome}. The Outcome and, for a
    documented difference, its entry."""
    reference = {}
    for (backend, path), outcome in outcomes.items():
        ref = reference.setdefault(backend, outcome)
        if not same(ref, outcome):
            return Outcome.UNDOCUMENTED, None    # two paths of one backend disagree
    on_sqlite, on_postgres = reference.get("sqlite"), reference.get("postgresql")
    if on_sqlite is None or on_postgres is None or same(on_sqlite, on_postgres):
        outcome = on_sqlite or on_postgres
        if outcome[0] == "ok":
            return Outcome.IDENTICAL, None
        if outcome[0] in ("refused", "db-refused"):
            return Outcome.REFUSED_IDENTICALLY, None
        return Outcome.UNDOCUMENTED, None        # the same error, but not store's
    paths = sorted({p for (_, p) in outcomes})
    entry = documented_for(kind_name, value, paths, on_sqlite, on_postgres)
    if entry is not None:
        return Outcome.DOCUMENTED, entry
    return Outcome.UNDOCUMENTED, None


def _bind(db, models):
    for model in models:
        model._meta.schema = None
    db.bind_models(models)


def _distinct(values, pk):
    """``(firsts, of)``: the indexes of the first of each run of values equal
    type-exactly (by ``repr`` and type), and for each value that index. Equal
    values are written once and counted for each occurrence (a repeated key
    of a primary key kind is written again: its second write is refused)."""
    seen, firsts, of = {}, [], []
    for i, value in enumerate(values):
        key = i if pk else (type(value), repr(value))
        first = seen.setdefault(key, i)
        if first == i:
            firsts.append(i)
        of.append(first)
    return firsts, of


def _run_backend(backend, url, names, values, results, log):
    """Every kind of ``names`` on one backend (its own models), into ``results``."""
    parent = parent_model()
    chosen = [k for k in kinds(parent) if k.name in names]
    db = store.connect(url)
    try:
        models = [parent] + [k.model for k in chosen]
        _bind(db, models)
        db.drop_tables(models[::-1], safe=True)
        db.create_tables(models)
        parent.insert_many([{"code": c} for c in PARENT_CODES]).execute()
        for kind in chosen:
            t0 = time.perf_counter()
            firsts = values[kind.name][0]
            run = _Run(db, kind, [values[kind.name][2][i] for i in firsts])
            for path in PATHS:
                out = run.run(path)
                if out is not None:
                    results[kind.name][(backend, path)] = {
                        firsts[j]: outcome for j, outcome in out.items()}
            if log:
                log(f"{backend} {kind.name}: {len(firsts)} distinct values, "
                    f"{time.perf_counter() - t0:.1f} s")
        db.drop_tables(models[::-1], safe=True)
    finally:
        db.close()
        fast.clear_cache()


def run_values(n_per_type: int, seed: int, urls, only=None, log=None) -> Report:
    """Write ``n_per_type`` generated values of every kind through every path
    on each backend of ``urls`` ({"sqlite": url, "postgresql": url}; the
    backends run side by side, each in a thread of its own with models of its
    own); see the module docstring. ``only``: kind names to run (default all)."""
    started = time.perf_counter()
    report = Report(n_per_type, seed)
    all_kinds = [k for k in kinds() if only is None or k.name in only]
    names = {k.name for k in all_kinds}
    results = {k.name: {} for k in all_kinds}          # kind -> (backend, path) -> {i: outcome}
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    values = {}
    variants = Counter(k.type_name for k in kinds())
    for kind in all_kinds:
        # n_per_type values of each field type, shared by its variants
        generated = generate(kind, -(-n_per_type // variants[kind.type_name]), seed)
        values[kind.name] = _distinct(generated, kind.pk) + (generated,)
    threading.stack_size(256 * 1024 * 1024)             # deep JSON documents
    failures = []

    def target(backend, url):
        try:
            _run_backend(backend, url, names, values, results, log)
        except BaseException as exc:                    # noqa: BLE001 - raised below
            failures.append(exc)
    try:
        threads = [threading.Thread(target=target, args=item) for item in urls.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        for kind in all_kinds:
            per_path = results[kind.name]
            firsts, of, generated = values[kind.name]
            classified = {}
            for i in firsts:
                outcomes = {key: out[i] for key, out in per_path.items()}
                classified[i] = classify(kind.name, generated[i], outcomes) + (outcomes,)
            for i, first in enumerate(of):
                outcome, entry, outcomes = classified[first]
                report.counts[(kind.type_name, outcome)] += 1
                report.by_kind[(kind.name, outcome)] += 1
                if entry is not None:
                    report.documented[entry.id] += 1
                if outcome is Outcome.UNDOCUMENTED and first == i:
                    report.undocumented.append((kind.name, generated[i], outcomes))
    finally:
        sys.setrecursionlimit(limit)
        threading.stack_size(0)
    report.seconds = time.perf_counter() - started
    return report
