"""LIKE is case-sensitive and ILIKE (contains/startswith/endswith) is
case-insensitive, Unicode included, with the same rows on both backends."""
from __future__ import annotations

import sqlite3

import peewee
import pytest

import store


class Word(store.Model):
    text = store.CharField(max_length=40)


WORDS = ["Émile", "émile", "EMILE", "emile", "Emil", "Ångström", "ångström",
         "100% pure", "100 pure", "100%", "a_b", "axb", "A_B", "back\\slash",
         "Straße", "STRASSE", "école", "ÉCOLE", "Ωmega", "ωmega"]


@pytest.fixture
def words(db, tables):
    tables(Word)
    Word.insert_many([{"text": w} for w in WORDS]).execute()
    return db


def texts(query):
    return sorted(w.text for w in query)


def where(expr):
    return texts(Word.select().where(expr))


# The expectations are written once: both backends must give exactly these rows.
LIKE_CASES = [
    ("emile", ["emile"]),
    ("Emile", []),
    ("%mile", ["emile", "Émile", "émile"]),
    ("E%", ["EMILE", "Emil"]),
    ("É%", ["Émile", "ÉCOLE"]),
    ("é%", ["émile", "école"]),
    ("_mile", ["emile", "Émile", "émile"]),
    ("E_IL%", ["EMILE"]),
    ("Emil_", []),
    ("Emil", ["Emil"]),
    ("%ö%", ["Ångström", "ångström"]),
    ("a_b", ["a_b", "axb"]),
    ("%SS%", ["STRASSE"]),
    ("Ω%", ["Ωmega"]),
]


@pytest.mark.parametrize("pattern, expected", LIKE_CASES)
def test_like_is_case_sensitive(words, pattern, expected):
    assert where(Word.text.like(pattern)) == sorted(expected)
    assert where(Word.text % pattern) == sorted(expected)


ILIKE_CASES = [
    ("emile", ["EMILE", "emile"]),
    ("émile%", ["Émile", "émile"]),
    ("ÉMILE", ["Émile", "émile"]),
    ("%MIL%", ["EMILE", "Emil", "emile", "Émile", "émile"]),
    ("_mile", ["EMILE", "emile", "Émile", "émile"]),
    ("ÅNGSTRÖM", ["Ångström", "ångström"]),
    ("%Ö%", ["Ångström", "ångström"]),
    ("a_b", ["A_B", "a_b", "axb"]),
    ("straße", ["Straße"]),
    ("ΩMEGA", ["Ωmega", "ωmega"]),
    ("École", ["école", "ÉCOLE"]),
]


@pytest.mark.parametrize("pattern, expected", ILIKE_CASES)
def test_ilike_is_case_insensitive_unicode(words, pattern, expected):
    assert where(Word.text.ilike(pattern)) == sorted(expected)
    assert where(Word.text ** pattern) == sorted(expected)


@pytest.mark.parametrize("method, arg, expected", [
    ("contains", "MIL", ["EMILE", "Emil", "emile", "Émile", "émile"]),
    ("contains", "éMi", ["Émile", "émile"]),
    ("contains", "ÖM", ["Ångström", "ångström"]),
    ("contains", "%", ["100% pure", "100%"]),
    ("contains", "0% p", ["100% pure"]),
    ("contains", "_", ["A_B", "a_b"]),
    ("contains", "a_B", ["A_B", "a_b"]),
    ("contains", "\\", ["back\\slash"]),
    ("contains", "K\\S", ["back\\slash"]),
    ("startswith", "émi", ["Émile", "émile"]),
    ("startswith", "ÉCO", ["école", "ÉCOLE"]),
    ("startswith", "100%", ["100% pure", "100%"]),
    ("startswith", "100", ["100 pure", "100% pure", "100%"]),
    ("startswith", "a_", ["A_B", "a_b"]),
    ("endswith", "ILE", ["EMILE", "emile", "Émile", "émile"]),
    ("endswith", "STRÖM", ["Ångström", "ångström"]),
    ("endswith", "%", ["100%"]),
    ("endswith", "_b", ["A_B", "a_b"]),
    ("endswith", "MEGA", ["Ωmega", "ωmega"]),
])
def test_contains_startswith_endswith(words, method, arg, expected):
    assert where(getattr(Word.text, method)(arg)) == sorted(expected)


