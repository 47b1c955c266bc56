"""The model state of an app: what its models say the schema is, as data.

``app_state(models)`` turns model classes into a plain, JSON-able dict::

    {"version": 1, "tables": {"forecasts": {
        "model": "Forecast",
        "fields": [{"name": "id", "column": "id", "source": "store.AutoField()"}, ...],
        "primary_key": null,                   # or ["a", "b"] for a composite key
        "checks": [{"name": "ck_forecasts_qty", "sql": "qty >= 0"}],   # Meta.checks
        "indexes": [{"name": "ix_forecasts_week", "sqlite": "CREATE INDEX ...",
                     "postgresql": "CREATE INDEX ..."}],
        "meta": {"append_only": false},
        "depends_on": ["categories"]}}}

Each field is frozen as the Python source that re-creates it (store fields,
peewee's core ones), so a migration file can contain it verbatim and the
next ``create --auto`` compares sources. Indexes are frozen as their SQL on
each backend (JSON-path and partial indexes differ in spelling; an index
method only PostgreSQL has is ``None`` on SQLite). ``index=``/``unique=`` of
a field therefore appear as indexes, not in the field's source.

The state of the previous head is committed next to the migrations
(``migrations/<app>/state.json``); ``create --auto`` compares the models
with it, and proves the file against real databases (see ``autogen``).
"""
from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import re
import uuid
from pathlib import Path

import peewee

from .. import fields as sf
from ..errors import ConfigError

STATE_VERSION = 1
BACKENDS = ("sqlite", "postgresql")
STATE_FILE = "state.json"

def _partition_row_id():
    from ..partitions import PartitionRowId
    return PartitionRowId


# field class -> (source name, extra constructor attributes in order)
_FIELD_CLASSES = [
    (sf.CharField, "store.CharField", ("max_length",)),
    (sf.TextField, "store.TextField", ()),
    (sf.BigIntegerField, "store.BigIntegerField", ()),
    (sf.SmallIntegerField, "store.SmallIntegerField", ()),
    (sf.IntegerField, "store.IntegerField", ()),
    (sf.BooleanField, "store.BooleanField", ()),
    (sf.DoubleField, "store.DoubleField", ()),
    (sf.FloatField, "store.FloatField", ()),
    (sf.JSONField, "store.JSONField", ()),
    (sf.EnumField, "store.EnumField", ("enum_class", "check_name")),
    (sf.DecimalField, "store.DecimalField", ("max_digits", "decimal_places")),
    (sf.UUIDField, "store.UUIDField", ()),
    (sf.DateTimeTZField, "store.DateTimeTZField", ("auto_now",)),
    (_partition_row_id(), "store.partitions.PartitionRowId", ()),
    (sf.BigAutoField, "store.BigAutoField", ()),
    (sf.AutoField, "store.AutoField", ()),
    (peewee.BigAutoField, "store.BigAutoField", ()),
    (peewee.AutoField, "store.AutoField", ()),
    (sf.ForeignKeyField, "store.ForeignKeyField", ()),
    (peewee.ForeignKeyField, "store.ForeignKeyField", ()),
    (sf.DateField, "store.DateField", ()),
    (peewee.DateField, "store.DateField", ()),
    (peewee.DateTimeField, "peewee.DateTimeField", ()),
    (peewee.TimeField, "peewee.TimeField", ()),
    (peewee.BlobField, "peewee.BlobField", ()),
    (peewee.FixedCharField, "peewee.FixedCharField", ("max_length",)),
    (peewee.CharField, "peewee.CharField", ("max_length",)),
    (peewee.TextField, "peewee.TextField", ()),
    (peewee.BigIntegerField, "peewee.BigIntegerField", ()),
    (peewee.SmallIntegerField, "peewee.SmallIntegerField", ()),
    (peewee.IntegerField, "peewee.IntegerField", ()),
    (peewee.BooleanField, "peewee.BooleanField", ()),
    (peewee.DoubleField, "peewee.DoubleField", ()),
    (peewee.FloatField, "peewee.FloatField", ()),
]

