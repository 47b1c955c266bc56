"""The query half of the differential harness (issue 13).

The same rows go into a table on SQLite and on PostgreSQL (and on the
PostgreSQL variants the environment may hold: a database created with an ICU
locale, a session whose TimeZone is not UTC); seeded, generated queries over
every family of the query API run on each and their answers are compared
type-exactly (``same``: int/float/bool apart, a Decimal's scale, a
datetime's offset, -0.0).

Each query ends as one of

* ``identical``: the same rows, the same types, on every backend;
* ``refused``: refused identically: the same store error (type and message)
  on every backend, raised before the database was touched;
* ``documented``: a difference listed in ``KNOWN`` (and in
  docs/parity.md), each with the test that shows it;
* ``undocumented``: anything else (a bug: the report carries the query's SQL
  on each backend).

``run_queries(n, seed, urls)`` returns a ``Report``. ``urls`` maps an
environment name to a database URL; ``"sqlite"`` is the reference, every
other entry a PostgreSQL URL (the schema of each is created and filled here).
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import decimal
import math
import random
import time
import uuid
from collections import Counter
from decimal import Decimal

import peewee
from peewee import fn

import store
from store import errors

try:                                      # the shared one (tests/parity/__init__.py)
    from . import same as _shared_same    # type: ignore
except Exception:                         # noqa: BLE001 - not there: the local one
    _shared_same = None

UTC = dt.timezone.utc


# --- type-exact comparison ----------------------------------------------------------

def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, Decimal):
        return a.as_tuple() == b.as_tuple()          # value, sign and scale
    if isinstance(a, dt.datetime):
        return a == b and a.utcoffset() == b.utcoffset() and \
            (a.tzinfo is None) == (b.tzinfo is None)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def same(a, b) -> bool:
    """Type-exact equality of two query answers (see the module docstring):
    the shared ``parity.same`` when it is there, else the local one."""
    return (_shared_same or _same)(a, b)


# --- environments -------------------------------------------------------------------------

ICU_EN_US = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
C_LOCALE = "TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'"


@contextlib.contextmanager
def scratch_database(pg_database_url: str, options: str, timezone: str):
    """A scratch PostgreSQL database ``CREATE DATABASE ... <options>`` whose
    default TimeZone is ``timezone``; yields its URL (None when the server
    cannot create it, e.g. no ICU), dropped at the end."""
    import psycopg
    base = pg_database_url.split("?", 1)[0].rsplit("/", 1)[0]
    name = "parity_" + uuid.uuid4().hex[:10]
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        try:
            conn.execute(f'CREATE DATABASE "{name}" {options}')
        except psycopg.Error:
            yield None
            return
        conn.execute(f"ALTER DATABASE \"{name}\" SET timezone TO '{timezone}'")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def icu_database(pg_database_url: str, timezone: str = "Asia/Tokyo"):
    """A scratch database with an ICU locale (en-US orders a, B, é, Z)."""
    return scratch_database(pg_database_url, ICU_EN_US, timezone)


# --- the table and its rows -----------------------------------------------------------

def make_model():
    """A fresh model class (one per backend: fields keep per-database state)."""
    class ParityItem(store.Model):
        grp = store.CharField(max_length=4)
        name = store.CharField(max_length=40, null=True)
        note = store.TextField(null=True)
        small = store.SmallIntegerField(null=True)
        num = store.IntegerField(null=True)
        big = store.BigIntegerField(null=True)
        f = store.FloatField(null=True)
        d = store.DecimalField(10, 2, null=True)
        flag = store.BooleanField(null=True)
        day = store.DateField(null=True)
        ts = store.DateTimeTZField(null=True)
        uid = store.UUIDField(null=True)
        data = store.JSONField(null=True)

        class Meta:
            table_name = "parity_item"
    return ParityItem


TEXTS = ["a", "B", "é", "Z", "É", "b", "ß", "Straße", "STRASSE", "İstanbul", "ıi", "Ωmega",
         "ωmega", "ΣΑΣ", "σας", "100%", "a_b", "back\\slash", "", " lead", "Émile", "emile",
         "EMILE", "ǅ", "ﬁ", "日本", "Ǆ", "Ⅻ", "ŉ", None]
SMALLS = [0, 1, -1, 2, 7, 200, 181, 182, 32767, -32768, None]
INTS = [0, 1, -1, 3, 7, 46341, 65536, 2 ** 31 - 1, -2 ** 31, None]
BIGS = [0, 1, -1, 5, 3037000500, 2 ** 62, 2 ** 63 - 1, -2 ** 63, 2 ** 53 + 1, None]
FLOATS = [0.0, -0.0, 1.5, -2.25, 0.1, 3.0, 1e308, -1e-300, 1e16, 2.5, None]
DECIMALS = [Decimal("0.00"), Decimal("1.50"), Decimal("-2.25"), Decimal("0.10"),
            Decimal("99999999.99"), Decimal("-0.01"), Decimal("3.33"), None]
DAYS = [dt.date(2024, 3, 10), dt.date(2024, 1, 1), dt.date(1999, 12, 31),
        dt.date(2024, 2, 29), dt.date(1, 1, 1), None]
STAMPS = [dt.datetime(2024, 3, 10, 23, 30, tzinfo=UTC), dt.datetime(2024, 1, 1, 0, 15, tzinfo=UTC),
          dt.datetime(2024, 3, 10, 2, 30, 0, 123456, tzinfo=UTC),
          dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
          dt.datetime(2024, 6, 30, 12, 0, tzinfo=UTC), None]
UUIDS = [uuid.UUID(int=0), uuid.UUID(int=2 ** 128 - 1), uuid.UUID("12345678-1234-5678-1234-567812345678"),
         uuid.UUID("a0000000-0000-0000-0000-000000000001"), None]
DOCS = [{"a": 1, "k": "x", "n": 1.5, "é": 1, "arr": [1, "a", None], "obj": {"0": "zero", "x": {"y": 2}}},
        {"a": 2, "k": "B", "n": -0.0, "é": "1", "arr": ["a", "b"], "obj": {"x": {"y": "2"}}},
        {"a": 1.0, "k": "é", "n": 10, "arr": [], "obj": {}, "Ω": {"ß": True}},
        {"a": None, "k": None, "n": 2, "tags": ["x", "y"], "a.b": 3, 'q"': 4},
        {"b": True, "a": False, "n": 1e16, "arr": [3, 2, 1]},
        ["a", "b", 1], ["x"], [], "a", "text", 1, 2.5, True, False, 0, {}, None,
        {"a": "1", "n": "10", "k": "Z"}, {"a": 3, "n": 9, "k": "a", "arr": [[1], {"a": 1}]}]


def rows(count=40, seed=1301):
    """The fixed rows (the same on every backend; ``seed`` fixed by design)."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        pick = lambda pool: pool[i % len(pool)] if i < len(pool) else rnd.choice(pool)  # noqa: E731
        out.append(dict(
            grp=rnd.choice(["g1", "g2", "G1", "é"]),
            name=TEXTS[i % len(TEXTS)] if i < len(TEXTS) else rnd.choice(TEXTS),
            note=rnd.choice(TEXTS), small=pick(SMALLS), num=pick(INTS), big=pick(BIGS),
            f=pick(FLOATS), d=pick(DECIMALS), flag=rnd.choice([True, False, None]),
            day=pick(DAYS), ts=pick(STAMPS), uid=pick(UUIDS), data=pick(DOCS)))
    return out