def test_contains_with_expression_argument(words):
    # a Node argument is concatenated, not escaped, and still folds case; its
    # backslash is an escape on both ('back\\slash' as a pattern is 'backslash')
    assert where(Word.text.contains(Word.text)) == sorted(w for w in WORDS if "\\" not in w)
    assert where(Word.text.startswith(peewee.Value("ÉMI"))) == ["Émile", "émile"]
    assert where(Word.text.endswith(peewee.Value("%ÖM"))) == ["Ångström", "ångström"]


@pytest.mark.parametrize("pattern, expected", [
    ("a\\_b", ["a_b"]),                  # \_ is a literal underscore
    ("A\\_B", ["A_B"]),
    ("%\\%", ["100%"]),                  # ends with a literal %
    ("100\\%%", ["100% pure", "100%"]),
    ("back\\\\slash", ["back\\slash"]),  # \\ is a literal backslash
    ("back\\slash", []),                 # \s is just s: 'backslash'
])
def test_backslash_escapes_in_like_patterns(words, pattern, expected):
    assert where(Word.text.like(pattern)) == sorted(expected)
    assert where(Word.text.ilike(pattern)) == sorted(
        w for w in WORDS if w.lower() in {e.lower() for e in expected})


def test_like_and_ilike_combined_and_negated(words):
    assert where(Word.text.ilike("%mile") & ~Word.text.like("%mile")) == ["EMILE"]
    assert where(~Word.text.contains("E")) == sorted(w for w in WORDS if "e" not in w.lower())


def test_like_in_update_and_delete(words):
    changed = Word.update(text=Word.text.concat("!")).where(Word.text.ilike("é%")).execute()
    assert changed == 4                     # Émile, émile, école, ÉCOLE
    deleted = Word.delete().where(Word.text.endswith("E!")).execute()
    assert deleted == 4
    assert not Word.select().where(Word.text.contains("!")).exists()


def test_same_rows_on_both_backends(sqlite_url, pg_url):
    patterns = [p for p, _ in LIKE_CASES] + [p for p, _ in ILIKE_CASES] + \
        ["%", "_", "%_%", "", "%%", "__", "%e", "%E", "%É%", "%ß",
         "a\\_b", "%\\%", "%\\\\%", "back\\slash"]
    results = {}
    for url in (sqlite_url, pg_url):
        with store.open(url, models=[Word]) as db:
            db.create_tables([Word])
            Word.insert_many([{"text": w} for w in WORDS]).execute()
            out = []
            for p in patterns:
                out.append(where(Word.text.like(p)))
                out.append(where(Word.text.ilike(p)))
                out.append(where(Word.text.contains(p)))
                out.append(where(Word.text.startswith(p)))
                out.append(where(Word.text.endswith(p)))
            results[db.features.name] = out
    assert results["sqlite"] == results["postgresql"]
    assert any(results["sqlite"])           # not trivially empty


# --- LIKE in schema objects and against other clients (issue 11) -----------------
#
# store used to turn on PRAGMA case_sensitive_like, which makes SQLite's LIKE
# non-deterministic: SQLite refused LIKE in partial indexes and index
# expressions, a file that already had one got index entries other clients
# disagreed with, and a schema change by another connection made the store
# connection fail with "malformed database schema". LIKE is now rendered as
# GLOB (a known pattern) or store_like (a pattern that is SQL) on SQLite.

class Sku(store.Model):
    code = store.CharField(max_length=40)
    n = store.IntegerField(default=0)

    class Meta:
        table_name = "like_sku"