# the keyword defaults of peewee.Field / StoreField that a source leaves out
_COMMON = (("null", False), ("default", None), ("server_default", None),
           ("primary_key", False), ("constraints", None), ("collation", None),
           ("sequence", None))


def _class_entry(field):
    for cls, name, extra in _FIELD_CLASSES:
        if type(field) is cls:
            return name, extra
    raise ConfigError(
        f"{_where(field)}: autogenerate does not know field type "
        f"{type(field).__module__}.{type(field).__qualname__}; use a store field "
        f"or write this migration by hand")


def _where(field):
    model = getattr(field, "model", None)
    table = model._meta.table_name if model is not None else "?"
    return f"{table}.{getattr(field, 'column_name', None) or getattr(field, 'name', '?')}"


class Source:
    """Python source of values, collecting the imports it needs."""

    def __init__(self):
        self.imports = {"peewee", "store"}

    def value(self, value, where="") -> str:
        if value is None or isinstance(value, (bool, int, float, str)):
            if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
                raise ConfigError(f"{where}: cannot write {value!r} into a migration")
            return repr(value)
        if value is sf.NOW:
            return "store.NOW"
        if isinstance(value, enum.Enum):
            return repr(value.value)
        if isinstance(value, decimal.Decimal):
            self.imports.add("decimal")
            return f"decimal.Decimal({str(value)!r})"
        if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
            self.imports.add("datetime")
            return repr(value)
        if isinstance(value, uuid.UUID):
            self.imports.add("uuid")
            return f"uuid.UUID({str(value)!r})"
        if isinstance(value, peewee.SQL):
            return f"peewee.SQL({value.sql!r})"
        if isinstance(value, (list, tuple)):
            body = ", ".join(self.value(v, where) for v in value)
            if isinstance(value, tuple):
                return f"({body},)" if len(value) == 1 else f"({body})"
            return f"[{body}]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{self.value(k, where)}: {self.value(v, where)}"
                                   for k, v in value.items()) + "}"
        if callable(value):
            return self.callable(value, where)
        raise ConfigError(f"{where}: cannot write {value!r} ({type(value).__name__}) "
                          f"into a migration")

    def callable(self, fn, where) -> str:
        known = {list: "list", dict: "dict", set: "set", tuple: "tuple", str: "str",
                 int: "int", float: "float", bool: "bool",
                 uuid.uuid4: "uuid.uuid4", uuid.uuid1: "uuid.uuid1",
                 sf.utcnow: "store.utcnow", dt.datetime.now: "datetime.datetime.now",
                 dt.date.today: "datetime.date.today"}
        if fn in known:
            text = known[fn]
            if "." in text:
                self.imports.add(text.split(".", 1)[0])
            return text
        module = getattr(fn, "__module__", None)
        qualname = getattr(fn, "__qualname__", "")
        if not module or "<" in qualname or module == "__main__":
            raise ConfigError(
                f"{where}: default {fn!r} is a lambda or local function; a migration "
                f"can only refer to a module-level function (define one and use it)")
        self.imports.add(module)
        return f"{module}.{qualname}"

    def enum_class(self, cls) -> str:
        self.imports.add("enum")
        members = ", ".join(f"({m.name!r}, {m.value!r})" for m in cls)
        return f"enum.Enum({cls.__name__!r}, [{members}])"


