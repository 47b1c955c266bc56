"""Migrations keep every value (issue 12): type changes convert values the
same way on both backends, narrowing is refused (before anything changes)
or done only when asked, the proof of ``create --auto`` runs with rows, and
generated sequences of model versions migrate up and down with rows.

``STORE_EVOLUTION_LONG=1`` runs many sequences (``STORE_EVOLUTION_SEQUENCES``
of them, default 40) and prints their counts."""
from __future__ import annotations

import decimal
import os
import random
import textwrap

import pytest

import store
from store.errors import MigrationError
from store.migrate import App, StoreRouter
from store.migrate import autogen


@pytest.fixture
def prove_on(db, request):
    if db.features.name == "sqlite":
        return {"sqlite": None}
    return {"postgresql": request.getfixturevalue("pg_database")}


def model(table, **fields):
    meta = type("Meta", (), {"table_name": table})
    return type("".join(p.title() for p in table.split("_")), (store.Model,),
                dict(fields, Meta=meta))


def versions(db, tmp_path, prove_on, *models_per_version, rows=(), **create):
    """Migrate through each version (``create --auto``) on ``db``; ``rows``
    inserted after the first. Returns the router of the last version."""
    router = None
    for i, models in enumerate(models_per_version):
        app = App("evo", list(models), tmp_path / "migrations" / "evo")
        autogen.create(app, f"v{i}", backends=prove_on, **(create if i else {}))
        router = StoreRouter(db, app)
        router.run()
        if i == 0:
            db.bind_models(list(models))
            for m, data in rows:
                m.create(**data)
    return router


def values(db, sql):
    return [tuple(r) for r in db.execute_sql(sql).fetchall()]


# --- type changes convert values, the same on both backends ----------------------------

def test_integer_to_decimal_keeps_the_number(db, tmp_path, prove_on):
    v1 = model("conv", n=store.IntegerField())
    v2 = model("conv", n=store.DecimalField(10, 2))
    router = versions(db, tmp_path, prove_on, [v1], [v2], rows=[(v1, {"n": 16})])
    db.bind_models([v2])
    assert [r.n for r in v2.select()] == [decimal.Decimal("16.00")]
    router.rollback(1)
    assert values(db, "SELECT n FROM conv") == [(16,)]


def test_decimal_scale_widening_keeps_the_number(db, tmp_path, prove_on):
    v1 = model("conv", n=store.DecimalField(8, 2))
    v2 = model("conv", n=store.DecimalField(8, 3))
    router = versions(db, tmp_path, prove_on, [v1], [v2],
                      rows=[(v1, {"n": decimal.Decimal("12.34")})])
    db.bind_models([v2])
    assert [r.n for r in v2.select()] == [decimal.Decimal("12.340")]
    router.rollback(1)
    db.bind_models([v1])
    assert [r.n for r in v1.select()] == [decimal.Decimal("12.34")]


def test_decimal_scale_narrowing_is_refused_or_rounded_when_asked(db, tmp_path, prove_on):
    v1 = model("conv", n=store.DecimalField(8, 3))
    v2 = model("conv", n=store.DecimalField(8, 2))
    app = App("evo", [v1], tmp_path / "migrations" / "evo")
    autogen.create(app, "v0", backends=prove_on)
    StoreRouter(db, app).run()
    db.bind_models([v1])
    v1.create(n=decimal.Decimal("12.345"))
    v1.create(n=decimal.Decimal("-1.005"))
    v1.create(n=decimal.Decimal("7.5"))
    app2 = App("evo", [v2], app.migrations_dir)
    created = autogen.create(app2, "v1", backends=prove_on)
    assert "round=True rounds them" in created.source
    with pytest.raises(MigrationError, match=r"conv.n: 2 row\(s\) hold more than the new "
                                             r"2 decimal place\(s\).*round=True"):
        StoreRouter(db, app2).run()
    assert values(db, "SELECT COUNT(*) FROM conv")[0][0] == 3        # nothing changed
    db.bind_models([v1])
    assert sorted(r.n for r in v1.select()) == [decimal.Decimal(x) for x in
                                                ("-1.005", "7.500", "12.345")]
    created.path.write_text(created.source.replace(
        "old=store.DecimalField(max_digits=8, decimal_places=3))",
        "old=store.DecimalField(max_digits=8, decimal_places=3), round=True)", 1))
    StoreRouter(db, app2).run()
    db.bind_models([v2])
    assert sorted(r.n for r in v2.select()) == [decimal.Decimal(x) for x in
                                                ("-1.01", "7.50", "12.35")]
    assert sorted(float(r[0]) for r in values(db, "SELECT n FROM conv")) == \
        [-1.01, 7.5, 12.35]                   # the stored number, not only the reading


