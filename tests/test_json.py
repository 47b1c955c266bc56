"""JSONField: the same documents and the same query results on SQLite and
PostgreSQL; bad documents refused before the database is touched."""
from __future__ import annotations

import math

import peewee
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import store

PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


class Doc(store.Model):
    data = store.JSONField(null=True)


def read(pk):
    return Doc.get_by_id(pk).data


def ids(query):
    return sorted(d.id for d in query)


# --- round trips ------------------------------------------------------------------

# PostgreSQL's jsonb reads an integral float of magnitude >= 1e16 back as the
# equal int (documented in JSONField); such floats are tested separately.
floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda f: not (f.is_integer() and abs(f) >= 1e16))
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=20)
scalars = (st.none() | st.booleans() | text | floats
           | st.integers(min_value=-10 ** 30, max_value=10 ** 30))
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(text, children, max_size=4),
    max_leaves=12)


def test_property_round_trip(db, tables):
    tables(Doc)

    @PROPERTY
    @given(doc=documents.filter(lambda d: d is not None))
    def check(doc):
        Doc.delete().execute()
        pk = Doc.create(data=doc).id
        back = read(pk)
        assert back == doc
        assert type(back) is type(doc)

    check()


@pytest.mark.parametrize("doc", [
    {"a": 1, "b": [1, 2, {"c": None}], "d": {"e": {"f": [True, False]}}},
    [1, "two", 3.5, None, [], {}],
    {"ключ": "значение", "emoji": "\U0001F600", "cjk": "漢字", "quote": "a\"b\\c"},
    {"big": 2 ** 64 + 1, "neg": -(2 ** 70), "huge": 10 ** 40},
    {"f": 0.1, "g": -2.5e-300, "h": 1e15 + 0.5, "i": 5.0},
    "just a string", 42, 1.25, True, False, [], {},
])
def test_round_trip_examples(db, tables, doc):
    tables(Doc)
    pk = Doc.create(data=doc).id
    back = read(pk)
    assert back == doc
    assert type(back) is type(doc)
    if isinstance(doc, dict) and "f" in doc:
        assert type(back["i"]) is float        # 5.0 stays a float on both


def test_big_ints_exact(db, tables):
    tables(Doc)
    value = 2 ** 64 + 12345
    pk = Doc.create(data={"n": value}).id
    assert read(pk)["n"] == value
    assert isinstance(read(pk)["n"], int)
    assert ids(Doc.select().where(Doc.data["n"] == value)) == [pk]


def test_integral_float_of_1e16_or_more_documented_difference(db, tables):
    """JSONField's docstring: such floats read back as the equal int on
    PostgreSQL (jsonb normalises numbers), as float on SQLite."""
    tables(Doc)
    doc = {"a": 1e16, "b": -3e20, "c": 1.5e300}
    back = read(Doc.create(data=doc).id)
    expected_type = int if db.features.name == "postgresql" else float
    assert {type(v) for v in back.values()} == {expected_type}
    assert back["a"] == 1e16 and back["a"] == 10 ** 16      # equal on both
    assert back["b"] == -3e20 and back["b"] == -3 * 10 ** 20
    assert {k: float(v) for k, v in back.items()} == doc      # float() gives it back
    if db.features.name == "postgresql":
        # not exactly representable: the int of its shortest text, not equal
        assert back["c"] == 15 * 10 ** 299 and back["c"] != 1.5e300
    else:
        assert back["c"] == 1.5e300


def test_none_is_sql_null(db, tables):
    tables(Doc)
    pk = Doc.create(data=None).id
    other = Doc.create(data={"x": 1}).id
    assert read(pk) is None
    raw = db.execute_sql('SELECT data IS NULL FROM doc WHERE id = %s'
                         % pk).fetchone()[0]
    assert raw in (1, True)
    assert ids(Doc.select().where(Doc.data.is_null())) == [pk]
    assert ids(Doc.select().where(Doc.data.is_null(False))) == [other]


# --- queries: the same rows on both -----------------------------------------------

@pytest.fixture
def docs(db, tables):
    tables(Doc)
    rows = [
        {"a": [{"b": 1}], "weeks": [1, 2, 9], "tag": "x"},          # 1
        {"a": [{"b": "1"}], "weeks": [1, 2, 10], "tag": "y"},       # 2
        {"a": [{"b": 1.5}], "weeks": [1, 2, 11]},                   # 3
        {"a": [{"b": 2}, {"b": 1}], "weeks": [0, 0, 100.5]},        # 4
        {"weeks": [1, 2, "lots"], "tag": None},                     # 5
        {"weeks": [1, 2, 2 ** 70]},                                 # 6
        None,                                                       # 7
        [1, 2, 3],                                                  # 8
        {"n": 5.0},                                                 # 9
    ]
    return [Doc.create(data=r).id for r in rows]


