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


def compare(old: dict, new: dict, *, renames=None, ask=None, fills=None) -> Plan:
    """The operations from ``old`` to ``new`` (states from ``state.py``).

    ``renames``: ``{(table, old_field): new_field}`` hints. ``ask(table,
    old, new) -> bool`` decides a rename candidate nobody hinted; without
    ``ask`` such a candidate is an error that says how to hint it.
    ``fills``: ``{(table, field): python_source}``, the restore rule of a
    dropped NOT NULL field without a default (the value its rollback gives
    existing rows); one that has no obvious rule and none given is an error
    that says how to give it."""
    renames = dict(renames or {})
    fills = dict(fills or {})
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
            # its indexes first: their inverses re-create them after the table
            for ix in ot[table]["indexes"]:
                phases["drop_index"].append(_index_op(table, ix, add=False))
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
        _field_ops(table, a, b, renames, ask, phases, fills)

    ops = [op for phase in phases.values() for op in phase]
    return Plan(ops, old, new)


def _pk_fields(t):
    return [f for f in t["fields"] if "primary_key=True" in f["source"]
            or f["source"].startswith(("store.AutoField(", "store.BigAutoField("))]


def fill_question(table, name, source) -> ConfigError:
    return ConfigError(
        f"{table}: field {name!r} (NOT NULL, no default) is dropped or made nullable, and "
        f"its rollback must give every existing row (a NULL) a value. Pass "
        f"--fill {table}.{name}=EXPR, a Python expression of that value (e.g. "
        f"--fill {table}.{name}=\"{_fill_example(source)}\"), or first give the field "
        f"null=True or a default")


def _fill_example(source):
    for marker, example in (("DateTime", "datetime.datetime(1970, 1, 1)"),
                            ("DateField(", "datetime.date(1970, 1, 1)"),
                            ("TimeField(", "datetime.time(0, 0)"),
                            ("UUIDField(", "uuid.UUID(int=0)"),
                            ("ForeignKeyField(", "1"), ("EnumField(", "'a'")):
        if marker in source:
            return example
    return "0"


def _field_ops(table, a, b, renames, ask, phases, fills=None):
    fills = {} if fills is None else fills
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
                    f"migrator.alter_field({table!r}, {new_name!r}, {src}, old={old_src})"
                    + _narrowing_note(old_src, src),
                    _alter_down(table, new_name, old_name, src, old_src, b, fills),
                    f"alter field {table}.{new_name}", needs_new + needs_old,
                    needs_new + needs_old))
            break
    for name in removed:
        src = _self_ref(fa[name]["source"], cls_a)
        needs = [("old", t, False) for t in _fk_targets(src)]
        down = f"migrator.add_field({table!r}, {name!r}, {src})"
        note = ""
        if not re.search(r"\b(null=True|default=|server_default=)", src):
            fill = fills.pop((table, name), None) or _restore_value(src)
            if fill is None:
                raise fill_question(table, name, src)
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
                f"migrator.alter_field({table!r}, {name!r}, {src}, old={old_src})"
                + _narrowing_note(old_src, src),
                _alter_down(table, name, name, src, old_src, b, fills),
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


def _alter_down(table, name, old_name, src, old_src, b, fills):
    """The rollback of ``alter_field``: back to ``old_src``. When that makes
    the column NOT NULL again (no default), rows given NULL in between need a
    value: a restore rule, as for a dropped column (``fills`` or asked)."""
    down = f"migrator.alter_field({table!r}, {name!r}, {old_src}, old={src}"
    note = _narrowing_note(src, old_src)
    if _nullable(src) and not _nullable(old_src) and not _defaulted(old_src) \
            and name not in (b["primary_key"] or []):     # PostgreSQL refuses those
        fill = (fills.pop((table, old_name), None) or fills.pop((table, name), None)
                or _restore_value(old_src))
        if fill is None:
            raise fill_question(table, old_name, old_src)
        down += f", fill={fill}"
        note = note or "  # restore rule: the value NULLs get back; edit it"
    return down + ")" + note


def _nullable(source):
    return re.search(r"\bnull=True", source) is not None


def _defaulted(source):
    return re.search(r"\b(default=|server_default=)", source) is not None