def test_decimal_integer_digits_narrowing_is_refused(db, tmp_path, prove_on):
    v1 = model("conv", n=store.DecimalField(10, 2))
    v2 = model("conv", n=store.DecimalField(5, 2))
    app = App("evo", [v1], tmp_path / "migrations" / "evo")
    autogen.create(app, "v0", backends=prove_on)
    StoreRouter(db, app).run()
    db.bind_models([v1])
    v1.create(n=decimal.Decimal("12345.67"))
    app2 = App("evo", [v2], app.migrations_dir)
    autogen.create(app2, "v1", backends=prove_on)
    with pytest.raises(MigrationError, match=r"conv.n: 1 row\(s\) hold a number of 1000 "
                                             r"or more"):
        StoreRouter(db, app2).run()


def test_shortening_text_is_refused_or_truncated_when_asked(db, tmp_path, prove_on):
    v1 = model("conv", s=store.CharField(max_length=40))
    v2 = model("conv", s=store.CharField(max_length=10))
    app = App("evo", [v1], tmp_path / "migrations" / "evo")
    autogen.create(app, "v0", backends=prove_on)
    StoreRouter(db, app).run()
    db.bind_models([v1])
    v1.create(s="abcdefghijklmnopqrstuvwxyz")
    v1.create(s="éééééééééé")                    # 10 characters, 20 bytes: fits
    app2 = App("evo", [v2], app.migrations_dir)
    created = autogen.create(app2, "v1", backends=prove_on)
    assert "truncate=True cuts them" in created.source
    with pytest.raises(MigrationError, match=r"conv.s: 1 row\(s\) hold text longer than "
                                             r"the new max_length=10.*truncate=True"):
        StoreRouter(db, app2).run()
    assert sorted(values(db, "SELECT s FROM conv")) == [("abcdefghijklmnopqrstuvwxyz",),
                                                        ("éééééééééé",)]
    created.path.write_text(created.source.replace(
        "old=store.CharField(max_length=40))",
        "old=store.CharField(max_length=40), truncate=True)", 1))
    StoreRouter(db, app2).run()
    assert sorted(values(db, "SELECT s FROM conv")) == [("abcdefghij",), ("éééééééééé",)]


def test_decimal_to_integer_with_a_fraction_is_refused(db, tmp_path, prove_on):
    v1 = model("conv", n=store.DecimalField(8, 2))
    v2 = model("conv", n=store.IntegerField())
    router = versions(db, tmp_path, prove_on, [v1], [v2],
                      rows=[(v1, {"n": decimal.Decimal("3.00")})])
    assert values(db, "SELECT n FROM conv") == [(3,)]
    db.bind_models([v2])
    v2.update(n=3).execute()
    router.rollback(1)
    db.bind_models([v1])
    v1.update(n=decimal.Decimal("2.50")).execute()
    with pytest.raises(MigrationError, match=r"conv.n: 1 row\(s\) hold a fraction"):
        router.run()


# --- the proof runs with rows ----------------------------------------------------------