def test_path_equality(docs):
    assert ids(Doc.select().where(Doc.data["a"][0]["b"] == 1)) == [1]
    assert ids(Doc.select().where(Doc.data["a"][0]["b"] == "1")) == [2]
    assert ids(Doc.select().where(Doc.data["a"][0]["b"] == 1.5)) == [3]
    assert ids(Doc.select().where(Doc.data["a"][1]["b"] == 1)) == [4]
    assert ids(Doc.select().where(Doc.data["tag"] == "x")) == [1]
    assert ids(Doc.select().where(Doc.data.path("a", 0, "b") == 2)) == [4]


def test_path_number_equality_is_numeric(docs):
    # 5.0 and 5 are the same JSON number on both backends
    assert ids(Doc.select().where(Doc.data["n"] == 5)) == [9]
    assert ids(Doc.select().where(Doc.data["n"] == 5.0)) == [9]
    assert ids(Doc.select().where(Doc.data["weeks"][2] == 2 ** 70)) == [6]


def test_path_not_equal(docs):
    # rows with the path holding anything other than 1 (missing paths and
    # SQL NULL are unknown, so not returned)
    assert ids(Doc.select().where(Doc.data["a"][0]["b"] != 1)) == [2, 3, 4]


def test_path_numeric_comparisons(docs):
    assert ids(Doc.select().where(Doc.data["weeks"][2] > 10)) == [3, 4, 6]
    assert ids(Doc.select().where(Doc.data["weeks"][2] >= 10)) == [2, 3, 4, 6]
    assert ids(Doc.select().where(Doc.data["weeks"][2] < 10)) == [1]
    assert ids(Doc.select().where(Doc.data["weeks"][2] <= 10.5)) == [1, 2]
    assert ids(Doc.select().where(Doc.data["weeks"][2] > 100.25)) == [4, 6]
    assert ids(Doc.select().where(Doc.data["weeks"][2].between(9, 11))) == [1, 2, 3]
    assert ids(Doc.select().where(Doc.data["weeks"][2] > 2 ** 65)) == [6]


def test_path_cast_comparisons(docs):
    query = Doc.select().where(Doc.data["weeks"][1] == 2)
    assert ids(query) == [1, 2, 3, 5, 6]
    # explicit casts of numeric-only paths agree too
    assert ids(Doc.select().where(Doc.data["weeks"][0].as_int() >= 1)) == [1, 2, 3, 5, 6]
    assert ids(Doc.select().where(Doc.data["a"][0]["b"].as_text() == "1")) == [1, 2]
    assert ids(Doc.select().where(Doc.data["a"][0]["b"].as_text() == "1.5")) == [3]
    assert ids(Doc.select().where(Doc.data["tag"].as_text() == "x")) == [1]
    assert ids(Doc.select().where(Doc.data["weeks"][2].as_text().startswith("l"))) == [5]


def test_as_text_values_identical(db, tables):
    tables(Doc)
    pk = Doc.create(data={"t": True, "f": False, "n": None, "i": -7, "s": "hi",
                          "d": 2.25}).id
    query = Doc.select(*[Doc.data[k].as_text().alias(k)
                         for k in ("t", "f", "n", "i", "s", "d")]).where(Doc.id == pk)
    assert query.dicts().get() == {"t": "true", "f": "false", "n": None, "i": "-7",
                                   "s": "hi", "d": "2.25"}


def test_contains(docs):
    assert ids(Doc.select().where(Doc.data.contains({"weeks": [10]}))) == [2]
    assert ids(Doc.select().where(Doc.data.contains({"tag": "x"}))) == [1]
    assert ids(Doc.select().where(Doc.data["a"].contains([{"b": 1}]))) == [1, 4]
    assert ids(Doc.select().where(Doc.data.contains([2]))) == [8]


def test_has_key(docs):
    assert ids(Doc.select().where(Doc.data.has_key("tag"))) == [1, 2, 5]
    assert ids(Doc.select().where(Doc.data.has_key("a"))) == [1, 2, 3, 4]
    assert ids(Doc.select().where(Doc.data["a"][0].has_key("b"))) == [1, 2, 3, 4]
    assert ids(Doc.select().where(Doc.data.has_key("nope"))) == []