def setup_backend(db, Model, data):
    Model._meta.schema = None
    db.bind_models([Model])
    db.drop_tables([Model], safe=True)
    db.create_tables([Model])
    with db.atomic():
        for row in data:
            Model.insert(row).execute()


# --- generated queries -------------------------------------------------------------------

@dataclasses.dataclass
class Spec:
    family: str
    label: str
    build: object                       # Model -> query
    tags: frozenset = frozenset()
    fetch: str = "tuples"               # tuples | scalar | count


def _text_lit(rnd):
    return rnd.choice([t for t in TEXTS if t is not None] + ["a", "Ä", "z", "aa", "ε", "i", "I"])


_TEXT_COLS = ("name", "note", "grp")
_NUM_COLS = ("small", "num", "big", "f", "d")
_INT_COLS = ("small", "num", "big")


def _num_lit(rnd, col):
    if col == "f":
        return rnd.choice([0.0, -0.0, 1.5, 1e308, 2, -1, 0.1, 1e-300])
    if col == "d":
        return rnd.choice([Decimal("1.5"), Decimal("0"), Decimal("-2.25"), 1, 2.5, Decimal("1.505")])
    return rnd.choice([0, 1, -1, 2, 7, 32767, 2 ** 31, 2 ** 40, 2 ** 63 - 1, 2 ** 64, -2 ** 70, 1.5])


def _order(M, rnd, cols):
    terms = []
    for name in cols:
        field = getattr(M, name)
        terms.append(field.desc() if rnd.random() < 0.4 else field.asc())
    return terms + [M.id]


def fam_text_order(rnd):
    cols = rnd.sample(_TEXT_COLS, rnd.choice([1, 2]))
    limit = rnd.choice([None, 3, 10])
    offset = rnd.choice([None, 0, 2])
    desc = [rnd.random() < 0.4 for _ in cols]

    def build(M):
        terms = [getattr(M, c).desc() if d else getattr(M, c).asc() for c, d in zip(cols, desc)]
        q = M.select(M.id, *(getattr(M, c) for c in cols)).order_by(*terms, M.id)
        if limit is not None:
            q = q.limit(limit)
        if offset is not None:
            q = q.offset(offset)
        return q
    return Spec("ordering", f"text ORDER BY {cols} desc={desc} limit={limit} offset={offset}",
                build, frozenset({"text_order"}))