def field_source(field, src: Source) -> str:
    """Python source that re-creates ``field`` (index/unique left out: those
    are indexes of the state). A foreign key names its target's frozen class
    (``class_name`` of the target table)."""
    name, extra = _class_entry(field)
    where = _where(field)
    args = []
    if isinstance(field, peewee.ForeignKeyField):
        target = field.rel_model._meta.table_name
        if field.rel_model is field.model:
            args.append("'self'")
        else:
            args.append(class_name(target))
        args.append(f"field={field.rel_field.name!r}")
        for attr in ("on_delete", "on_update"):
            value = getattr(field, attr)
            if value:
                args.append(f"{attr}={value.upper()!r}")
        if field.column_name != field.name + "_id":
            args.append(f"column_name={field.column_name!r}")
    else:
        for attr in extra:
            value = getattr(field, attr)
            if attr == "enum_class":
                args.append(src.enum_class(value))
            elif attr in ("auto_now", "check_name"):
                if value:
                    args.append(f"{attr}={value!r}")
            else:
                args.append(f"{attr}={src.value(value, where)}")
        if field.column_name != field.name:
            args.append(f"column_name={field.column_name!r}")
    for attr, default in _COMMON:
        value = getattr(field, attr, default)
        if attr == "default" and getattr(field, "auto_now", False) and value is sf.utcnow:
            continue
        if attr == "default" and isinstance(field, sf.UUIDField) and field.primary_key \
                and value is uuid.uuid4:
            continue
        if isinstance(field, peewee.AutoField) and attr == "primary_key":
            continue
        if isinstance(value, (list, peewee.Node)):
            changed = value is not default      # a Node's != builds an expression
        else:
            changed = value != default
        if changed:
            args.append(f"{attr}={src.value(value, where)}")
    return f"{name}({', '.join(args)})"


def class_name(table: str) -> str:
    """The class name a frozen model of ``table`` has in migrations (from
    the table, so renaming a model class changes nothing)."""
    name = "".join(p[:1].upper() + p[1:] for p in re.split(r"[^0-9A-Za-z]+", table) if p)
    return name if name[:1].isalpha() else f"T{name}"


# --- whole models -------------------------------------------------------------------

def _dialects():
    from ..database import open_database
    return {"sqlite": open_database("sqlite:///:memory:"),
            "postgresql": open_database("postgresql://localhost/render_only")}


class _Bound:
    """Temporarily bind models to a (never connected) database of a backend,
    to render their SQL; restores the previous binding."""

    def __init__(self, models, db):
        self.models, self.db = models, db
        self.saved = [(m, m._meta.database, m._meta.table_name, m._meta.schema)
                      for m in models]

    def __enter__(self):
        from ..namespaces import scope_model
        for m in self.models:
            m.bind(self.db, bind_refs=False, bind_backrefs=False)
            # migrations run inside their namespace: declared name, no schema
            scope_model(m, "postgresql", None)
        return self.db

    def __exit__(self, *exc):
        for m, old, name, schema in self.saved:
            m.bind(old, bind_refs=False, bind_backrefs=False)
            m._meta.set_table_name(name)
            m._meta.schema = schema


_INDEX_NAME = re.compile(r'^CREATE (?:UNIQUE )?INDEX "((?:[^"]|"")+)"')


def _index_sql(model, db):
    """``{name: CREATE INDEX sql}`` the model's schema manager runs on this
    backend (its own choices included: PostgreSQL-only methods left out on
    SQLite, a partitioned model's key index on SQLite only)."""
    for index in model._meta.fields_to_index():
        if not isinstance(index, peewee.Index) or not getattr(index, "_name", None):
            raise ConfigError(f"{model._meta.table_name}: every index needs a name "
                              f"(got {index!r})")
    out = {}
    for ctx in model._schema._create_indexes(safe=False):
        sql, params = ctx.query()
        if params:
            raise ConfigError(f"{model._meta.table_name}: an index has parameters that "
                              f"cannot be inlined: {sql} {params!r}")
        m = _INDEX_NAME.match(sql)
        if not m:
            raise ConfigError(f"{model._meta.table_name}: cannot read the index name of {sql}")
        out[m.group(1).replace('""', '"')] = sql
    return out


def _check_sql(spec, backend):
    return spec.for_backend(backend) if isinstance(spec, sf.CheckSpec) else spec