Sku.add_index(Sku.index(Sku.code, name="ix_like_sku_tmp", where=Sku.code.like("TMP-%")))
Sku.add_index(Sku.index(Sku.n, name="ix_like_sku_ab", where=Sku.code.startswith("ab")))


class SkuExpr(store.Model):
    code = store.CharField(max_length=40)

    class Meta:
        table_name = "like_sku_expr"


# NodeList(parens=True): peewee writes a lone expression in an index as
# ("code" LIKE ...), which PostgreSQL refuses; (("code" LIKE ...)) works on both
SkuExpr.add_index(SkuExpr.index(peewee.NodeList((SkuExpr.code.like("TMP-%"),), parens=True),
                                name="ix_like_sku_expr_tmp"))
SkuExpr.add_index(SkuExpr.index(peewee.NodeList((SkuExpr.code.contains("ab"),), parens=True),
                                name="ix_like_sku_expr_ab"))


class Plain(store.Model):
    """A table store creates without any LIKE; another client adds one."""
    code = store.CharField(max_length=40)

    class Meta:
        table_name = "like_plain"


CODES = ["TMP-1", "tmp-2", "TMP_3", "TMPX4", "abc", "ABD", "Ab*", "xab", "a[b]"]


@pytest.fixture
def plain(db, backend_url):
    """``(connection, run)``: a second, plain DB-API connection to the same
    database (sqlite3 / psycopg), and ``run(sql, *params)`` with ``?``
    placeholders that commits. On SQLite it has ``store_lower`` (Python's
    ``str.lower``), as any client writing a table indexed with ILIKE needs."""
    if db.features.name == "sqlite":
        conn = sqlite3.connect(db.database)
        conn.create_function("store_lower", 1, store.database._lower, deterministic=True)
        mark = "?"
    else:
        import psycopg
        conn = psycopg.connect(backend_url)
        mark = "%s"

    def run(sql, *params):
        cursor = conn.cursor()
        if params:
            cursor.execute(sql.replace("?", mark), params)
        else:                                     # psycopg: % is then itself
            cursor.execute(sql)
        rows = cursor.fetchall() if cursor.description else None
        conn.commit()
        return rows
    yield conn, run
    conn.close()


def texts_of(query):
    return sorted(row.code for row in query)


def integrity_ok(db):
    if db.features.name == "sqlite":
        assert db.execute_sql("PRAGMA integrity_check").fetchall() == [("ok",)]


def plan(db, query):
    sql, params = query.sql()
    if db.features.name == "sqlite":
        rows = db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return " ".join(str(r[-1]) for r in rows)
    with db.atomic():
        db.execute_sql("SET LOCAL enable_seqscan = off")
        rows = db.execute_sql("EXPLAIN " + sql, params).fetchall()
    return " ".join(r[0] for r in rows)


def test_partial_indexes_with_like_and_startswith(db, tables, plain):
    tables(Sku)                                      # CREATE INDEX ... WHERE LIKE
    _conn, run = plain
    Sku.insert_many([{"code": c, "n": i} for i, c in enumerate(CODES)]).execute()
    run("INSERT INTO like_sku (code, n) VALUES (?, ?), (?, ?), (?, ?)",
        "TMP-5", 50, "tmp-6", 60, "abz", 70)
    Sku.update(code="TMP-7").where(Sku.code == "TMPX4").execute()       # enters
    Sku.update(code="abq").where(Sku.code == "ABD").execute()           # enters
    run("UPDATE like_sku SET code = ? WHERE code = ?", "zz", "TMP-1")   # leaves
    run("UPDATE like_sku SET code = ? WHERE code = ?", "ABY", "xab")    # enters
    Sku.delete().where(Sku.code == "abc").execute()
    integrity_ok(db)

    tmp = Sku.select(Sku.code).where(Sku.code.like("TMP-%"))
    assert texts_of(tmp) == ["TMP-5", "TMP-7"]
    assert "ix_like_sku_tmp" in plan(db, tmp)
    ab = Sku.select(Sku.n).where(Sku.code.startswith("ab"))
    assert sorted(s.n for s in ab) == [5, 6, 7, 70]     # abq, Ab*, ABY, abz
    assert "ix_like_sku_ab" in plan(db, ab)
    # the other client reads the same rows through the same indexes
    assert sorted(r[0] for r in run("SELECT code FROM like_sku WHERE code GLOB 'TMP-*'"
                                    if db.features.name == "sqlite" else
                                    "SELECT code FROM like_sku WHERE code LIKE 'TMP-%'")) \
        == ["TMP-5", "TMP-7"]