def fam_text_compare(rnd):
    col = rnd.choice(_TEXT_COLS)
    op = rnd.choice(["<", "<=", ">", ">=", "between", "==", "!="])
    lit, lit2 = _text_lit(rnd), _text_lit(rnd)

    def build(M):
        f = getattr(M, col)
        expr = {"<": f < lit, "<=": f <= lit, ">": f > lit, ">=": f >= lit,
                "==": f == lit, "!=": f != lit, "between": f.between(lit, lit2)}[op]
        return M.select(M.id).where(expr).order_by(M.id)
    return Spec("ordering", f"{col} {op} {lit!r} {lit2!r}", build, frozenset({"text_compare"}))


def fam_text_minmax(rnd):
    col = rnd.choice(_TEXT_COLS)
    agg = rnd.choice(["MIN", "MAX"])
    grouped = rnd.random() < 0.5

    def build(M):
        f = getattr(M, col)
        a = getattr(fn, agg)(f)
        if grouped:
            return M.select(M.grp, a).group_by(M.grp).order_by(M.grp)
        return M.select(a)
    return Spec("aggregate", f"{agg}({col}) grouped={grouped}", build, frozenset({"text_minmax"}))


def fam_text_functions(rnd):
    col = rnd.choice(("name", "note"))
    func = rnd.choice(["lower", "upper", "length", "trim", "substr"])

    def build(M):
        f = getattr(M, col)
        expr = {"lower": fn.lower(f), "upper": fn.upper(f), "length": fn.length(f),
                "trim": fn.trim(f), "substr": fn.substr(f, 1, 2)}[func]
        return M.select(M.id, expr).order_by(M.id)
    return Spec("text", f"{func}({col})", build, frozenset({"text_fn", func}))


_PATTERN_CHARS = ["a", "A", "é", "É", "ß", "SS", "ı", "I", "İ", "i", "Σ", "σ", "ς", "Ω", "ω",
                  "%", "_", "\\%", "\\_", "m", "e", "x", "日", "ǅ", "ǆ"]


def _pattern(rnd):
    return "".join(rnd.choice(_PATTERN_CHARS) for _ in range(rnd.randint(1, 4)))


def fam_like(rnd):
    col = rnd.choice(("name", "note"))
    kind = rnd.choice(["like", "ilike", "contains", "startswith", "endswith", "not_ilike"])
    pat = _pattern(rnd)
    plain = pat.replace("\\", "").replace("%", "").replace("_", "") or "a"

    def build(M):
        f = getattr(M, col)
        expr = {"like": lambda: f.like(pat), "ilike": lambda: f.ilike(pat),
                "not_ilike": lambda: ~f.ilike(pat),
                "contains": lambda: f.contains(plain), "startswith": lambda: f.startswith(plain),
                "endswith": lambda: f.endswith(plain)}[kind]()
        return M.select(M.id).where(expr).order_by(M.id)
    return Spec("like", f"{col}.{kind}({pat!r}/{plain!r})", build, frozenset({"like", kind}))


def fam_in(rnd):
    col = rnd.choice(("name", "small", "num", "big", "f", "d", "flag", "day"))
    pools = {"name": TEXTS, "small": SMALLS, "num": INTS, "big": BIGS, "f": FLOATS + [1, 3],
             "d": DECIMALS + [1, 1.5], "flag": [True, False], "day": DAYS}
    values = [v for v in rnd.sample(pools[col], min(3, len(pools[col]))) if v is not None]
    negate = rnd.random() < 0.3

    def build(M):
        f = getattr(M, col)
        return M.select(M.id).where(f.not_in(values) if negate else f.in_(values)).order_by(M.id)
    return Spec("in", f"{col} {'NOT ' if negate else ''}IN {values!r}", build, frozenset({"in"}))


def fam_num_compare(rnd):
    col = rnd.choice(_NUM_COLS)
    op = rnd.choice(["<", ">", "==", "!=", ">="])
    lit = _num_lit(rnd, col)

    def build(M):
        f = getattr(M, col)
        expr = {"<": f < lit, ">": f > lit, "==": f == lit, "!=": f != lit, ">=": f >= lit}[op]
        return M.select(M.id).where(expr).order_by(M.id)
    tags = {"num_compare"}
    if isinstance(lit, int) and not -2 ** 63 <= lit < 2 ** 63:
        tags.add("beyond_64")
    return Spec("arithmetic", f"{col} {op} {lit!r}", build, frozenset(tags))


def fam_arith(rnd):
    a, b = rnd.choice(_NUM_COLS), rnd.choice(_NUM_COLS + ("lit",))
    op = rnd.choice(["+", "-", "*", "/", "%"])
    lit = rnd.choice([0, 2, 3, -1, 1.5, 2 ** 31, 0.0])

    def build(M):
        x = getattr(M, a)
        y = lit if b == "lit" else getattr(M, b)
        expr = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y,
                "/": lambda: x / y,
                "%": lambda: peewee.Expression(x, peewee.OP.MOD, y)}[op]()   # x % y is LIKE
        return M.select(M.id, expr.alias("v")).order_by(M.id).tuples()
    return Spec("arithmetic", f"{a} {op} {lit if b == 'lit' else b}", build,
                frozenset({"arith", op, a, b}))