def _narrowing_note(old_src, new_src):
    """A comment on an alter_field that may not keep every value: it refuses
    them (ddl.BaseDDL.narrow) unless the option written in the note is added."""
    def number(src, key):
        m = re.search(rf"\b{key}=(\d+)", src)
        return int(m.group(1)) if m else None
    old_len, new_len = number(old_src, "max_length"), number(new_src, "max_length")
    if new_len is not None and (old_len is None or old_len > new_len) \
            and "CharField(" in new_src:
        return (f"  # texts longer than {new_len} are refused; truncate=True cuts them")
    old_places, new_places = number(old_src, "decimal_places"), number(new_src, "decimal_places")
    if new_places is not None and old_places is not None and old_places > new_places:
        return (f"  # values with more than {new_places} decimal place(s) are refused; "
                f"round=True rounds them")
    return ""


_RESTORE = [("CharField(", "''"), ("TextField(", "''"), ("BooleanField(", "False"),
            ("IntegerField(", "0"), ("FloatField(", "0.0"), ("DoubleField(", "0.0"),
            ("DecimalField(", "decimal.Decimal('0')"), ("JSONField(", "{}")]


def _restore_value(source):
    """The value a rolled-back drop of a NOT NULL column without a default
    gives existing rows, written into the migration for review."""
    if "ForeignKeyField(" in source or "EnumField(" in source:
        return None
    for marker, value in _RESTORE:
        if marker in source:
            return value
    return None


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


def _class_name(source):
    return re.match(r"\s*class (\w+)\(", source).group(1)


def _shared(up_classes, down_classes):
    """The classes both functions need with the same source: defined once,
    at module level. A module-level class may only name module-level
    classes, so one whose foreign-key target is not shared stays local."""
    down_sources = {src for _, src in down_classes}
    shared = {_class_name(src): (k, src) for k, src in up_classes if src in down_sources}
    changed = True
    while changed:
        changed = False
        local = {_class_name(src) for _, src in up_classes + down_classes} - set(shared)
        for name, (_k, src) in list(shared.items()):
            if any(t in local for t in re.findall(r"ForeignKeyField\((\w+)", src)):
                del shared[name]
                changed = True
    items = [item for item in up_classes if _class_name(item[1]) in shared]
    return items, {_class_name(src) for _, src in items}


def _function(header, calls, classes, shared):
    lines = [header]
    for key, source in classes:
        if _class_name(source) not in shared:
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
    shared, shared_keys = _shared(up_classes, down_classes)
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

_CUT_NAME = re.compile(r"_[0-9a-f]{7}$")