def test_the_proof_catches_a_migration_that_changes_values(db, tmp_path, prove_on):
    """A hand-edited migration that rewrites values passes a schema-only
    proof; with rows the proof refuses it and names the value."""
    v1 = model("conv", n=store.IntegerField(), s=store.CharField(max_length=5))
    v2 = model("conv", n=store.BigIntegerField(), s=store.CharField(max_length=5))
    app = App("evo", [v1], tmp_path / "migrations" / "evo")
    autogen.create(app, "v0", backends=prove_on)
    app2 = App("evo", [v2], app.migrations_dir)
    created = autogen.create(app2, "v1", backends=prove_on, write=False)
    source = created.source.replace(
        "def rollback(", textwrap.dedent("""\
            def _corrupt(migrator, database):
                migrator.sql('UPDATE conv SET n = n / 2')


            def rollback(""")).replace(
        "    migrator.alter_field('conv', 'n', store.BigIntegerField()",
        "    _corrupt(migrator, database)\n"
        "    migrator.alter_field('conv', 'n', store.BigIntegerField()", 1)
    old = autogen.st.load_state(app.migrations_dir)
    with pytest.raises(MigrationError, match=r"does not keep every value:\n  conv row 1: n "
                                             r"was 2147483647, reads 1073741823"):
        autogen.prove(app2, app.migrations_dir, "002_v1", source, old, prove_on,
                      new=autogen.models_state(app2), plan=created.plan)


def test_the_proof_checks_the_rollback_gives_the_rows_back(db, tmp_path, prove_on):
    v1 = model("conv", n=store.IntegerField())
    v2 = model("conv", n=store.IntegerField(), m=store.IntegerField(null=True))
    app = App("evo", [v1], tmp_path / "migrations" / "evo")
    autogen.create(app, "v0", backends=prove_on)
    app2 = App("evo", [v2], app.migrations_dir)
    created = autogen.create(app2, "v1", backends=prove_on, write=False)
    source = created.source.replace(
        "    migrator.drop_field('conv', 'm'",
        "    migrator.sql('DELETE FROM conv WHERE id = 2')\n"
        "    migrator.drop_field('conv', 'm'", 1)
    old = autogen.st.load_state(app.migrations_dir)
    with pytest.raises(MigrationError, match=r"the rollback does not give the rows back"):
        autogen.prove(app2, app.migrations_dir, "002_v1", source, old, prove_on,
                      new=autogen.models_state(app2), plan=created.plan)


# --- generated schema evolutions -------------------------------------------------------

LONG = os.environ.get("STORE_EVOLUTION_LONG") == "1"
SEQUENCES = int(os.environ.get("STORE_EVOLUTION_SEQUENCES", "40")) if LONG else 2
STEPS = 6 if LONG else 4

_FILL = {"int": "0", "big": "0", "dec": "decimal.Decimal('0')", "char": "''",
         "text": "''", "bool": "False", "date": "datetime.date(2000, 1, 1)",
         "float": "0.0", "json": "{}", "uuid": "uuid.UUID(int=0)"}
_DEFAULT = {"int": 7, "big": 8, "dec": decimal.Decimal("1.25"), "char": "d", "text": "t",
            "bool": True, "float": 0.5, "json": None, "uuid": None, "date": None}


def build(spec, tables):
    """A store field from a spec ``{"kind", "null", "default", "index", ...}``."""
    kw = {"null": spec["null"], "index": spec.get("index", False)}
    if spec.get("default"):
        kw["default"] = _DEFAULT[spec["kind"]]
    kind = spec["kind"]
    if kind == "fk":
        return store.ForeignKeyField(tables[spec["to"]], on_delete="CASCADE", **kw)
    if kind == "dec":
        return store.DecimalField(spec["p"], spec["s"], **kw)
    if kind == "char":
        return store.CharField(max_length=spec["n"], **kw)
    return {"int": store.IntegerField, "big": store.BigIntegerField,
            "text": store.TextField, "bool": store.BooleanField, "date": store.DateField,
            "float": store.FloatField, "json": store.JSONField,
            "uuid": store.UUIDField}[kind](**kw)


def models_of(version):
    tables = {}
    for table, fields in version.items():
        tables[table] = model(table, **{n: build(s, tables) for n, s in fields.items()})
    return list(tables.values())