def fam_aggregate(rnd):
    col = rnd.choice(("small", "num", "big", "f", "d", "flag", "uid", "day", "ts", "name"))
    agg = rnd.choice(["SUM", "AVG", "MIN", "MAX", "COUNT", "sum()", "avg()"])
    grouped = rnd.random() < 0.4
    if agg in ("sum()", "avg()") and col != "d":
        agg = "SUM"

    def build(M):
        f = getattr(M, col)
        a = getattr(f, agg[:-2])() if agg.endswith("()") else getattr(fn, agg)(f)
        if grouped:
            return M.select(M.grp, a).group_by(M.grp).order_by(M.grp)
        return M.select(a)
    return Spec("aggregate", f"{agg}({col}) grouped={grouped}", build,
                frozenset({"aggregate", agg, col}))


def fam_limit(rnd):
    limit = rnd.choice([None, 0, 1, 5, -1, -5])
    offset = rnd.choice([None, 0, 3, -1, -2])

    def build(M):
        q = M.select(M.id).order_by(M.id)
        if limit is not None:
            q = q.limit(limit)
        if offset is not None:
            q = q.offset(offset)
        return q
    return Spec("limit", f"LIMIT {limit} OFFSET {offset}", build, frozenset({"limit"}))


def fam_distinct(rnd):
    col = rnd.choice(("grp", "name", "small", "flag", "day", "f", "d", "data"))

    def build(M):
        f = getattr(M, col)
        return M.select(f).distinct().order_by(f)
    return Spec("distinct", f"DISTINCT {col} ORDER BY {col}", build,
                frozenset({"distinct", col} | ({"text_order"} if col in _TEXT_COLS else set())))


def fam_group(rnd):
    col = rnd.choice(("grp", "flag", "small", "day"))

    def build(M):
        f = getattr(M, col)
        return M.select(f, fn.COUNT(M.id)).group_by(f).order_by(f)
    return Spec("group_by", f"GROUP BY {col}", build,
                frozenset({"group"} | ({"text_order"} if col in _TEXT_COLS else set())))


_JSON_KEYS = ["a", "k", "n", "é", "arr", "obj", "tags", "Ω", "a.b", 'q"', "0", "missing", "b"]
_JSON_VALUES = [1, 1.0, 2, "1", "x", "é", True, False, None, -0.0, 0, 1.5, 10, "B", 2 ** 70]


def _json_path(rnd):
    keys = [rnd.choice(_JSON_KEYS)]
    r = rnd.random()
    if r < 0.25:
        keys.append(rnd.choice([0, 1, -1, "0", "x"]))
    if r < 0.1:
        keys.append(rnd.choice(["y", 0]))
    return tuple(keys)


def fam_json(rnd):
    kind = rnd.choice(["eq", "ne", "lt", "in", "has_key", "has_key_path", "length", "contains",
                       "as_text", "select", "doc_eq", "order", "is_null", "between"])
    keys = _json_path(rnd)
    value = rnd.choice(_JSON_VALUES)
    values = [rnd.choice(_JSON_VALUES) for _ in range(2)]
    key = rnd.choice(_JSON_KEYS)
    doc = rnd.choice([{"a": 1}, ["a", "b", 1], "a", 1, {"k": "x", "a": 1}])

    def build(M):
        p = M.data.path(*keys)
        base = M.select(M.id)
        if kind == "eq":
            return base.where(p == value).order_by(M.id)
        if kind == "ne":
            return base.where(p != value).order_by(M.id)
        if kind == "lt":
            return base.where(p < value).order_by(M.id)
        if kind == "between":
            return base.where(p.between(1, 10)).order_by(M.id)
        if kind == "in":
            return base.where(p.in_(values)).order_by(M.id)
        if kind == "has_key":
            return base.where(M.data.has_key(key)).order_by(M.id)
        if kind == "has_key_path":
            return base.where(p.has_key(key)).order_by(M.id)
        if kind == "length":
            return M.select(M.id, p.length() if len(keys) else M.data.length()).order_by(M.id)
        if kind == "contains":
            return base.where(M.data.contains(doc)).order_by(M.id)
        if kind == "as_text":
            return M.select(M.id, p.as_text()).order_by(M.id)
        if kind == "select":
            return M.select(M.id, p).order_by(M.id)
        if kind == "doc_eq":
            return base.where(M.data == doc).order_by(M.id)
        if kind == "order":
            return M.select(M.id, p).order_by(p, M.id)
        return base.where(p.is_null()).order_by(M.id)
    detail = {"in": values, "has_key": key, "has_key_path": key, "contains": doc, "doc_eq": doc}
    return Spec("json", f"data{list(keys)} {kind} {detail.get(kind, value)!r}", build,
                frozenset({"json", "json_" + kind}))


