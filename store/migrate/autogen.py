"""``create --auto``: compare the models with the committed state, write the
migration, and prove it on real databases before the file exists.

Stages (Alembic's compare / render, Django's autodetector / writer):

* ``compare(old, new)`` -> ``Plan``: operations in the order the up
  migration runs them, each with its exact inverse; the rollback is the
  inverses in reverse order.
* ``render(plan)`` -> the migration's Python source: peewee-migrate's
  ``migrate(migrator, database, fake)`` / ``rollback(...)`` with the frozen
  models and fields the operations need, readable and editable by hand.
* ``prove(...)``: on scratch SQLite and PostgreSQL databases, apply every
  existing migration (the previous head), check it matches the committed
  state, apply the new one and require the schema the models create
  (introspected, ``store.introspect``), roll it back and require the
  previous schema again.

What it detects: tables added and removed (none for abstract models),
columns added, removed, changed (type, NULL, defaults, CHECKs a field owns,
foreign keys and their ON DELETE / ON UPDATE) and renamed (asked, or given
as a hint; never dropped and added silently), named table CHECKs and every
index (unique, composite, descending, partial, expression/JSON path,
PostgreSQL-only methods). What it refuses: unnamed CHECKs, changes of a
primary key, foreign-key cycles, defaults that are lambdas.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field as dc_field
from pathlib import Path

from ..errors import ConfigError, MigrationError
from . import state as st


# --- compare -------------------------------------------------------------------------

@dataclass
class Op:
    up: str                      # one call, e.g. "migrator.add_field('t', 'x', <src>)"
    down: str
    summary: str
    classes_up: list = dc_field(default_factory=list)     # [("old"|"new", table, full)]
    classes_down: list = dc_field(default_factory=list)


@dataclass
class Plan:
    ops: list
    old: dict
    new: dict

    def __bool__(self):
        return bool(self.ops)

    @property
    def summary(self):
        return [op.summary for op in self.ops]


def rename_question(table, old_name, new_name) -> ConfigError:
    return ConfigError(
        f"{table}: field {old_name!r} was removed and {new_name!r} added with the same "
        f"definition. Renamed? Pass --rename {table}.{old_name}={new_name} to rename it "
        f"(keeping the data), or --no-rename {table}.{old_name} to drop and add")


def _fields(table_state):
    return {f["name"]: f for f in table_state["fields"]}


def _self_ref(source, class_name):
    return source.replace("ForeignKeyField('self'", f"ForeignKeyField({class_name}")


def _fk_targets(source):
    m = re.search(r"ForeignKeyField\((\w+)", source)
    return [m.group(1)] if m and m.group(1) != "self" else []


def compare(old: dict, new: dict, *, renames=None, ask=None) -> Plan:
    """The operations from ``old`` to ``new`` (states from ``state.py``).

    ``renames``: ``{(table, old_field): new_field}`` hints. ``ask(table,
    old, new) -> bool`` decides a rename candidate nobody hinted; without
    ``ask`` such a candidate is an error that says how to hint it."""
    renames = dict(renames or {})
    ot, nt = old["tables"], new["tables"]
    phases = {k: [] for k in ("drop_index", "drop_check", "drop_field", "drop_table",
                              "create_table", "field", "add_check", "add_index")}
    for table in nt:
        if table in ot and (ot[table]["primary_key"] != nt[table]["primary_key"] or
                            _pk_fields(ot[table]) != _pk_fields(nt[table])):
            raise ConfigError(f"{table}: the primary key changed; autogenerate does not "
                              f"change primary keys (write that migration by hand)")

    for table in reversed(list(ot)):
        if table not in nt:
            phases["drop_table"].append(_table_op(table, ot[table], "old", drop=True))
    for table, t in nt.items():
        if table not in ot:
            phases["create_table"].append(_table_op(table, t, "new", drop=False))
            for ix in t["indexes"]:
                phases["create_table"].append(_index_op(table, ix, add=True))

    for table in nt:
        if table not in ot:
            continue
        a, b = ot[table], nt[table]
        a_ix = {i["name"]: i for i in a["indexes"]}
        b_ix = {i["name"]: i for i in b["indexes"]}
        for name, ix in a_ix.items():
            if b_ix.get(name) != ix:
                phases["drop_index"].append(_index_op(table, ix, add=False))
        for name, ix in b_ix.items():
            if a_ix.get(name) != ix:
                phases["add_index"].append(_index_op(table, ix, add=True))
        a_ck = {c["name"]: c for c in a["checks"]}
        b_ck = {c["name"]: c for c in b["checks"]}
        for name, ck in a_ck.items():
            if b_ck.get(name) != ck:
                phases["drop_check"].append(_check_op(table, ck, add=False))
        for name, ck in b_ck.items():
            if a_ck.get(name) != ck:
                phases["add_check"].append(_check_op(table, ck, add=True))
        if a["meta"] != b["meta"]:
            raise ConfigError(f"{table}: Meta options changed ({a['meta']} -> {b['meta']}); "
                              f"write that migration by hand")
        _field_ops(table, a, b, renames, ask, phases)

    ops = [op for phase in phases.values() for op in phase]
    return Plan(ops, old, new)


def _pk_fields(t):
    return [f for f in t["fields"] if "primary_key=True" in f["source"]
            or f["source"].startswith(("store.AutoField(", "store.BigAutoField("))]


def _field_ops(table, a, b, renames, ask, phases):
    fa, fb = _fields(a), _fields(b)
    removed = [n for n in fa if n not in fb]
    added = [n for n in fb if n not in fa]
    cls_a, cls_b = a["model"], b["model"]
    for old_name in list(removed):
        hinted = renames.pop((table, old_name), None)
        if hinted is not None:
            if hinted not in added:
                raise ConfigError(f"rename hint {table}.{old_name} -> {hinted}: {table} has "
                                  f"no new field {hinted!r}")
            candidates = [hinted]
        else:
            candidates = [n for n in added
                          if _unrenamed(fa[old_name]["source"]) == _unrenamed(fb[n]["source"])]
        for new_name in candidates:
            if hinted is None:
                if ask is None:
                    raise rename_question(table, old_name, new_name)
                if not ask(table, old_name, new_name):
                    continue
            removed.remove(old_name)
            added.remove(new_name)
            src = _self_ref(fb[new_name]["source"], cls_b)
            old_src = _self_ref(fa[old_name]["source"], cls_a)
            needs_new = [("new", t, False) for t in _fk_targets(src)]
            needs_old = [("old", t, False) for t in _fk_targets(old_src)]
            phases["field"].append(Op(
                f"migrator.rename_field({table!r}, {old_name!r}, {new_name!r}, {old_src})",
                f"migrator.rename_field({table!r}, {new_name!r}, {old_name!r}, {old_src})",
                f"rename field {table}.{old_name} -> {new_name}", needs_old, needs_old))
            if _unrenamed(src) != _unrenamed(old_src):
                phases["field"].append(Op(
                    f"migrator.alter_field({table!r}, {new_name!r}, {src}, old={old_src})",
                    f"migrator.alter_field({table!r}, {new_name!r}, {old_src}, old={src})",
                    f"alter field {table}.{new_name}", needs_new + needs_old,
                    needs_new + needs_old))
            break
    for name in removed:
        src = _self_ref(fa[name]["source"], cls_a)
        needs = [("old", t, False) for t in _fk_targets(src)]
        down = f"migrator.add_field({table!r}, {name!r}, {src})"
        note = ""
        if not re.search(r"\b(null=True|default=|server_default=)", src):
            fill = _restore_value(src)
            down = (f"migrator.add_field({table!r}, {name!r}, {src}, fill={fill})"
                    f"  # restore rule: the value rows get back; edit it")
            note = f" (its rollback restores rows with {fill}: edit the rule if needed)"
        phases["drop_field"].append(Op(
            f"migrator.drop_field({table!r}, {name!r}, {src})", down,
            f"drop field {table}.{name}{note}", needs, needs))
    for name in fb:
        if name in fa and fa[name]["source"] != fb[name]["source"]:
            if fa[name]["column"] != fb[name]["column"]:
                raise ConfigError(f"{table}.{name}: column_name changed "
                                  f"({fa[name]['column']} -> {fb[name]['column']}); "
                                  f"write that migration by hand")
            src = _self_ref(fb[name]["source"], cls_b)
            old_src = _self_ref(fa[name]["source"], cls_a)
            needs = ([("new", t, False) for t in _fk_targets(src)]
                     + [("old", t, False) for t in _fk_targets(old_src)])
            phases["field"].append(Op(
                f"migrator.alter_field({table!r}, {name!r}, {src}, old={old_src})",
                f"migrator.alter_field({table!r}, {name!r}, {old_src}, old={src})",
                f"alter field {table}.{name}", needs, needs))
    for name in added:
        src = _self_ref(fb[name]["source"], cls_b)
        needs = [("new", t, False) for t in _fk_targets(src)]
        note = ""
        if not re.search(r"\b(null=True|default=|server_default=)", src):
            note = " (NOT NULL without a default: fails if the table has rows)"
        phases["field"].append(Op(
            f"migrator.add_field({table!r}, {name!r}, {src})",
            f"migrator.drop_field({table!r}, {name!r}, {src})",
            f"add field {table}.{name}{note}", needs, needs))


_RESTORE = [("CharField(", "''"), ("TextField(", "''"), ("BooleanField(", "False"),
            ("IntegerField(", "0"), ("FloatField(", "0.0"), ("DoubleField(", "0.0"),
            ("DecimalField(", "decimal.Decimal('0')"), ("JSONField(", "{}")]


def _restore_value(source):
    """The value a rolled-back drop of a NOT NULL column without a default
    gives existing rows, written into the migration for review."""
    for marker, value in _RESTORE:
        if marker in source:
            return value
    return "peewee.SQL('NULL')"


def _unrenamed(source):
    return re.sub(r",?\s*column_name='[^']*'", "", source)


def _table_op(table, t, side, drop):
    cls = t["model"]
    need = [(side, table, True)]
    if drop:
        return Op(f"migrator.drop_table({cls})", f"migrator.create_table({cls})",
                  f"drop table {table}", need, need)
    return Op(f"migrator.create_table({cls})", f"migrator.drop_table({cls})",
              f"create table {table}", need, need)


def _index_op(table, ix, add):
    lite, pg = ix.get("sqlite"), ix.get("postgresql")
    head = f"{table!r}, {ix['name']!r}"
    if lite == pg:
        add_call = f"migrator.add_index({head}, {lite!r})"
        drop_call = f"migrator.drop_index({head})"
    else:
        parts = [f"{k}={v!r}" for k, v in (("sqlite", lite), ("postgresql", pg)) if v]
        add_call = f"migrator.add_index({head}, {', '.join(parts)})"
        only = [k for k, v in (("sqlite", lite), ("postgresql", pg)) if v]
        drop_call = (f"migrator.drop_index({head})" if len(only) == 2
                     else f"migrator.drop_index({head}, only={only[0]!r})")
    if add:
        return Op(add_call, drop_call, f"add index {ix['name']} on {table}")
    return Op(drop_call, add_call, f"drop index {ix['name']} on {table}")


def _check_op(table, ck, add):
    args = f"{table!r}, {ck['name']!r}, {ck['sql']!r}"
    add_call, drop_call = f"migrator.add_check({args})", f"migrator.drop_check({args})"
    if add:
        return Op(add_call, drop_call, f"add check {ck['name']} on {table}")
    return Op(drop_call, add_call, f"drop check {ck['name']} on {table}")


# --- render --------------------------------------------------------------------------

def class_source(table: str, t: dict, indent="    ") -> str:
    """A frozen model class for ``table`` (columns, CHECKs, foreign keys)."""
    base = t["meta"].get("base", "store.Model")
    lines = [f"class {t['model']}({base}):"]
    for f in t["fields"]:
        lines.append(f"    {f['name']} = {f['source']}")
    lines.append("")
    lines.append("    class Meta:")
    lines.append(f"        table_name = {table!r}")
    if t["primary_key"]:
        keys = ", ".join(repr(k) for k in t["primary_key"])
        lines.append(f"        primary_key = peewee.CompositeKey({keys})")
    if t["checks"]:
        lines.append("        checks = [")
        for ck in t["checks"]:
            lines.append(f"            store.Check({ck['name']!r}, {ck['sql']!r}),")
        lines.append("        ]")
    if t["meta"].get("append_only"):
        lines.append("        append_only = True")
    if t["meta"].get("partition_key"):
        lines.append(f"        partition_key = {t['meta']['partition_key']!r}")
    return "\n".join(indent + line if line else "" for line in lines)


def _stub_source(t: dict, indent="    ") -> str:
    pk = _pk_fields(t) or [f for f in t["fields"] if f["name"] == "id"]
    lines = [f"class {t['model']}(store.Model):  # referenced only"]
    for f in pk:
        lines.append(f"    {f['name']} = {f['source']}")
    lines += ["", "    class Meta:", f"        table_name = {t['_table']!r}"]
    return "\n".join(indent + line if line else "" for line in lines)


def _classes(needs, old, new):
    """``[(key, source)]`` of the frozen classes ``needs`` asks for: stubs
    (primary key only, for foreign keys) first, then full classes parents
    first. ``key`` identifies a class: ("stub"|"full", side, table)."""
    states = {"old": old["tables"], "new": new["tables"]}
    full, stubs, order = {}, {}, []
    for side, ref, is_full in needs:
        if is_full and (side, ref) not in full:
            full[(side, ref)] = True
            order.append((side, ref))
    by_class = {}
    for side in ("old", "new"):
        for table, t in states[side].items():
            by_class.setdefault((side, t["model"]), table)
    defined = {states[s][t]["model"] for (s, t) in full}
    for side, ref, is_full in needs:
        if is_full:
            continue
        other = "new" if side == "old" else "old"
        table = by_class.get((side, ref)) or by_class.get((other, ref))
        if table is None or ref in defined or ref in stubs:
            continue
        stubs[ref] = (side if (side, ref) in by_class else other, table)
    position = {(side, table): (side != "old", i)
                for side in ("old", "new") for i, table in enumerate(states[side])}
    order.sort(key=lambda item: position[item])          # parents first
    out = []
    for ref, (side, table) in stubs.items():
        out.append((("stub", side, table), _stub_source(dict(states[side][table], _table=table))))
    for side, table in order:
        out.append((("full", side, table), class_source(table, states[side][table])))
    return out


def _function(header, calls, classes, shared):
    lines = [header]
    for key, source in classes:
        if key not in shared:
            lines += [source, ""]
    lines += [f"    {call}" for call in calls] or ["    pass"]
    return "\n".join(lines)


def _dedent(source):
    return "\n".join(line[4:] if line.startswith("    ") else line
                     for line in source.split("\n"))


def render(plan: Plan, name: str, imports=()) -> str:
    up_calls = [op.up for op in plan.ops]
    down_calls = [op.down for op in reversed(plan.ops)]
    up_needs = [n for op in plan.ops for n in op.classes_up]
    down_needs = [n for op in reversed(plan.ops) for n in op.classes_down]
    # a FK target named in a frozen class needs its class too
    up_needs = _with_class_targets(up_needs, plan)
    down_needs = _with_class_targets(down_needs, plan)
    mods = sorted(set(imports) | {"peewee", "store"})
    summary = "\n".join(f"- {line}" for line in plan.summary)
    header = (f'"""{name}: generated by `store create --auto` on '
              f'{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC.\n\n{summary}\n"""\n')
    up_classes = _classes(up_needs, plan.old, plan.new)
    down_classes = _classes(down_needs, plan.old, plan.new)
    # classes both functions need, in the same version, are defined once
    down_keys = {key for key, _ in down_classes}
    shared = [(k, src) for k, src in up_classes if k in down_keys]
    shared_keys = {k for k, _ in shared}
    code = []
    if shared:
        code.append("# The models as this migration knows them (frozen: later changes to the")
        code.append("# app's models do not change what this file does).")
        for _key, source in shared:
            code += [_dedent(source), "", ""]
    code += [_function("def migrate(migrator, database, fake=False):", up_calls,
                       up_classes, shared_keys), "", "",
             _function("def rollback(migrator, database, fake=False):", down_calls,
                       down_classes, shared_keys)]
    code = "\n".join(code)
    mods = sorted(set(mods) | {m for m in ("decimal", "datetime", "uuid", "enum")
                               if re.search(rf"(?<![\w.]){m}\.", code)})
    # A field named like a module (``store = ForeignKeyField(Store)``) would
    # shadow it inside the class body: such modules get an alias.
    taken = {f["name"] for side in (plan.old, plan.new)
             for t in side["tables"].values() for f in t["fields"]}
    lines = []
    for mod in mods:
        top = mod.split(".")[0]
        if top in taken:
            alias = f"{top}_module"
            code = re.sub(rf"(?<![\w.]){re.escape(top)}\.", f"{alias}.", code)
            lines.append(f"import {mod}" if mod != top else "")
            lines.append(f"import {top} as {alias}")
        else:
            lines.append(f"import {mod}")
    body = [header] + sorted(set(filter(None, lines))) + ["", "", code]
    return "\n".join(body) + "\n"