def test_expression_indexes_with_like_and_contains(db, tables, plain):
    tables(SkuExpr)                                  # CREATE INDEX ... ((code LIKE ...))
    _conn, run = plain
    SkuExpr.insert_many([{"code": c} for c in CODES]).execute()
    run("INSERT INTO like_sku_expr (code) VALUES (?), (?)", "TMP-8", "xAB")
    SkuExpr.update(code="TMP-9").where(SkuExpr.code == "TMP_3").execute()
    run("UPDATE like_sku_expr SET code = ? WHERE code = ?", "TMPY", "TMP-1")
    integrity_ok(db)
    assert texts_of(SkuExpr.select().where(SkuExpr.code.like("TMP-%"))) == \
        ["TMP-8", "TMP-9"]
    assert texts_of(SkuExpr.select().where(SkuExpr.code.contains("ab"))) == \
        ["ABD", "Ab*", "abc", "xAB", "xab"]


def test_like_index_made_by_another_client(db, tables, plain):
    """A file that already has a LIKE index (another tool, an older store):
    rows written through store keep the index whole, and a schema change by
    the other client does not break the store connection."""
    tables(Plain)
    _conn, run = plain
    run("CREATE INDEX ix_like_plain_tmp ON like_plain (code) WHERE code LIKE 'TMP-%'")
    db.close()
    db.connect()                                     # a connection that sees the index
    Plain.insert_many([{"code": c} for c in CODES]).execute()
    run("INSERT INTO like_plain (code) VALUES (?)", "tmp-10")
    Plain.update(code="tmp-11").where(Plain.code == "TMPX4").execute()
    integrity_ok(db)

    run("CREATE TABLE like_other (x INTEGER)")        # the schema changes
    assert texts_of(Plain.select().where(Plain.code.like("TMP-%"))) == ["TMP-1"]
    Plain.create(code="TMP-12")
    assert Plain.select().where(Plain.code.ilike("tmp-%")).count() == 5
    integrity_ok(db)


def test_schema_change_by_another_connection(db, tables, plain):
    """The store connection has read the schema; another client adds a LIKE
    index and a table: store re-reads the schema and carries on."""
    tables(Plain)
    _conn, run = plain
    Plain.create(code="TMP-1")
    run("CREATE INDEX ix_like_plain_tmp ON like_plain (code) WHERE code LIKE 'TMP-%'")
    run("CREATE TABLE like_other (x INTEGER)")
    run("INSERT INTO like_other (x) VALUES (?)", 1)
    Plain.create(code="TMP-2")                     # no "malformed database schema"
    assert texts_of(Plain.select().where(Plain.code.like("TMP-%"))) == ["TMP-1", "TMP-2"]
    assert db.execute_sql("SELECT count(*) FROM like_other").fetchone()[0] == 1
    integrity_ok(db)


# --- edge patterns: the same rows on both backends ---------------------------------

EDGE_TEXTS = ["a*b", "a?b", "a[b]", "[x]", "axb", "a_b", "a%b", "a\\b", "a\\",
              "100%", "x", "", "ab", "aXb", "A*B"]