def fam_dates(rnd):
    kind = rnd.choice(["year", "month", "truncate", "cmp_day", "cmp_ts", "ts_trunc", "ts_date",
                       "ts_year", "ts_order", "ts_text"])
    day = rnd.choice([d for d in DAYS if d])
    stamp = rnd.choice([s for s in STAMPS if s])

    def build(M):
        if kind == "year":
            return M.select(M.id, M.day.year).order_by(M.id)
        if kind == "month":
            return M.select(M.id, M.day.month, M.day.day).order_by(M.id)
        if kind == "truncate":
            return M.select(M.id, M.day.truncate(rnd_part)).order_by(M.id)
        if kind == "cmp_day":
            return M.select(M.id).where(M.day < day).order_by(M.id)
        if kind == "cmp_ts":
            return M.select(M.id).where(M.ts >= stamp).order_by(M.id)
        if kind == "ts_trunc":
            return M.select(M.id, fn.date_trunc("day", M.ts)).order_by(M.id)
        if kind == "ts_date":
            return M.select(M.id).where(fn.DATE(M.ts) == stamp.date()).order_by(M.id)
        if kind == "ts_year":
            return M.select(M.id, fn.date_part("year", M.ts)).order_by(M.id)
        if kind == "ts_text":
            return M.select(M.id, fn.CAST(peewee.NodeList((M.ts, peewee.SQL("AS TEXT"))))) \
                .order_by(M.id)
        return M.select(M.id).order_by(M.ts.desc(), M.id)
    rnd_part = rnd.choice(["year", "month", "day"])
    return Spec("dates", f"{kind} {day} {stamp}", build, frozenset({"dates", "dates_" + kind}))


def fam_null(rnd):
    col = rnd.choice(("name", "small", "f", "d", "flag", "data", "day"))
    kind = rnd.choice(["is_null", "not_null", "coalesce"])

    def build(M):
        f = getattr(M, col)
        if kind == "is_null":
            return M.select(M.id).where(f.is_null()).order_by(M.id)
        if kind == "not_null":
            return M.select(M.id).where(f.is_null(False)).order_by(M.id)
        return M.select(M.id, fn.COALESCE(f, f)).order_by(M.id)
    return Spec("null", f"{kind} {col}", build, frozenset({"null", kind}))


def fam_bool(rnd):
    kind = rnd.choice(["eq_true", "eq_false", "where_bare", "not", "count_if"])

    def build(M):
        if kind == "eq_true":
            return M.select(M.id).where(M.flag == True).order_by(M.id)  # noqa: E712
        if kind == "eq_false":
            return M.select(M.id).where(M.flag == False).order_by(M.id)  # noqa: E712
        if kind == "where_bare":
            return M.select(M.id).where(M.flag).order_by(M.id)
        if kind == "not":
            return M.select(M.id).where(~M.flag).order_by(M.id)
        return M.select(fn.COUNT(M.id)).where(M.flag)
    return Spec("bool", kind, build, frozenset({"bool", kind}))


def fam_composite(rnd):
    """HAVING, IN (subquery), EXISTS, UNION, CASE, concatenation, COUNT(DISTINCT)."""
    kind = rnd.choice(["having", "in_sub", "exists", "union", "case", "concat", "count_distinct",
                       "json_cast", "json_startswith", "abs", "round", "window", "window_num",
                       "join", "subquery_order", "coalesce_text", "regexp", "cast"])
    n = rnd.choice([0, 1, 3])
    lit = _text_lit(rnd)

    def build(M):
        if kind == "having":
            return (M.select(M.grp, fn.COUNT(M.id), fn.MIN(M.name)).group_by(M.grp)
                    .having(fn.COUNT(M.id) > n).order_by(M.grp))
        if kind == "in_sub":
            sub = M.select(M.id).where(M.name < lit)
            return M.select(M.id).where(M.id.in_(sub)).order_by(M.id)
        if kind == "exists":
            A = M.alias("a")
            sub = A.select(A.id).where((A.grp == M.grp) & (A.num > M.num))
            return M.select(M.id).where(fn.EXISTS(sub)).order_by(M.id)
        if kind == "union":
            q = (M.select(M.name).where(M.num > n) | M.select(M.note).where(M.small < n))
            return q.order_by(peewee.SQL("1")).limit(10)
        if kind == "case":
            return M.select(M.id, peewee.Case(None, [(M.num > n, "pos"), (M.num < 0, "neg")],
                                              "zero")).order_by(M.id)
        if kind == "concat":
            return M.select(M.id, M.name.concat(M.grp)).order_by(M.id)
        if kind == "count_distinct":
            return M.select(fn.COUNT(M.name.distinct()), fn.COUNT(M.flag.distinct()))
        if kind == "json_cast":
            return M.select(M.id, M.data["n"].as_float(), M.data["a"].as_int()).order_by(M.id)
        if kind == "json_startswith":
            return M.select(M.id).where(M.data["k"].startswith(lit[:1] or "a")).order_by(M.id)
        if kind == "window":
            return M.select(M.id, fn.ROW_NUMBER().over(order_by=[M.name, M.id])).order_by(M.id)
        if kind == "window_num":
            return M.select(M.id, fn.RANK().over(partition_by=[M.grp],
                                                  order_by=[M.num.desc()])).order_by(M.id)
        if kind == "join":
            A = M.alias("a")
            return (M.select(M.id, A.id).join(A, on=(A.grp == M.grp) & (A.name < M.name))
                    .order_by(M.id, A.id).limit(50))
        if kind == "subquery_order":             # the subquery's ORDER BY picks the rows
            sub = M.select(M.id).order_by(M.note.desc(), M.id).limit(5)
            return M.select(M.id).where(M.id.in_(sub)).order_by(M.id)
        if kind == "regexp":
            return M.select(M.id).where(M.name.regexp("^[a-z]")).order_by(M.id)
        if kind == "cast":
            return M.select(M.id, M.note.cast("INTEGER")).order_by(M.id)
        if kind == "coalesce_text":
            return M.select(fn.MIN(fn.COALESCE(M.name, M.note)))
        if kind == "abs":
            return M.select(M.id, fn.ABS(M.num), fn.ABS(M.f)).order_by(M.id)
        return M.select(M.id, fn.ROUND(M.f), fn.ROUND(M.d, 1)).order_by(M.id)
    return Spec("composite", f"{kind} n={n} lit={lit!r}", build,
                frozenset({"composite", kind} | ({"d"} if kind == "round" else set())))