def _with_class_targets(needs, plan):
    states = {"old": plan.old["tables"], "new": plan.new["tables"]}
    out = list(needs)
    for side, table, is_full in needs:
        if is_full:
            for f in states[side][table]["fields"]:
                out.extend((side, t, False) for t in _fk_targets(f["source"]))
    return out


# --- files ---------------------------------------------------------------------------

def next_name(migrations_dir: Path, name: str) -> str:
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()
    if not slug:
        raise ConfigError(f"migration name {name!r} needs letters or digits")
    from .runner import migration_names
    numbers = [int(n[:3]) for n in migration_names(migrations_dir)]
    return f"{(max(numbers) + 1) if numbers else 1:03d}_{slug}"


def models_state(app) -> dict:
    return st.app_state(app.models)


# --- prove ---------------------------------------------------------------------------

def _normalised(schema):
    """Column order aside (new columns are appended on every backend)."""
    from ..introspect import Schema, Table
    tables = {}
    for name, t in schema.tables.items():
        tables[name] = Table(t.name, tuple(sorted(t.columns, key=lambda c: c.name)),
                             t.primary_key, t.checks, t.indexes, t.foreign_keys, t.triggers,
                             t.partition)
    return Schema(tables)


class Scratch:
    """A throwaway database on one backend: a SQLite file, or a PostgreSQL
    schema in the database ``pg_url`` names."""

    def __init__(self, backend, pg_url=None):
        self.backend = backend
        self.pg_url = pg_url
        self.dir = None
        self.schema = None
        self.db = None

    def __enter__(self):
        from ..database import open_database
        from ..namespaces import _pg_url
        from ..url import parse_url
        if self.backend == "sqlite":
            self.dir = tempfile.mkdtemp(prefix="store-prove-")
            url = f"sqlite:///{Path(self.dir) / 'prove.db'}"
        else:
            self.schema = "store_prove_" + uuid.uuid4().hex[:10]
            admin = open_database(self.pg_url)
            admin.execute_sql(f'CREATE SCHEMA "{self.schema}"')
            admin.close()
            url = _pg_url(parse_url(self.pg_url), self.schema)
        self.db = open_database(url)
        self.db.connect()
        return self.db

    def __exit__(self, *exc):
        from ..database import open_database
        if self.db is not None and not self.db.is_closed():
            self.db.close()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self.schema:
            admin = open_database(self.pg_url)
            admin.execute_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
            admin.close()