EDGE_LIKE = [
    ("%", EDGE_TEXTS),
    ("_", ["x"]),
    ("a*b", ["a*b"]),                    # GLOB metacharacters are plain text
    ("a?b", ["a?b"]),
    ("a[b]", ["a[b]"]),
    ("[%", ["[x]"]),
    ("%]", ["[x]", "a[b]"]),
    ("a[_]", ["a[b]"]),                 # [ and ] are plain text too
    ("%*%", ["A*B", "a*b"]),
    ("%?%", ["a?b"]),
    ("a_b", ["a%b", "a*b", "a?b", "a\\b", "aXb", "a_b", "axb"]),
    ("a\\_b", ["a_b"]),
    ("a\\%b", ["a%b"]),
    ("%\\%", ["100%"]),
    ("a\\\\b", ["a\\b"]),
    ("a\\\\", ["a\\"]),
    ("%\\\\%", ["a\\", "a\\b"]),
    ("a\\xb", ["axb"]),                  # \x is x
    ("a\\*b", ["a*b"]),
    ("", [""]),
]


@pytest.fixture
def edge(db, tables):
    tables(Word)
    Word.insert_many([{"text": w} for w in EDGE_TEXTS]).execute()
    return db


@pytest.mark.parametrize("pattern, expected", EDGE_LIKE)
def test_edge_patterns(edge, pattern, expected):
    assert where(Word.text.like(pattern)) == sorted(expected)
    folded = {e.lower() for e in expected}
    assert where(Word.text.ilike(pattern)) == sorted(
        w for w in EDGE_TEXTS if w.lower() in folded)   # every match has its lower twin


@pytest.mark.parametrize("method", ["contains", "startswith", "endswith"])
@pytest.mark.parametrize("arg", ["*", "?", "[", "]", "%", "_", "\\", "a\\", "[x", "*B"])
def test_edge_contains(edge, method, arg):
    test = {"contains": lambda w: arg.lower() in w.lower(),
            "startswith": lambda w: w.lower().startswith(arg.lower()),
            "endswith": lambda w: w.lower().endswith(arg.lower())}[method]
    assert where(getattr(Word.text, method)(arg)) == sorted(filter(test, EDGE_TEXTS))


@pytest.mark.parametrize("pattern, escape, expected", [
    ("a!_b", "!", ["a_b"]),
    ("a!%b", "!", ["a%b"]),
    ("a!!%", "!", []),
    ("%!*%", "!", ["A*B", "a*b"]),
    ("a\\_b", "!", []),                 # \ is plain text: a, \, any one char, b
    ("a\\%", "!", ["a\\", "a\\b"]),
    ("a\\%", "", ["a\\", "a\\b"]),      # ESCAPE '': no escape character
    ("a_b", "", ["a%b", "a*b", "a?b", "a\\b", "aXb", "a_b", "axb"]),
    ("%a%", "a", ["100%"]),              # a letter as the escape: a% is a literal %
])
def test_explicit_escape_clause(edge, pattern, escape, expected):
    clause = peewee.NodeList((peewee.Value(pattern, converter=False), peewee.SQL("ESCAPE"),
                              peewee.Value(escape, converter=False)))
    assert where(Word.text.like(clause)) == sorted(expected)


@pytest.mark.parametrize("pattern", ["a\\", "\\", "%\\", "a\\\\\\"])
def test_trailing_escape_refused_before_the_database(edge, pattern):
    for make in (Word.text.like, Word.text.ilike, lambda p: Word.text % p):
        with edge.atomic():              # a failed statement would abort it on PostgreSQL
            with pytest.raises(store.ValidationError) as info:
                where(make(pattern))
            assert info.value.field == "word.text"
            assert "ends with the escape character" in info.value.reason
            assert repr(pattern) in str(info.value)
            assert Word.select().count() == len(EDGE_TEXTS)  # the transaction is fine
    clause = peewee.NodeList((peewee.Value("a!", converter=False), peewee.SQL("ESCAPE"),
                              peewee.Value("!", converter=False)))
    with pytest.raises(store.ValidationError):
        where(Word.text.like(clause))


class Pattern(store.Model):
    text = store.CharField(max_length=20)
    pattern = store.CharField(max_length=20)

    class Meta:
        table_name = "like_pattern"