def fam_write(rnd):
    """UPDATE/DELETE ... WHERE (rolled back): the rows a condition selects for
    a write, and what the new values compute to."""
    kind = rnd.choice(["update_num", "update_text", "delete", "update_json"])
    lit = _text_lit(rnd)
    n = rnd.choice([0, 1, 7, 2 ** 31 - 2])

    def build(M):
        if kind == "update_num":
            return M.update(num=M.num + 1).where(M.num > n)
        if kind == "update_text":
            return M.update(note=fn.lower(M.name)).where(M.name < lit)
        if kind == "update_json":
            return M.update(flag=True).where(M.data["k"] >= lit)
        return M.delete().where(M.name.ilike(lit[:1] + "%"))
    return Spec("write", f"{kind} n={n} lit={lit!r}", build, frozenset({"write", kind}))


FAMILIES = [fam_write, fam_composite, fam_text_order, fam_text_compare, fam_text_minmax, fam_text_functions, fam_like,
            fam_in, fam_num_compare, fam_arith, fam_aggregate, fam_limit, fam_distinct,
            fam_group, fam_json, fam_json, fam_dates, fam_null, fam_bool]


def generate(n: int, seed: int):
    rnd = random.Random(seed)
    return [rnd.choice(FAMILIES)(rnd) for _ in range(n)]


# --- running and classifying ----------------------------------------------------------------

@dataclasses.dataclass
class Outcome:
    kind: str                         # ok | refused | error
    value: object = None
    sql: object = None

    def describe(self):
        if self.kind == "ok":
            return repr(self.value)[:300]
        return f"{type(self.value).__name__}: {str(self.value)[:200]}"


def run_one(db, Model, spec: Spec) -> Outcome:
    try:
        query = spec.build(Model)
    except errors.StoreError as exc:
        return Outcome("refused", exc)
    try:
        sql = query.sql()
    except errors.StoreError as exc:
        return Outcome("refused", exc)
    except Exception as exc:  # noqa: BLE001
        return Outcome("error", exc)
    try:
        if isinstance(query, peewee.SelectBase):
            value = [tuple(r) for r in query.tuples()]
        else:                               # a write: its row count and the table after it
            with db.atomic() as txn:
                count = query.execute()
                after = [tuple(r) for r in Model.select(Model.id, Model.num, Model.note,
                                                        Model.flag).order_by(Model.id).tuples()]
                txn.rollback()
            value = [(count,)] + after
        return Outcome("ok", value, sql)
    except errors.StoreError as exc:
        return Outcome("refused" if not _touched(exc) else "error", exc, sql)
    except Exception as exc:  # noqa: BLE001 - a database error is an outcome
        if not db.is_closed() and db.in_transaction():
            db.rollback()
        return Outcome("error", exc, sql)


def _touched(exc):
    return isinstance(exc, errors.ConstraintViolation)


@dataclasses.dataclass(frozen=True)
class Known:
    name: str
    test: str
    matches: object        # (spec, env, sqlite Outcome, other Outcome) -> bool


def _both_ok(a, b):
    return a.kind == "ok" and b.kind == "ok"


def _cells(a: Outcome, b: Outcome):
    """The (sqlite, other) cell pairs that differ, or None when the shapes differ."""
    if not _both_ok(a, b) or len(a.value) != len(b.value):
        return None
    pairs = []
    for ra, rb in zip(a.value, b.value):
        if len(ra) != len(rb):
            return None
        pairs += [(x, y) for x, y in zip(ra, rb) if not same(x, y)]
    return pairs


def _all_cells(test):
    def matches(a, b):
        pairs = _cells(a, b)
        return bool(pairs) and all(test(x, y) for x, y in pairs)
    return matches


def _error(outcome, *texts):
    return outcome.kind == "error" and any(t in str(outcome.value) for t in texts)


def _has_inf(outcome):
    return outcome.kind == "ok" and any(
        isinstance(v, float) and math.isinf(v) for row in outcome.value for v in row)


def _close(x, y, rel=1e-12):
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError):
        return False
    return x == y or abs(x - y) <= rel * max(abs(x), abs(y))