def first_version():
    version = {
        "evo_a": {"name": {"kind": "char", "n": 20, "null": False},
                  "qty": {"kind": "int", "null": False, "index": True},
                  "amount": {"kind": "dec", "p": 8, "s": 2, "null": True}},
        "evo_b": {"a": {"kind": "fk", "to": "evo_a", "null": False},
                  "note": {"kind": "text", "null": True},
                  "day": {"kind": "date", "null": False}},
    }
    for table, fields in version.items():
        for name, spec in fields.items():
            spec["uid"] = f"{table}.{name}"            # kept through renames
    return version


def mutate(version, rng, counter):
    """The next version: one to three changes drawn from ``rng``; returns
    ``(version, summary, renames, fills, dropped)``, ``dropped`` the
    ``(table, field)`` whose values the step loses."""
    import copy
    v = copy.deepcopy(version)
    renames, fills, dropped, done = {}, {}, set(), []
    for _ in range(rng.randint(1, 3)):
        table = rng.choice(list(v))
        fields = v[table]
        plain = [n for n, s in fields.items() if s["kind"] != "fk"]
        choice = rng.choice(["add", "add", "drop", "widen", "widen", "nullable", "index",
                             "table", "rename"])
        counter[0] += 1
        n = counter[0]
        if choice == "add":
            kind = rng.choice(list(_FILL))
            spec = {"kind": kind, "null": True}
            if kind == "dec":
                spec.update(p=10, s=rng.randint(0, 4))
            if kind == "char":
                spec["n"] = rng.randint(1, 30)
            if _DEFAULT[kind] is not None and rng.random() < 0.5:
                spec.update(null=False, default=True)
            spec["index"] = kind not in ("json", "text") and rng.random() < 0.3
            spec["uid"] = n
            fields[f"f{n}"] = spec
        elif choice == "drop" and len(plain) > 1:
            name = rng.choice(plain)
            spec = fields.pop(name)
            was = next((o for (t, o), new in renames.items() if (t, new) == (table, name)),
                       name)                      # renamed earlier in this step
            renames.pop((table, was), None)
            first = version.get(table, {}).get(was, spec)       # as the step starts
            if not first["null"] and not first.get("default"):
                fills[(table, was)] = _FILL[first["kind"]]
            dropped.add((table, spec.get("uid", name)))
        elif choice == "widen" and plain:
            name = rng.choice(plain)
            s = fields[name]
            if s["kind"] == "int":
                s.update(rng.choice([{"kind": "big"}, {"kind": "dec", "p": 13, "s": 2}]))
            elif s["kind"] == "dec" and s["p"] < 15:
                s.update(p=s["p"] + 1, s=s["s"] + 1)
            elif s["kind"] == "char":
                if rng.random() < 0.3:
                    s.update(kind="text")
                    s.pop("n")
                else:
                    s["n"] += rng.randint(1, 20)
            else:
                continue
        elif choice == "nullable" and plain:
            name = rng.choice(plain)
            spec = fields[name]
            if not spec["null"] and not spec.get("default"):
                fills[(table, name)] = _FILL[spec["kind"]]   # what the rollback gives NULLs
            spec["null"] = True
        elif choice == "index" and plain:
            name = rng.choice(plain)
            if fields[name]["kind"] not in ("json", "text"):
                fields[name]["index"] = not fields[name].get("index", False)
        elif choice == "table":
            children = [t for t in v if t != "evo_a" and not any(
                s.get("to") == t for tt in v.values() for s in tt.values())]
            if children and rng.random() < 0.5:
                gone = rng.choice(children)
                dropped.update((gone, s.get("uid", f)) for f, s in v[gone].items())
                del v[gone]
                dropped.add((gone, None))
                done.append(f"drop table {gone}")
                continue
            v[f"evo_t{n}"] = {"a": {"kind": "fk", "to": rng.choice(list(v)), "null": True},
                              "label": {"kind": "char", "n": 12, "null": False,
                                        "index": True}}
        elif choice == "rename" and plain:
            name = rng.choice(plain)
            fields[f"r{n}"] = fields.pop(name)
            renames[(table, name)] = f"r{n}"
        else:
            continue
        done.append(f"{choice} {table}")
    # a renamed field whose old name came back is a drop and an add: keep hints valid
    renames = {k: new for k, new in renames.items() if new in v.get(k[0], {})
               and k[1] not in v.get(k[0], {})}
    return v, done, renames, fills, dropped