def test_pattern_from_a_column(db, tables):
    """A pattern that is SQL (here a column) has the same meaning."""
    tables(Pattern)
    pairs = [("a*b", "a*b"), ("axb", "a*b"), ("a?b", "a?b"), ("axb", "a?b"), ("a[b]", "a[b]"),
             ("ab", "a[b]"), ("a_b", "a\\_b"), ("axb", "a\\_b"), ("ABC", "a%"),
             ("abc", "a%"), ("a\\b", "a\\\\b"), ("a%", "a\\%"), ("aé", "a_"), ("AÉ", "a_")]
    Pattern.insert_many([{"text": t, "pattern": p} for t, p in pairs]).execute()
    like = Pattern.select().where(Pattern.text.like(Pattern.pattern))
    assert sorted((r.text, r.pattern) for r in like) == sorted([
        ("a*b", "a*b"), ("a?b", "a?b"), ("a[b]", "a[b]"), ("a_b", "a\\_b"),
        ("abc", "a%"), ("a\\b", "a\\\\b"), ("a%", "a\\%"), ("aé", "a_")])
    ilike = Pattern.select().where(Pattern.text.ilike(Pattern.pattern))
    assert sorted((r.text, r.pattern) for r in ilike) == sorted([
        ("a*b", "a*b"), ("a?b", "a?b"), ("a[b]", "a[b]"), ("a_b", "a\\_b"),
        ("abc", "a%"), ("ABC", "a%"), ("a\\b", "a\\\\b"), ("a%", "a\\%"),
        ("aé", "a_"), ("AÉ", "a_")])

    # A pattern from the table that ends with the escape cannot be refused
    # beforehand: as on PostgreSQL, it fails when a match reaches the escape.
    Pattern.delete().execute()
    Pattern.insert_many([{"text": "x", "pattern": "x\\"},      # the text ends first
                         {"text": "y", "pattern": "x\\"}]).execute()  # x != y first
    assert Pattern.select().where(Pattern.text.like(Pattern.pattern)).count() == 0
    Pattern.create(text="xz", pattern="x\\")                 # reaches the escape
    for make in (Pattern.text.like, Pattern.text.ilike):
        with pytest.raises((peewee.DatabaseError, sqlite3.DatabaseError)):
            with db.atomic():
                list(Pattern.select().where(make(Pattern.pattern)))


# --- case folding is Unicode's full mapping on both, whatever the database's ctype ---
#
# PostgreSQL folds ILIKE/lower by the database's ctype (a C-locale or a
# libc C.UTF-8 database: 'ΣΑΣ' -> 'σασ', 'İ' -> 'i'); store renders them
# with COLLATE "und-x-icu" (ICU's root locale, which folds as Python's
# str.lower does, store_lower on SQLite): final sigma, dotted capital I.

FOLDS = ["ΣΑΣ", "σας", "İstanbul", "i̇stanbul", "istanbul", "Straße", "ǅ", "ǆ"]


@pytest.fixture
def folds(db, tables):
    tables(Word)
    Word.insert_many([{"text": w} for w in FOLDS]).execute()
    return db


@pytest.mark.parametrize("pattern, expected", [
    ("σας", ["ΣΑΣ", "σας"]),
    ("%Σ", []),                     # a lone Σ lowers to σ, a final one to ς (as Python)
    ("i̇stanbul", ["İstanbul", "i̇stanbul"]),
    ("istanbul", ["istanbul"]),
    ("Ǆ", ["ǅ", "ǆ"]),
])
def test_ilike_folds_greek_and_turkish_as_python(folds, pattern, expected):
    assert where(Word.text.ilike(pattern)) == sorted(expected)


def test_contains_folds_final_sigma(folds):
    assert where(Word.text.contains("Σ")) == sorted(["ΣΑΣ", "σας"])
    assert where(Word.text.endswith("ς")) == sorted(["ΣΑΣ", "σας"])