def _jsonb_number(x):
    """A JSON number as JSONB gives it back (integral floats >= 1e16 as int)."""
    if isinstance(x, float) and x.is_integer() and abs(x) >= 1e16:
        return int(decimal.Decimal(repr(x)))
    if isinstance(x, list):
        return [_jsonb_number(v) for v in x]
    if isinstance(x, dict):
        return {k: _jsonb_number(v) for k, v in x.items()}
    return x


def _json_text_same(x, y):
    import json
    if not (isinstance(x, str) and isinstance(y, str)):
        return False
    try:
        return same(_jsonb_number(json.loads(x)), _jsonb_number(json.loads(y)))
    except ValueError:
        return False


def _moment(x):
    """A date/time result reduced to comparable form: (naive UTC ISO text)."""
    if isinstance(x, dt.datetime):
        if x.tzinfo is not None:
            x = x.astimezone(UTC).replace(tzinfo=None)
        return x.isoformat(sep=" ")
    if isinstance(x, str):
        try:
            return _moment(dt.datetime.fromisoformat(x))
        except ValueError:
            return x
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


def _tagged(*tags):
    return lambda spec: bool(spec.tags & set(tags))


KNOWN: list = [
    Known("float overflow: inf on SQLite, an error on PostgreSQL",
          "tests/test_parity_queries.py::test_documented_float_overflow",
          lambda spec, env, a, b: _error(b, "out of range: overflow", "value out of range")
          and (_has_inf(a) or a.kind == "error")),
    Known("integer overflow beyond 64 bits: a float (arithmetic) or 'integer overflow' "
          "(SUM) on SQLite, 'bigint out of range' on PostgreSQL",
          "tests/test_parity_queries.py::test_documented_integer_overflow_beyond_64_bits",
          lambda spec, env, a, b: _error(b, "bigint out of range")
          and (a.kind == "ok" or _error(a, "integer overflow"))),
    Known("arithmetic and bare fn.SUM/AVG on a DecimalField: a float on SQLite, a Decimal "
          "on PostgreSQL (README, Decimals)",
          "tests/test_decimal.py (bare fn.SUM), "
          "tests/test_parity_queries.py::test_documented_decimal_arithmetic_types",
          lambda spec, env, a, b: "d" in spec.tags and _all_cells(
              lambda x, y: isinstance(y, Decimal) and isinstance(x, (int, float))
              and _close(x, y, 1e-9))(a, b)),
    Known("% (modulo) with a float or decimal operand: SQLite takes the integer parts, "
          "PostgreSQL refuses a float and keeps a decimal's fraction",
          "tests/test_parity_queries.py::test_documented_modulo_of_non_integers",
          lambda spec, env, a, b: "%" in spec.tags and bool(spec.tags & {"f", "d"})),
    Known("AVG/SUM of floats or large integers: SQLite adds in doubles, PostgreSQL exactly; "
          "the last bits may differ",
          "tests/test_parity_queries.py::test_documented_float_aggregate_rounding",
          lambda spec, env, a, b: "aggregate" in spec.tags and _all_cells(
              lambda x, y: isinstance(x, float) and isinstance(y, float) and _close(x, y))(a, b)),
    Known("JSON numbers: JSONB gives an integral float >= 1e16 back as an int (README)",
          "tests/test_json.py::test_integral_float_of_1e16_or_more_documented_difference",
          lambda spec, env, a, b: _all_cells(
              lambda x, y: same(_jsonb_number(x), y))(a, b)),
    Known("path.as_text() of a JSON number or container: the text may differ in notation "
          "(1e+16 / 10000000000000000) and spacing (JSONField docstring)",
          "tests/test_parity_queries.py::test_documented_json_as_text_of_non_strings",
          lambda spec, env, a, b: "json_as_text" in spec.tags and _all_cells(_json_text_same)(a, b)),
    Known("fn.date_trunc / fn.date_part / CAST(... AS TEXT) of a DateTimeTZField called by "
          "name: the database's own result types (text or int on SQLite, timestamptz or "
          "float on PostgreSQL); the same moments, in UTC",
          "tests/test_parity_queries.py::test_documented_raw_date_functions_on_timestamps",
          lambda spec, env, a, b: bool(spec.tags & {"dates_ts_trunc", "dates_ts_year",
                                                     "dates_ts_text"})
          and _all_cells(lambda x, y: _moment(x) == _moment(y)
                         or (isinstance(x, str) and isinstance(y, str)
                             and _moment(x[:19]) == _moment(y[:19])))(a, b)),
    Known("ORDER BY written as raw SQL (SQL('1'), a UNION's ORDER BY by position): the "
          "database's own NULL placement (SQLite: first) and collation",
          "tests/test_parity_queries.py::test_documented_raw_sql_order_by",
          lambda spec, env, a, b: "union" in spec.tags and _both_ok(a, b)),
    Known("a cast of text that is not such a number (path.as_int(), as_float(), "
          "field.cast('INTEGER')): SQLite casts what it can read ('1.0' -> 1, 'x' -> 0), "
          "PostgreSQL raises",
          "tests/test_parity_queries.py::test_documented_json_casts",
          lambda spec, env, a, b: bool(spec.tags & {"json_cast", "cast"})
          and (_error(b, "invalid input syntax") or _both_ok(a, b))),
    Known("a Decimal zero computed by SQLite from a negative number keeps its sign "
          "(Decimal('-0.00')); PostgreSQL's NUMERIC has no negative zero",
          "tests/test_parity_queries.py::test_documented_decimal_negative_zero",
          lambda spec, env, a, b: _all_cells(
              lambda x, y: isinstance(x, Decimal) and isinstance(y, Decimal)
              and x == y == 0 and x.as_tuple().exponent == y.as_tuple().exponent)(a, b)),
    Known("an UPDATE whose computed value leaves the column's integer range "
          "(SET num = num + 1 at 2**31 - 1): SQLite stores it, PostgreSQL raises "
          "(write validation checks values, not SQL expressions)",
          "tests/test_parity_queries.py::test_documented_computed_update_out_of_range",
          lambda spec, env, a, b: "update_num" in spec.tags and a.kind == "ok"
          and _error(b, "integer out of range", "smallint out of range")),
    Known("fn.upper: ASCII-only on SQLite (its built-in upper), Unicode (ICU) on PostgreSQL",
          "tests/test_parity_queries.py::test_documented_upper_is_ascii_on_sqlite",
          lambda spec, env, a, b: "upper" in spec.tags and _all_cells(
              lambda x, y: isinstance(x, str) and x.upper() == y)(a, b)),
]