def _normalised(schema, cut_checks=0):
    """Column order aside (new columns are appended on every backend).
    ``cut_checks``: the length of a SQLite namespace prefix; a CHECK whose
    name is cut with a hash (63 characters), or would be with the prefix in
    it, is named by its SQL instead."""
    from ..introspect import Check, Schema, Table
    tables = {}
    for name, t in schema.tables.items():
        checks = t.checks
        if cut_checks:
            checks = tuple(sorted(
                (Check(f"~{c.sql}", c.sql) if (_CUT_NAME.search(c.name) and len(c.name)
                                                in (63, 63 - cut_checks))
                 or (c.name.startswith(f"ck_{name}_") and len(c.name) + cut_checks > 63)
                 else c for c in checks), key=lambda c: c.name))
        tables[name] = Table(t.name, tuple(sorted(t.columns, key=lambda c: c.name)),
                             t.primary_key, checks, t.indexes, t.foreign_keys, t.triggers,
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


def _apply_models(db, models, namespace=None):
    """Create ``models`` on ``db`` (its default schema: a namespace bound at
    run time is set aside; ``namespace``: SQLite names them as in that
    namespace, to compare with a live one), then restore their binding."""
    from ..namespaces import scoped
    saved = [(m, m._meta.database) for m in models]
    try:
        with scoped(models, db.features.name if namespace else "postgresql", namespace):
            db.bind_models(models)
            with db.atomic():
                db.create_tables(models, safe=False)
    finally:
        for m, old in saved:
            m.bind(old, bind_refs=False, bind_backrefs=False)


def prove(app, migrations_dir: Path, new_name: str, source: str, old: dict,
          backends: dict, new: dict | None = None, plan: Plan | None = None) -> None:
    """Raise MigrationError unless the migration ``source`` takes the
    previous head to the models' schema and back, on every backend given
    (``{"sqlite": None, "postgresql": url}``).

    With rows: before the new migration runs, every table of the previous
    head gets generated rows (``seed_rows``: parents and children, the
    longest text, the largest number, NULLs where allowed); after it, every
    surviving value must read back through the new models as they say
    (``expected_rows``), and after its rollback as it was; and the values
    read must be the same on every backend."""
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
        new = models_state(app) if new is None else new
        renames = _renamed(plan) if plan is not None else {}
        old_models, new_models = state_models(old, "old"), state_models(new, "new")
        seen = {}
        for backend, url in backends.items():
            where = f"{app.name} {new_name} on {backend}"
            with Scratch(backend, url) as db, Scratch(backend, url) as ref:
                # the previous head, with the previous models (the runner's
                # checks of the models must see the schema they belong to)
                StoreRouter(db, App(app.name, list(old_models.values()), work)).run()
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
                for table in list(read_schema(ref).tables):
                    ref.execute_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE'
                                    if backend == "postgresql" else f'DROP TABLE IF EXISTS "{table}"')
                _apply_models(ref, app.models)
                wanted = read_schema(ref, exclude={history})
                seed_rows(db, _bound(db, old_models), ref, _bound(ref, new_models), renames,
                          skip=_unfillable(plan))
                before = read_rows(old_models)
                (work / f"{new_name}.py").write_text(source, encoding="utf-8")
                router = StoreRouter(db, trial)
                router.run()
                after = read_schema(db, exclude={history})
                moved = read_rows(_bound(db, new_models))
                wrong = _compare_rows(moved, expected_rows(before, old_models, new_models,
                                                           renames))
                if wrong:
                    raise MigrationError(
                        f"{where}: with rows, the migration does not keep every value:\n  "
                        + "\n  ".join(wrong[:20]), app=app.name, migration=new_name)
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
                restored = read_rows(_bound(db, old_models))
                wrong = _compare_rows(restored, _kept(before, old, new, renames))
                if wrong:
                    raise MigrationError(
                        f"{where}: with rows, the rollback does not give the rows back:\n  "
                        + "\n  ".join(wrong[:20]), app=app.name, migration=new_name)
                seen[backend] = (before, moved, restored)
                (work / f"{new_name}.py").unlink()
        if len(seen) > 1:
            (first, a), *others = seen.items()
            for backend, b in others:
                if a != b:
                    raise MigrationError(
                        f"{app.name} {new_name}: with rows, {first} and {backend} read "
                        f"different values (before, after, rolled back):\n{a}\n{b}",
                        app=app.name, migration=new_name)
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


def create(app, name: str, *, backends: dict, renames=None, ask=None, fills=None,
           write=True) -> Created:
    """Compare, render, prove and write ``migrations/<app>/NNN_name.py`` and
    the new ``state.json``. With no changes nothing is written."""
    migrations_dir = Path(app.migrations_dir)
    old = st.load_state(migrations_dir)
    new = models_state(app)
    plan = compare(old, new, renames=renames, ask=ask, fills=fills)
    if not plan:
        return Created(None, plan)
    new_name = next_name(migrations_dir, name)
    source = render(plan, new_name, imports=list(new.get("imports", ())) + list(old.get("imports", ())))
    compile(source, new_name, "exec")
    prove(app, migrations_dir, new_name, source, old, backends, new=new, plan=plan)
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
        from ..namespaces import base_tables
        live = type(live)({n: t for n, t in live.tables.items() if n in set(base_tables(app))})
        url = None if db.features.name == "sqlite" else db.url
        with Scratch(db.features.name, url) as scratch:
            _apply_models(scratch, app.models)
            wanted = read_schema(scratch)
    return [], compare_live(live, wanted, db, app.namespace)


def compare_live(live, wanted, db, namespace=None):
    """How ``live`` (read in ``namespace`` of ``db``) differs from ``wanted``
    (the models created in a scratch database), column order aside. On
    SQLite a namespace's CHECK names are made from the prefixed table name
    (read back without the prefix): one cut to 63 characters with a hash
    differs from the PostgreSQL name, so such CHECKs compare by SQL."""
    cut = len(namespace) + 2 if db.features.name == "sqlite" and namespace else 0
    return _normalised(live, cut).diff(_normalised(wanted, cut))


# --- the proof with rows -------------------------------------------------------------