def model_state(model, src: Source, dialects) -> dict:
    meta = model._meta
    if getattr(meta, "abstract", False):
        raise ConfigError(f"{model.__name__} is abstract: it has no table")
    model.validate_model()
    if meta.constraints:
        raise ConfigError(
            f"{model.__name__}: Meta.constraints {meta.constraints!r} cannot be written into "
            f"a migration; declare CHECKs as Meta.checks = [store.Check('name', 'sql')]")
    if not isinstance(model, type) or not hasattr(meta, "store_checks"):
        raise ConfigError(f"{model.__name__} is not a store.Model; autogenerate reads "
                          f"store models only")
    fields = [{"name": f.name, "column": f.column_name,
               "source": field_source(f, src)}
              for f in meta.sorted_fields]
    pk = list(meta.primary_key.field_names) if meta.composite_key else None
    if meta.primary_key is False:
        raise ConfigError(f"{model.__name__}: a table without a primary key is not supported")
    from ..model import _check_full_name
    checks = []
    for spec in getattr(meta, "checks", None) or ():
        sql = {b: _check_sql(spec, b) for b in BACKENDS}
        checks.append({"name": _check_full_name(meta.table_name, spec.name),
                       "sql": sql["sqlite"] if sql["sqlite"] == sql["postgresql"] else sql})
    indexes = {}
    for backend, db in dialects.items():
        with _Bound([model], db):
            for name, sql in _index_sql(model, db).items():
                indexes.setdefault(name, {"name": name})[backend] = sql
    for entry in indexes.values():
        for backend in BACKENDS:
            entry.setdefault(backend, None)
    depends = sorted({f.rel_model._meta.table_name for f in meta.refs
                      if f.rel_model is not model})
    return {"model": class_name(meta.table_name), "fields": fields, "primary_key": pk,
            "checks": checks,
            "indexes": [indexes[n] for n in sorted(indexes)],
            "meta": _meta_state(model, src),
            "depends_on": depends}


def _meta_state(model, src) -> dict:
    """Model options a frozen class must keep (beyond columns and CHECKs)."""
    out = {"append_only": bool(getattr(model._meta, "append_only", False))}
    from ..partitions import PartitionedModel
    if issubclass(model, PartitionedModel):
        src.imports.add("store.partitions")
        out["base"] = "store.partitions.PartitionedModel"
        out["partition_key"] = model._meta.partition_key
    return out


def app_state(models) -> dict:
    """The state of ``models`` (an app's registered models), by their
    declared table names (a namespace they are bound to is set aside)."""
    from ..namespaces import unscoped
    with unscoped(models):
        return _app_state(models)


def _app_state(models) -> dict:
    src = Source()
    dialects = _dialects()
    tables = {}
    for model in models:
        table = model._meta.table_name
        if table in tables:
            raise ConfigError(f"two models use table {table!r}")
        tables[table] = model_state(model, src, dialects)
    known = set(tables)
    for table, t in tables.items():
        missing = [d for d in t["depends_on"] if d not in known]
        if missing:
            raise ConfigError(f"{table}: foreign key to {', '.join(missing)}, which is not a "
                              f"model of this app (register it in MODELS)")
    return {"version": STATE_VERSION, "tables": _ordered(tables),
            "imports": sorted(src.imports)}


def _ordered(tables: dict) -> dict:
    """Tables in dependency order (parents first), ties by name."""
    done, out = set(), {}
    pending = sorted(tables)
    while pending:
        ready = [t for t in pending if all(d in done for d in tables[t]["depends_on"])]
        if not ready:
            raise ConfigError(f"foreign keys form a cycle among {', '.join(pending)}; "
                              f"autogenerate cannot order them")
        for t in ready:
            out[t] = tables[t]
            done.add(t)
        pending = [t for t in pending if t not in done]
    return out


def empty_state() -> dict:
    return {"version": STATE_VERSION, "tables": {}, "imports": ["peewee", "store"]}


def state_path(migrations_dir) -> Path:
    return Path(migrations_dir) / STATE_FILE


def load_state(migrations_dir) -> dict:
    path = state_path(migrations_dir)
    if not path.is_file():
        return empty_state()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:       # JSONDecodeError, UnicodeDecodeError
        raise ConfigError(f"{path}: cannot read the migration state ({exc}); restore it "
                          f"from version control") from exc
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        data = data if isinstance(data, dict) else {}
        raise ConfigError(f"{path}: state version {data.get('version')!r} is not "
                          f"{STATE_VERSION}")
    return data


def dump_state(state) -> str:
    return json.dumps(state, indent=1, sort_keys=False, ensure_ascii=False) + "\n"
