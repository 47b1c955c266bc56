"""LIKE is case-sensitive and ILIKE (contains/startswith/endswith) is
case-insensitive, Unicode included, with the same rows on both backends."""
from __future__ import annotations

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