def run_sequence(db, tmp_path, backends, seed, steps):
    """One generated sequence: every step autogenerated and proved (with rows,
    on ``backends``), migrated here with rows added at each version, then
    rolled back to zero; values compared at every step."""
    rng = random.Random(seed)
    folder = tmp_path / f"seq{seed}" / "evo"
    counter = [0]
    version = first_version()
    snapshots, losses, routers, aliases, versions_seen = [], [], [], [], []
    applied = 0
    for step in range(steps + 1):
        renames, fills, dropped = {}, {}, set()
        if step:
            version, _done, renames, fills, dropped = mutate(version, rng, counter)
        models = models_of(version)
        app = App("evo", models, folder)
        created = autogen.create(app, f"step{step}", backends=backends, renames=renames,
                                 fills=fills, ask=lambda *rename: False)
        router = StoreRouter(db, app)
        router.run()
        if created.path is None:
            continue
        applied += 1
        by_table = {m._meta.table_name: m for m in models}
        db.bind(models, bind_refs=False, bind_backrefs=False)
        # rows that also fit every earlier version (their rollbacks keep them):
        # aliases[j] maps (table, name now) to the field's name at version j
        back = {(t, new): old for (t, old), new in renames.items()}
        aliases = [{(t, n): a.get((t, back.get((t, n), n)), back.get((t, n), n))
                    for t, n in {k for k in list(a) + list(back)} | {
                        (t, n) for t, m in by_table.items() for n in m._meta.fields}}
                   for a in aliases] + [{}]
        autogen.seed_rows(db, by_table, None, [b for b, _ in snapshots] + [by_table],
                          aliases, rows=2, first=10 * step)
        snapshots.append((by_table, autogen.read_rows(by_table)))
        versions_seen.append(version)
        losses.append(dropped)
        routers.append(router)
    # down to zero, one step at a time: every row that existed at a version
    # reads back as it did then (minus the values a later step dropped)
    for k in range(len(snapshots) - 1, 0, -1):
        routers[k].rollback(1)
        by_table, then = snapshots[k - 1]
        lost = set().union(*losses[k:])
        db.bind(list(by_table.values()), bind_refs=False, bind_backrefs=False)
        now = autogen.read_rows(by_table)
        for table, rows in then.items():
            for key, row in rows.items():
                uid = {n: s.get("uid", n) for n, s in versions_seen[k - 1][table].items()}
                want = {n: x for n, x in row.items()
                        if (table, uid.get(n, n)) not in lost}
                if (table, None) in lost:            # the table went (and its rows)
                    continue
                have = now[table].get(key)
                assert have is not None, (seed, k, table, key)
                assert {n: have.get(n) for n in want} == want, (seed, k, table, key)
    routers[0].rollback(1)
    assert [t for t in db.get_tables() if t.startswith("evo_")] == ["evo_migrate_history"]
    return applied


def test_generated_evolutions_keep_every_value(db, tmp_path, request):
    backends = {"sqlite": None, "postgresql": request.getfixturevalue("pg_database")}
    counts = {"sequences": 0, "migrations": 0}
    for seed in range(SEQUENCES):
        try:
            counts["migrations"] += run_sequence(db, tmp_path, backends, seed, STEPS)
        except Exception as exc:
            raise AssertionError(f"evolution seed {seed}: {exc}") from exc
        counts["sequences"] += 1
    if LONG:
        print(f"\nevolution ({db.features.name}): {counts['sequences']} sequences, "
              f"{counts['migrations']} migrations proved with rows on sqlite and "
              f"postgresql, migrated and rolled back to zero")
    assert counts["migrations"] > counts["sequences"]