def test_path_equals_none_matches_missing_null_and_json_null(docs):
    assert ids(Doc.select().where(Doc.data["tag"] == None)) == [  # noqa: E711
        3, 4, 5, 6, 7, 8, 9]


# --- schema and refusals -----------------------------------------------------------

def test_column_type_and_database_refuses_non_json(db, tables):
    tables(Doc)
    if db.features.name == "postgresql":
        (kind,) = db.execute_sql(
            "SELECT data_type FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = 'doc' AND column_name = 'data'").fetchone()
        assert kind == "jsonb"
        with pytest.raises(peewee.DataError):          # jsonb input syntax
            with db.atomic():
                db.execute_sql("INSERT INTO doc (data) VALUES ('{not json')")
    else:
        (kind,) = db.execute_sql(
            "SELECT type FROM pragma_table_info('doc') WHERE name = 'data'").fetchone()
        assert kind.upper() == "TEXT"
        with pytest.raises(store.CheckViolation) as info:
            db.execute_sql("INSERT INTO doc (data) VALUES ('{not json')")
        assert info.value.constraint == "ck_doc_data_json"
        assert info.value.table == "doc"
    assert Doc.select().count() == 0
    db.execute_sql("INSERT INTO doc (data) VALUES ('{\"ok\": 1}')")
    assert Doc.get().data == {"ok": 1}


@pytest.mark.parametrize("bad", [
    float("nan"), float("inf"), -math.inf, {"x": [1, float("nan")]},
    "a\x00b", {"k\x00": 1}, ["\x00"], {"x": object()},
])
def test_bad_documents_refused_before_db(db, tables, bad):
    tables(Doc)
    with pytest.raises(store.ValidationError) as info:
        Doc.create(data=bad)
    assert info.value.field == "doc.data"
    with pytest.raises(store.ValidationError):
        Doc.insert_many([{"data": bad}]).execute()
    pk = Doc.create(data={"ok": True}).id
    with pytest.raises(store.ValidationError):
        Doc.update(data=bad).where(Doc.id == pk).execute()
    assert [d.data for d in Doc.select()] == [{"ok": True}]


def test_bad_document_leaves_table_empty(db, tables):
    tables(Doc)
    with pytest.raises(store.ValidationError, match=r"doc\.data.*NaN"):
        Doc.create(data={"v": float("nan")})
    with pytest.raises(store.ValidationError, match=r"doc\.data.*NUL"):
        Doc.create(data="\u0000")
    assert Doc.select().count() == 0


def test_numeric_path_comparison_uses_the_index_key_on_both(db):
    """A numeric comparison of a JSON path uses an index declared with
    ``index_key()`` (SQLite matches expressions only when spelled the same:
    the path is inlined, not bound)."""
    class Curve(store.Model):
        data = store.JSONField()

        class Meta:
            table_name = "curve_ix"
            database = db
    Curve.add_index(Curve.index(Curve.data["w"][2].index_key(), name="ix_curve_w2"))
    Curve.create_table()
    Curve.insert_many([{"data": {"w": [i, 0, i % 500]}} for i in range(3000)]
                      + [{"data": {"w": [0, 0, "900"]}}]).execute()
    query = Curve.select().where(Curve.data["w"][2] > 497).order_by(Curve.id)
    assert query.count() == 12                      # 498, 499 x 6; the string "900" is not a number
    sql, params = query.sql()
    if db.features.name == "sqlite":
        plan = " ".join(str(r) for r in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
    else:
        db.execute_sql("ANALYZE curve_ix")
        with db.atomic():
            db.execute_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(r[0] for r in db.execute_sql("EXPLAIN " + sql, params))
    assert "ix_curve_w2" in plan
    Curve.drop_table()


@pytest.mark.parametrize("text", ["\\u0000", "a\\u0000b", "\\\\u0000", "\\"])
def test_backslash_u0000_text_is_not_a_nul(db, tables, text):
    """The six characters \\u0000 in a string are text, not a NUL: stored
    and read back as given through the ORM and the fast path (they were
    refused as a NUL); a real NUL is still refused on both."""
    from store import fast
    tables(Doc)
    doc = Doc.create(data={"k": text})
    fast.bulk_insert(Doc, [{"data": [text]}])
    assert Doc.get_by_id(doc.id).data == {"k": text}
    assert [d.data for d in Doc.select().order_by(Doc.id)][1] == [text]
    with pytest.raises(store.ValidationError):
        Doc.create(data={"k": text + "\x00"})