def _apply_models(db, models):
    """Create ``models`` on ``db`` (its default schema: a namespace bound at
    run time is set aside), then restore their binding."""
    saved = [(m, m._meta.database, m._meta.schema) for m in models]
    try:
        db.bind_models(models)
        for m in models:
            m._meta.schema = None
        with db.atomic():
            db.create_tables(models, safe=False)
    finally:
        for m, old, schema in saved:
            m.bind(old, bind_refs=False, bind_backrefs=False)
            m._meta.schema = schema


def prove(app, migrations_dir: Path, new_name: str, source: str, old: dict,
          backends: dict) -> None:
    """Raise MigrationError unless the migration ``source`` takes the
    previous head to the models' schema and back, on every backend given
    (``{"sqlite": None, "postgresql": url}``)."""
    from ..introspect import read_schema
    from .apps import App
    from .runner import StoreRouter

    work = Path(tempfile.mkdtemp(prefix="store-migrations-"))
    try:
        from .runner import migration_names
        for existing in migration_names(migrations_dir):
            shutil.copy(Path(migrations_dir) / f"{existing}.py", work / f"{existing}.py")
        trial = App(app.name, app.models, work)
        history = trial.history_table
        for backend, url in backends.items():
            where = f"{app.name} {new_name} on {backend}"
            with Scratch(backend, url) as db, Scratch(backend, url) as ref:
                router = StoreRouter(db, trial)
                router.run()
                previous = read_schema(db, exclude={history})
                if old["tables"]:
                    squash = render(compare(st.empty_state(), old), "state", imports=old.get("imports", ()))
                    _run_source(ref, squash, app.name)
                    expected_prev = read_schema(ref, exclude={history})
                    drift = _normalised(expected_prev).diff(_normalised(previous))
                    if drift:
                        raise MigrationError(
                            f"{where}: the committed state.json does not match what the "
                            f"existing migrations build:\n{drift}", app=app.name)
                (work / f"{new_name}.py").write_text(source, encoding="utf-8")
                router = StoreRouter(db, trial)
                router.run()
                after = read_schema(db, exclude={history})
                for table in list(read_schema(ref).tables):
                    ref.execute_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE'
                                    if backend == "postgresql" else f'DROP TABLE IF EXISTS "{table}"')
                _apply_models(ref, app.models)
                wanted = read_schema(ref, exclude={history})
                diff = _normalised(after).diff(_normalised(wanted))
                if diff:
                    raise MigrationError(
                        f"{where}: after the migration the schema still differs from the "
                        f"models:\n{diff}", app=app.name, migration=new_name)
                router.rollback(1)
                back = read_schema(db, exclude={history})
                diff = _normalised(back).diff(_normalised(previous))
                if diff:
                    raise MigrationError(
                        f"{where}: the rollback does not restore the previous schema:\n{diff}",
                        app=app.name, migration=new_name)
                (work / f"{new_name}.py").unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run_source(db, source, app_name):
    from .migrator import StoreMigrator
    scope = {"__name__": f"store_squash_{app_name}"}
    exec(compile(source, f"<state of {app_name}>", "exec"), scope)
    migrator = StoreMigrator(db)
    migrator.app, migrator.migration = app_name, "state"
    with db.atomic():
        scope["migrate"](migrator, db, fake=False)
        migrator()