def state_models(state: dict, label="state") -> dict:
    """``{table: model class}`` of ``state`` (the frozen classes a squash
    migration of it defines), unbound."""
    if not state["tables"]:
        return {}
    source = render(compare(st.empty_state(), state), label,
                    imports=state.get("imports", ()))
    scope = {"__name__": f"store_state_{label}"}
    exec(compile(source, f"<{label}>", "exec"), scope)
    return {table: scope[t["model"]] for table, t in state["tables"].items()}


def _renamed(plan):
    """``{(table, old_field): new_field}`` of the plan's renames."""
    out = {}
    for line in plan.summary:
        m = re.match(r"rename field (\w+)\.(\w+) -> (\w+)", line)
        if m:
            out[(m.group(1), m.group(2))] = m.group(3)
    return out


def _kind(field):
    """What a value of ``field`` is, for generating and converting."""
    import peewee
    from .. import fields as sf
    for cls, kind in ((peewee.ForeignKeyField, "fk"), (sf.EnumField, "enum"),
                      (sf.DecimalField, "decimal"), (sf.UUIDField, "uuid"),
                      (sf.DateTimeTZField, "datetimetz"), (peewee.BooleanField, "bool"),
                      (peewee.AutoField, "auto"), (peewee.BigAutoField, "auto"),
                      (peewee.SmallIntegerField, "small"), (peewee.BigIntegerField, "big"),
                      (peewee.IntegerField, "int"), (peewee.FloatField, "float"),
                      (peewee.CharField, "char"), (peewee.TextField, "text"),
                      (peewee.DateTimeField, "datetime"), (peewee.DateField, "date"),
                      (peewee.TimeField, "time"), (sf.JSONField, "json")):
        if isinstance(field, cls):
            return kind
    return None


_INT_MAX = {"small": 2 ** 15 - 1, "int": 2 ** 31 - 1, "big": 2 ** 63 - 1}


def _convert(new, value):
    """``value`` (as the previous field held it) read through the new field,
    as the models say a converted value reads: the same number, the same
    text, the same member by value."""
    import decimal
    kind = _kind(new)
    if value is None:
        return None
    if kind == "decimal":
        return decimal.Decimal(value).quantize(decimal.Decimal(1).scaleb(-new.decimal_places))
    if kind in ("int", "small", "big"):
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "enum":
        return new.enum_class(getattr(value, "value", value))
    if kind in ("char", "text"):
        return getattr(value, "value", value)
    return value


def _candidates(old, new, i, parents):
    """Values for row ``i`` of a column: the edge one first (the longest
    text, the largest number, NULL where allowed), then plain ones. ``new``:
    the field this column becomes (None when it goes): the values fit both."""
    import datetime as _dt
    import decimal
    kind = _kind(old)
    news = [f for f in (new if isinstance(new, list) else [new]) if f is not None]
    both = [old] + news
    nullable = all(f.null for f in both)
    if kind == "auto" or getattr(old, "auto_now", False):
        return []
    if kind == "fk":
        rows = parents.get(old.rel_model._meta.table_name) or []
        values = [rows[i % len(rows)]] if rows else []
        return ([None] if nullable and i == 1 else []) + values + ([None] if nullable else [])
    edge, plain = [], []
    if kind in ("char", "text"):
        lengths = [f.max_length for f in both if _kind(f) == "char" and f.max_length]
        n = min(lengths) if lengths else 200
        if all(_kind(f) in ("char", "text") for f in both):
            edge = [str(i % 10) + "é" * (n - 1)]
        plain = [f"v{i}"[:n]]
    elif kind == "enum":
        values = [m.value for m in old.enum_class]
        for new in news:
            if _kind(new) == "enum":
                values = [v for v in values if v in {m.value for m in new.enum_class}]
            elif _kind(new) == "char":
                values = [v for v in values if len(v) <= (new.max_length or 255)]
        edge = [old.enum_class(values[(i + 1) % len(values)])] if values else []
        plain = [old.enum_class(values[0])] if values else []
    elif kind in ("decimal", "int", "small", "big"):
        nums = [f for f in both if _kind(f) in ("decimal", "int", "small", "big")]
        if len(nums) == len(both):
            places = min(f.decimal_places if _kind(f) == "decimal" else 0 for f in nums)
            top = min((decimal.Decimal(10) ** (f.max_digits - f.decimal_places)
                       if _kind(f) == "decimal" else decimal.Decimal(_INT_MAX[_kind(f)] + 1))
                      for f in nums)
            big = top - decimal.Decimal(1).scaleb(-places)
            if places == 0:
                big = int(big)
            edge = [big if i % 2 == 0 else -big]
            plain = [decimal.Decimal(i + 1).scaleb(-places) if places else i + 1]
            if kind != "decimal":
                edge = [int(v) for v in edge]
                plain = [int(v) for v in plain]
        else:
            plain = [i + 1]
    elif kind == "float":
        edge = [1.7976931348623157e308 if i % 2 == 0 else -2.5e-300] \
            if all(_kind(f) == "float" for f in both) else []
        plain = [i + 0.5]
    elif kind == "bool":
        plain = [i % 2 == 0]
    elif kind == "uuid":
        plain = [uuid.UUID(int=i + 1)]
    elif kind == "datetimetz":
        edge = [_dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=_dt.timezone.utc)]
        plain = [_dt.datetime(2024, 2, 29, 12, 30, i % 60, 123456,
                               tzinfo=_dt.timezone.utc)]
    elif kind == "datetime":
        plain = [_dt.datetime(2024, 2, 29, 12, 30, i % 60, 123456)]
    elif kind == "date":
        edge = [_dt.date(9999, 12, 31)]
        plain = [_dt.date(2024, 1 + i % 12, 1 + i % 28)]
    elif kind == "time":
        edge = [_dt.time(23, 59, 59, 999999)]
        plain = [_dt.time(12, i % 60, 0)]
    elif kind == "json":
        edge = [{"k": [1, 2.5, None, True], "s": "é\\\"'", "n": {"deep": [i]}}]
        plain = [[i]]
    if any(not _comparable(old, new) for new in news):
        edge, plain = [], []          # another kind: converted by a cast; not compared
        if not nullable:
            return [_candidates(old, None, i, parents)[-1]]
    if nullable and i == 1:
        return [None] + edge + plain
    return edge + plain + ([None] if nullable else [])