def classify(spec, env, ref: Outcome, other: Outcome):
    if ref.kind == "ok" and other.kind == "ok" and same(ref.value, other.value):
        return "identical", None
    if (ref.kind == other.kind == "refused" and type(ref.value) is type(other.value)
            and str(ref.value) == str(other.value)):
        return "refused", None
    for known in KNOWN:
        if known.matches(spec, env, ref, other):
            return "documented", known.name
    return "undocumented", None


@dataclasses.dataclass
class Report:
    counts: Counter
    by_env: dict
    documented: Counter
    undocumented: list
    queries: int
    seconds: float

    def summary(self) -> str:
        lines = [f"{self.queries} queries in {self.seconds:.1f} s: "
                 + ", ".join(f"{k} {self.counts.get(k, 0)}"
                             for k in ("identical", "refused", "documented", "undocumented"))]
        for env, counts in self.by_env.items():
            lines.append(f"  sqlite vs {env}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        for name, count in self.documented.most_common():
            lines.append(f"  documented ({count} queries): {name}")
        for case in self.undocumented[:40]:
            lines.append(f"  UNDOCUMENTED [{case['env']}] {case['family']}: {case['label']}\n"
                         f"    sqlite: {case['sqlite']}\n    {case['env']}: {case['other']}\n"
                         f"    sqlite sql: {case['sqlite_sql']}\n    {case['env']} sql: {case['other_sql']}")
        return "\n".join(lines)


_RANK = {"identical": 0, "refused": 1, "documented": 2, "undocumented": 3}


def open_all(urls):
    dbs = {}
    for env, url in urls.items():
        db = store.connect(url)
        Model = make_model()
        dbs[env] = (db, Model)
    return dbs


def run_queries(n: int, seed: int, urls, *, setup=True) -> Report:
    """Run ``n`` generated queries (``seed``) on every URL of ``urls``
    (``{"sqlite": ..., env: postgres_url, ...}``) and classify each against
    SQLite. The table is created and filled on each unless ``setup=False``."""
    start = time.monotonic()
    dbs = open_all(urls)
    data = rows()
    try:
        if setup:
            for env, (db, Model) in dbs.items():
                setup_backend(db, Model, data)
        else:
            for env, (db, Model) in dbs.items():
                Model._meta.schema = None
                db.bind_models([Model])
        counts, documented = Counter(), Counter()
        by_env = {env: Counter() for env in dbs if env != "sqlite"}
        undocumented = []
        for spec in generate(n, seed):
            ref_db, ref_model = dbs["sqlite"]
            ref = run_one(ref_db, ref_model, spec)
            worst, names = "identical", set()
            for env, (db, Model) in dbs.items():
                if env == "sqlite":
                    continue
                other = run_one(db, Model, spec)
                outcome, name = classify(spec, env, ref, other)
                by_env[env][outcome] += 1
                if name:
                    names.add(name)
                if outcome == "undocumented":
                    undocumented.append(dict(env=env, family=spec.family, label=spec.label,
                                             sqlite=ref.describe(), other=other.describe(),
                                             sqlite_sql=ref.sql, other_sql=other.sql))
                if _RANK[outcome] > _RANK[worst]:
                    worst = outcome
            counts[worst] += 1
            for name in names:
                documented[name] += 1             # queries, not comparisons
        return Report(counts, by_env, documented, undocumented, n, time.monotonic() - start)
    finally:
        for db, _ in dbs.values():
            if not db.is_closed():
                db.close()