@dataclass
class Created:
    path: Path | None
    plan: Plan
    source: str = ""


def create(app, name: str, *, backends: dict, renames=None, ask=None,
           write=True) -> Created:
    """Compare, render, prove and write ``migrations/<app>/NNN_name.py`` and
    the new ``state.json``. With no changes nothing is written."""
    migrations_dir = Path(app.migrations_dir)
    old = st.load_state(migrations_dir)
    new = models_state(app)
    plan = compare(old, new, renames=renames, ask=ask)
    if not plan:
        return Created(None, plan)
    new_name = next_name(migrations_dir, name)
    source = render(plan, new_name, imports=list(new.get("imports", ())) + list(old.get("imports", ())))
    compile(source, new_name, "exec")
    prove(app, migrations_dir, new_name, source, old, backends)
    path = migrations_dir / f"{new_name}.py"
    if write:
        migrations_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
        st.state_path(migrations_dir).write_text(st.dump_state(new), encoding="utf-8")
    return Created(path, plan, source)


def check(app) -> Plan:
    """The changes ``create --auto`` would write (nothing is written)."""
    return compare(st.load_state(app.migrations_dir), models_state(app))


def live_drift(db, app):
    """How the live schema of ``app`` (at head) differs from what its models
    create, on the same backend: ``(pending, diff)``. ``pending``: the
    migrations not applied (then the schema is not compared: ``diff`` None)."""
    from ..introspect import read_schema
    from .history import read_history
    from .runner import StoreRouter
    history = read_history(db, app)           # read-only: nothing is created here
    if not history.table_exists:
        return history.pending, None
    with StoreRouter(db, app) as router:
        pending = router.pending()
        if pending:
            return pending, None
        live = read_schema(router.database, exclude={app.history_table})
        live = type(live)({n: t for n, t in live.tables.items() if n in set(app.tables)})
        url = None if db.features.name == "sqlite" else db.url
        with Scratch(db.features.name, url) as scratch:
            _apply_models(scratch, app.models)
            wanted = read_schema(scratch)
    return [], _normalised(live).diff(_normalised(wanted))