def seed_rows(db, models: dict, ref, future: dict, renames: dict, skip=(), rows=3,
              first=0) -> dict:
    """Insert ``rows`` generated rows into every table of ``models`` on
    ``db`` (parents first), each valid for the previous models and, as it
    will be converted, for the models it becomes: every row is also written,
    converted, through ``future`` (``{table: model}`` bound to ``ref``, a
    scratch database of the new models), and a row either refuses is retried
    with plain values, then left out (the same on every backend). With
    ``ref`` None the values only fit ``future`` (nothing is written there;
    a list of such dicts, with a list of ``renames`` one each: all of them).
    Primary keys are explicit, so both backends number the rows alike. Tables in
    ``skip`` get no rows; ``first``: the number of the first row (an
    autoincrement key is that number plus one). Returns ``{table: [primary
    key]}``."""
    import peewee
    keys, new_keys = {}, {}
    for table, model in models.items():
        target = None if isinstance(future, list) else future.get(table)
        target_fields = target._meta.fields if target is not None else {}
        if ref is None:            # ``future``: models the values must fit, no more
            target = None
            many = isinstance(future, list)
            fits = [(m[table]._meta.fields, r) for m, r in
                    zip(future if many else [future], renames if many else [renames])
                    if table in m]
        keys[table] = []
        if table in skip:
            continue
        for i in range(first, first + rows):
            for attempt in (0, 1):
                data = {}
                for name, field in model._meta.fields.items():
                    new_name = (name if ref is None else
                                renames.get((table, name), name))
                    if isinstance(field, (peewee.AutoField, peewee.BigAutoField)):
                        data[name] = i + 1
                        continue
                    shape = ([f.get(r.get((table, name), name)) for f, r in fits]
                             if ref is None else target_fields.get(new_name))
                    values = _candidates(field, shape, i, keys)
                    if values:
                        data[name] = values[0] if attempt == 0 else values[-1]
                try:
                    with db.atomic():
                        obj = model.create(**data)
                        if target is not None:
                            with ref.atomic():
                                target.create(**_converted(model, target, table, obj,
                                                           renames, i, new_keys))
                except Exception:          # a CHECK, a unique index, a validation
                    continue
                pk = model._meta.primary_key
                key = (tuple(obj.__data__.get(f) for f in pk.field_names)
                       if isinstance(pk, peewee.CompositeKey) else obj._pk)
                keys[table].append(key)
                new_keys.setdefault(table, []).append(key)
                break
    return keys


