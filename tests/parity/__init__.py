"""Shared helpers of the differential parity harness (issue 13).

* ``same(a, b)``: type-exact equality of values read back (int is not float
  is not bool, float bits including -0.0 and NaN payloads, Decimal scale,
  datetime tzinfo and offset, dict key order, nesting).
* ``Outcome``: how one generated value fared on every write path of both
  backends.
* ``DOCUMENTED``: the differences the README documents (value half), each
  with an id, a predicate over (field kind, value, path), a check that the
  observed difference is the documented one, the README wording and the test
  that shows it.
"""
from __future__ import annotations

import datetime as dt
import enum
import struct
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable


class Outcome(str, enum.Enum):
    IDENTICAL = "identical"
    REFUSED_IDENTICALLY = "refused_identically"
    DOCUMENTED = "documented"
    UNDOCUMENTED = "undocumented"


def _float_bits(x: float) -> bytes:
    return struct.pack("<d", x)


def same(a, b) -> bool:
    """``a`` and ``b`` are the same value of the same type, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return _float_bits(a) == _float_bits(b)
    if isinstance(a, Decimal):
        return a.as_tuple() == b.as_tuple()            # sign, digits, exponent (scale)
    if isinstance(a, dt.datetime):
        if (a.tzinfo is None) != (b.tzinfo is None):
            return False
        if a.tzinfo is not None and (type(a.tzinfo) is not type(b.tzinfo)
                                     or a.utcoffset() != b.utcoffset()
                                     or a.tzname() != b.tzname()):
            return False
        return a.replace(tzinfo=None) == b.replace(tzinfo=None) and a.fold == b.fold
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        return all(same(ka, kb) and same(va, vb)
                   for (ka, va), (kb, vb) in zip(a.items(), b.items()))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, enum.Enum):
        return a is b
    return a == b


def walk(value):
    """Every scalar inside a JSON-like value (dict keys included)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from walk(item)
    else:
        yield value


# --- documented differences (value half) ---------------------------------------------

def _big_float(x) -> bool:
    return type(x) is float and x == x and abs(x) >= 1e16 and abs(x) != float("inf")


def _jsonb_numbers(value):
    """``value`` as PostgreSQL's JSONB gives it back: an integral float of
    magnitude >= 1e16 (written in exponent form) becomes the int its text names."""
    if _big_float(value):
        return int(Decimal(repr(value)))
    if isinstance(value, dict):
        return {k: _jsonb_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonb_numbers(v) for v in value]
    return value


@dataclass(frozen=True)
class Documented:
    id: str
    #: (field kind, written value, path) -> whether the documented difference can apply
    predicate: Callable[[str, Any, str], bool]
    #: (outcome on SQLite, outcome on PostgreSQL) -> whether it is the documented one
    explains: Callable[[Any, Any], bool]
    readme: str
    test: str


def _json_big_float_explains(on_sqlite, on_postgres) -> bool:
    return (on_sqlite[0] == on_postgres[0] == "ok"
            and same(_jsonb_numbers(on_sqlite[1]), on_postgres[1]))


DOCUMENTED = [
    Documented(
        id="json-big-float",
        predicate=lambda kind, value, path: kind == "json" and any(
            _big_float(x) for x in walk(value)),
        explains=_json_big_float_explains,
        readme=("JSONB normalises numbers: a float with an integral value written in "
                "exponent form (Python writes floats >= 1e16 that way) reads back from "
                "PostgreSQL as the equal `int`; SQLite gives the float back."),
        test="tests/test_parity_values.py::test_documented_json_big_float",
    ),
]

DOCUMENTED.append(Documented(
    id="auto-key-after-explicit-keys",
    # None for an AutoField is no written value: the database assigns the key
    # (the harness writes explicit keys only; the test shows this one)
    predicate=lambda kind, value, path: kind in ("auto", "bigauto") and value is None,
    explains=lambda on_sqlite, on_postgres: (on_sqlite[0] == on_postgres[0] == "ok"
                                             and type(on_sqlite[1]) is type(on_postgres[1]) is int),
    readme=("A key the database assigns (`AutoField`/`BigAutoField` left out) after rows were "
            "written with explicit keys: SQLite takes the largest key + 1, PostgreSQL the next "
            "value of the column's sequence, which explicit keys do not advance (it may then "
            "collide: `UniqueViolation`). Write explicit keys everywhere or nowhere in a table "
            "(`copy`/`load` restart the sequences after the largest key)."),
    test="tests/test_parity_values.py::test_documented_auto_key_after_explicit_keys",
))

BY_ID = {d.id: d for d in DOCUMENTED}


def documented_for(kind, value, paths, on_sqlite, on_postgres):
    """The documented difference that explains SQLite's and PostgreSQL's
    outcomes of ``value`` on every one of ``paths``, or None."""
    for entry in DOCUMENTED:
        if all(entry.predicate(kind, value, p) for p in paths) and \
                entry.explains(on_sqlite, on_postgres):
            return entry
    return None