def _converted(model, target, table, obj, renames, i, new_keys):
    """The row ``obj`` as the new model ``target`` would hold it."""
    import peewee
    out = {}
    for name, field in model._meta.fields.items():
        new = target._meta.fields.get(renames.get((table, name), name))
        if new is None or getattr(field, "auto_now", False):
            continue
        value = obj.__data__.get(name)
        if _comparable(field, new):
            out[new.name] = _convert(new, value)
        elif isinstance(field, (peewee.AutoField, peewee.BigAutoField,
                                peewee.ForeignKeyField)):
            out[new.name] = value
    for name, new in target._meta.fields.items():
        if name in out or new.null or new.default is not None or isinstance(
                new, (peewee.AutoField, peewee.BigAutoField)):
            continue
        values = _candidates(new, None, i, new_keys)
        if values:
            out[name] = values[-1]
    return out


def _comparable(old, new):
    """Whether a value of ``old`` converts to ``new`` as the models say (the
    same kind, text to text, a number to an exact number)."""
    a, b = _kind(old), _kind(new)
    return (a == b or {a, b} <= {"char", "text", "enum"}
            or {a, b} <= {"int", "small", "big", "decimal"}) and a not in (None, "auto")


def read_rows(models: dict) -> dict:
    """``{table: {primary key: {field: value}}}`` read through ``models``."""
    import peewee
    out = {}
    for table, model in models.items():
        pk = model._meta.primary_key
        names = list(model._meta.fields)
        got = {}
        for obj in model.select():
            key = (tuple(obj.__data__.get(f) for f in pk.field_names)
                   if isinstance(pk, peewee.CompositeKey) else obj._pk)
            got[_hashable(key)] = {n: obj.__data__.get(n) for n in names
                                   if not getattr(model._meta.fields[n], "auto_now", False)}
        out[table] = got
    return out


def _hashable(key):
    return key if not isinstance(key, dict) else tuple(sorted(key.items()))


def expected_rows(before: dict, old_models: dict, new_models: dict, renames: dict) -> dict:
    """What ``before`` (read through the previous models) reads through the
    new ones: surviving tables and columns, each value converted."""
    out = {}
    for table, rows in before.items():
        if table not in new_models:
            continue
        fields = new_models[table]._meta.fields
        want = {}
        for key, row in rows.items():
            values = {}
            for name, value in row.items():
                new_name = renames.get((table, name), name)
                new = fields.get(new_name)
                if new is None or not _comparable(old_models[table]._meta.fields[name], new):
                    continue
                values[new_name] = _convert(new, value)
            want[key] = values
        out[table] = want
    return out


def _unfillable(plan):
    """Tables the plan adds a NOT NULL column without a default to: such a
    migration only runs on an empty table (its summary says so), so the
    proof gives them no rows."""
    return {m.group(1) for line in (plan.summary if plan is not None else [])
            for m in [re.match(r"add field (\w+)\.\w+ \(NOT NULL without a default", line)]
            if m}


def _kept(before: dict, old: dict, new: dict, renames: dict) -> dict:
    """What a rollback gives back: the rows of tables that lived on, without
    the columns the migration dropped (they come back with their restore
    rule)."""
    out = {}
    for table, rows in before.items():
        if table not in new["tables"]:
            continue
        kept = {f["name"] for f in new["tables"][table]["fields"]}
        names = {n for n in (rows and next(iter(rows.values()))) or {}
                 if renames.get((table, n), n) in kept}
        out[table] = {k: {n: v for n, v in row.items() if n in names}
                      for k, row in rows.items()}
    return out


def _compare_rows(got: dict, want: dict) -> list:
    problems = []
    for table, rows in want.items():
        have = got.get(table, {})
        if set(have) != set(rows):
            problems.append(f"{table}: rows {sorted(map(str, rows))} became "
                            f"{sorted(map(str, have))}")
            continue
        for key, values in rows.items():
            for name, value in values.items():
                if have[key].get(name) != value:
                    problems.append(f"{table} row {key}: {name} was {value!r}, reads "
                                    f"{have[key].get(name)!r}")
    return problems


def _bound(db, models):
    """Bind ``models`` to ``db`` (the scratch database's default schema)."""
    db.bind(list(models.values()), bind_refs=False, bind_backrefs=False)
    for m in models.values():
        m._meta.schema = None
    return models
