"""The base model: naming conventions, named CHECKs, write validation,
auto-updated timestamps, abstract bases and a readable repr.

Naming convention (identical on SQLite and PostgreSQL, so errors, migrations
and docs can refer to them):

====================  ====================================
CHECK                 ``ck_<table>_<name>``
UNIQUE index          ``uq_<table>_<col>[_<col>...]``
index                 ``ix_<table>_<col>[_<col>...]``
FOREIGN KEY           ``fk_<table>_<col>_<referenced table>``
====================  ====================================

Declare table-level checks with ``Meta.checks = [Check("name", "sql")]``.
An unnamed peewee ``Check`` in ``Meta.constraints`` is refused.

``Meta.abstract = True`` (not inherited) marks a base with no table:
``create_table`` refuses it and its foreign keys put no backref on the
referenced model. Its fields and ``Meta.checks`` go to each concrete subclass,
named with that subclass's table (CHECKs, indexes and ``fk_`` names alike).

``Meta.append_only = True`` (inherited) makes the table append-only in the
database itself: ``create_table`` also creates triggers that refuse every
UPDATE and DELETE, through the ORM or raw SQL, on both backends, with
``store.errors.AppendOnlyViolation`` naming the table; ``drop_table`` removes
them (and PostgreSQL's trigger function). Inserts are unaffected. See
``store.appendonly`` for the SQL and what is outside the guarantee (DDL,
PostgreSQL replica mode, SQLite ``INSERT OR REPLACE``).

Writes through ``save``, ``create``, ``insert``, ``insert_many``, ``update``
and ``bulk_update`` are validated field by field before the database is
touched. ``repr`` is ``<Model field=value ...>`` unless a class (or a base)
defines its own.
"""
from __future__ import annotations

import re
import threading

import peewee
from peewee import ModelIndex, Node, SQL

from . import appendonly
from .errors import ConfigError
from .fields import CheckSpec, DateTimeTZField, StoreField, utcnow

_SCHEMA_LOCK = threading.Lock()


def Check(name: str, sql, ) -> CheckSpec:
    """A named table-level CHECK: ``Check("price_positive", "price > 0")``.

    The constraint is created as ``ck_<table>_<name>`` (a name that already
    starts with ``ck_`` is kept as given). ``sql`` may be a dict per backend
    (``{"sqlite": ..., "postgresql": ...}``) when the dialects differ.
    """
    if not name or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise ConfigError(f"CHECK name {name!r} must be an identifier "
                          "(letters, digits, underscores)")
    return CheckSpec(name, sql)


def constraint_name(prefix: str, table: str, *parts: str) -> str:
    name = "_".join((prefix, table) + tuple(p for p in parts if p))
    name = re.sub(r"[^\w]+", "", name)
    return peewee._truncate_constraint_name(name, maxlen=63)


def _check_full_name(table: str, name: str) -> str:
    return name if name.startswith("ck_") else constraint_name("ck", table, name)


class StoreMetadata(peewee.Metadata):
    """Names every index by the convention (uq_/ix_ + table + columns)."""

    def fields_to_index(self):
        indexes = []
        for f in self.sorted_fields:
            if f.primary_key or not (f.index or f.unique):
                continue
            prefix = "uq" if f.unique else "ix"
            indexes.append(ModelIndex(self.model, (f,), unique=f.unique,
                                      using=f.index_type,
                                      name=constraint_name(prefix, self.table_name,
                                                           f.column_name)))
        for index_obj in self.indexes:
            if isinstance(index_obj, Node):
                indexes.append(index_obj)
                continue
            parts, unique = index_obj
            fields = [self.combined[p] if isinstance(p, str) else p for p in parts]
            cols = [getattr(f, "column_name", None) or str(p).split()[0]
                    for f, p in zip(fields, parts)]
            prefix = "uq" if unique else "ix"
            indexes.append(ModelIndex(self.model, fields, unique=unique,
                                      name=constraint_name(prefix, self.table_name, *cols)))
        return indexes

    def store_check_nodes(self, backend: str):
        """CHECK constraint nodes for ``backend``: fields' then the model's."""
        nodes = []
        for name, sql in self.store_checks:
            expr = sql.for_backend(backend) if isinstance(sql, CheckSpec) else sql
            if expr:
                nodes.append(peewee.Check(expr, name=name))
        return nodes

    @property
    def store_checks(self):
        """``[(full_name, CheckSpec)]`` of this table, in a stable order."""
        table = self.table_name
        out = []
        for field in self.sorted_fields:
            if isinstance(field, StoreField):
                for spec in field.store_checks():
                    out.append((constraint_name("ck", table, spec.name), spec))
        for spec in getattr(self, "checks", None) or ():
            out.append((_check_full_name(table, spec.name), spec))
        return out


#: Index methods only PostgreSQL has. An index declared ``using="gin"`` (or
#: gist, brin, hash, spgist) is created on PostgreSQL and skipped on SQLite,
#: which has no such method; a documented, tested difference.
POSTGRES_ONLY_INDEX_METHODS = frozenset({"gin", "gist", "brin", "hash", "spgist"})


def index_applies(index, backend: str) -> bool:
    """Whether ``index`` exists on ``backend`` (see POSTGRES_ONLY_INDEX_METHODS)."""
    using = getattr(index, "_using", None)
    if backend == "sqlite" and using and str(using).lower() in POSTGRES_ONLY_INDEX_METHODS:
        return False
    return True


def _boolean_literals(node):
    """``active = True`` in an index's WHERE, with booleans as TRUE/FALSE.

    peewee inlines index parameters (psycopg 3 cannot bind them in DDL) with
    ``_query_val_transform``, which writes a bool as 1/0: PostgreSQL then
    refuses ``boolean = integer``. TRUE/FALSE work on both backends."""
    if isinstance(node, bool):
        return SQL("TRUE" if node else "FALSE")
    if isinstance(node, peewee.Expression):
        return peewee.Expression(_boolean_literals(node.lhs), node.op,
                                 _boolean_literals(node.rhs), node.flat)
    return node


class StoreSchemaManager(peewee.SchemaManager):
    """Adds the model's named CHECKs for the target backend to CREATE TABLE,
    renders booleans in partial-index predicates portably, and creates and
    drops the append-only guard of a ``Meta.append_only`` model with its
    table (``store.appendonly``)."""

    def _create_indexes(self, safe=True):
        return [self._create_index(index, safe)
                for index in self.model._meta.fields_to_index()
                if index_applies(index, self.database.features.name)]

    def _drop_indexes(self, safe=True):
        return [self._drop_index(index, safe)
                for index in self.model._meta.fields_to_index()
                if isinstance(index, peewee.Index)
                and index_applies(index, self.database.features.name)]

    def _create_index(self, index, safe=True):
        if isinstance(index, peewee.Index) and index._where is not None:
            index = index.clone()
            index._where = _boolean_literals(index._where)
        return super()._create_index(index, safe)

    def create_all(self, safe=True, **table_options):
        """The table, its indexes and (``Meta.append_only``) its guard, in
        one transaction: a table is never left without its guard."""
        guard = appendonly.create_sql(self.model, self.database.features.name)
        if not guard:
            return super().create_all(safe, **table_options)
        with self.database.atomic():
            super().create_all(safe, **table_options)
            for sql in guard:
                self.database.execute_sql(sql)

    def drop_all(self, safe=True, drop_sequences=True, **options):
        """Drop the table and, for an append-only model, its guard (the
        PostgreSQL trigger function outlives the table otherwise)."""
        guard = appendonly.drop_sql(self.model, self.database.features.name)
        if not guard:
            return super().drop_all(safe, drop_sequences, **options)
        with self.database.atomic():
            for sql in guard:
                self.database.execute_sql(sql)
            super().drop_all(safe, drop_sequences, **options)

    def _create_table(self, safe=True, **options):
        meta = self.model._meta
        backend = self.database.features.name
        with _SCHEMA_LOCK:
            saved = meta.constraints
            meta.constraints = list(saved or []) + meta.store_check_nodes(backend)
            try:
                return super()._create_table(safe=safe, **options)
            finally:
                meta.constraints = saved


class StoreModelBase(peewee.ModelBase):
    """Reads ``Meta.abstract`` (not inherited) and enforces the conventions."""

    def __new__(mcs, name, bases, attrs, **kwargs):
        meta = attrs.get("Meta")
        abstract = bool(meta and meta.__dict__.get("abstract", False))
        if meta and "abstract" in meta.__dict__:
            attrs["Meta"] = type("Meta", (), {k: v for k, v in meta.__dict__.items()
                                              if k != "abstract"})
        own_repr = "__repr__" in attrs
        cls = super().__new__(mcs, name, bases, attrs, **kwargs)
        if not own_repr:
            # peewee's ModelBase sets its own on every class: replace it by
            # the nearest non-peewee __repr__ (a user's, or _store_repr).
            inherited = None
            for klass in cls.__mro__[1:]:
                if "__repr__" in klass.__dict__:
                    if klass.__module__ != peewee.__name__ and klass is not object:
                        inherited = klass.__dict__["__repr__"]
                    break
            cls.__repr__ = inherited or cls._store_repr
        if hasattr(cls, "_meta"):
            cls._meta.abstract = abstract
            if abstract:
                _unregister_refs(cls)
        return cls


def _unregister_refs(cls):
    """An abstract model has no table: take its FKs' backrefs off the
    referenced models (else ``delete_instance(recursive=True)`` and the
    backref accessor would query a table that does not exist). Concrete
    subclasses register their own copies."""
    for field in list(cls._meta.refs):
        rel_model = field.rel_model
        cls._meta.remove_ref(field)
        if not rel_model._meta.model_backrefs.get(cls):
            rel_model._meta.model_backrefs.pop(cls, None)
        accessor = rel_model.__dict__.get(field.backref)
        if isinstance(accessor, peewee.BackrefAccessor) and accessor.field is field:
            delattr(rel_model, field.backref)


class Model(peewee.Model, metaclass=StoreModelBase):
    """Base of every store model. Declare once, bind at run time
    (``db.bind_models([...])`` or ``store.connect(url, models=[...])``).
    """

    class Meta:
        model_metadata_class = StoreMetadata
        schema_manager_class = StoreSchemaManager
        legacy_table_names = False
        abstract = True

    @classmethod
    def validate_model(cls):
        meta = cls._meta
        for constraint in meta.constraints or ():
            if isinstance(constraint, SQL) and constraint.sql.lstrip().upper().startswith("CHECK"):
                expr = constraint.sql.strip()[5:].strip()
                if expr.startswith("(") and expr.endswith(")"):
                    expr = expr[1:-1]      # the one pair peewee.Check adds
                raise ConfigError(
                    f"{cls.__name__}: unnamed CHECK {constraint.sql!r} in Meta.constraints; "
                    f"name it: Meta.checks = [store.Check('rule_name', {expr!r})]")
        for spec in getattr(meta, "checks", None) or ():
            if not isinstance(spec, CheckSpec):
                raise ConfigError(f"{cls.__name__}.Meta.checks must hold store.Check(...) "
                                  f"items, got {spec!r}")
        for field in meta.sorted_fields:
            if isinstance(field, peewee.ForeignKeyField):
                # An inherited FK carries a deep copy of its target field
                # (for "self", the base class's primary key): point it at
                # the target model's own field.
                target = field.rel_model._meta.fields.get(field.rel_field.name)
                if target is not None:
                    field.rel_field = target
                if field.constraint_name is None or getattr(field, "_store_named", False):
                    field.constraint_name = constraint_name(
                        "fk", meta.table_name, field.column_name,
                        field.rel_model._meta.table_name)
                    field._store_named = True
        meta.auto_now_fields = [f for f in meta.sorted_fields
                                if getattr(f, "auto_now", False)]

    def __init__(self, *args, **kwargs):
        loaded = bool(kwargs.get("__no_default__"))
        super().__init__(*args, **kwargs)
        pk = self._meta.primary_key
        # A new instance whose primary key came from a Python default (a
        # UUID made in the app) is inserted by its first save(); peewee
        # would issue an UPDATE that matches no row (Django does the same).
        self._store_unsaved_default_pk = (
            not loaded and isinstance(pk, peewee.Field)
            and not self._meta.auto_increment and pk.default is not None
            and pk.name not in kwargs)

    # -- writes are validated before the database is touched ------------------
    @classmethod
    def _validate_values(cls, data):
        for key, value in data.items():
            field = key if isinstance(key, peewee.Field) else cls._meta.combined.get(key)
            validate = getattr(field, "validate", None)
            if validate is not None:
                validate(value)

    @classmethod
    def insert(cls, __data=None, **insert):
        data = cls._normalize_data(__data, insert)
        if isinstance(data, dict):
            cls._validate_values(data)
        return _ModelInsert(cls, data)

    @classmethod
    def insert_many(cls, rows, fields=None):
        if isinstance(rows, Node):
            return super().insert_many(rows, fields)
        rows = list(rows)
        if fields is not None:
            resolved = [getattr(cls, f) if isinstance(f, str) else f for f in fields]
        else:                       # tuple rows without fields: peewee's default columns
            resolved = (cls._meta.sorted_fields[1:] if cls._meta.auto_increment
                        else cls._meta.sorted_fields)
        for row in rows:
            if isinstance(row, dict):
                cls._validate_values(row)
            else:
                cls._validate_values(dict(zip(resolved, row)))
        return _ModelInsert(cls, insert=rows, columns=fields)

    @classmethod
    def update(cls, __data=None, **update):
        data = cls._normalize_data(__data, update)
        if isinstance(data, dict):
            cls._validate_values(data)
            for field in cls._meta.auto_now_fields:
                data.setdefault(field, utcnow())
        return peewee.ModelUpdate(cls, data)

    def save(self, force_insert=False, only=None):
        if self.__dict__.get("_store_unsaved_default_pk"):
            force_insert = True
        elif self._pk is not None and not force_insert:
            appendonly.refuse(self, "UPDATE")
            now = utcnow()
            for field in self._meta.auto_now_fields:
                setattr(self, field.name, now)
            if only is not None:
                # by name: ``field in only`` would compare with Field.__eq__
                # (an always-true Expression)
                names = {f if isinstance(f, str) else f.name for f in only}
                only = list(only) + [f for f in self._meta.auto_now_fields
                                     if f.name not in names]
        rows = super().save(force_insert=force_insert, only=only)
        self._store_unsaved_default_pk = False
        return rows

    def delete_instance(self, *args, **kwargs):
        appendonly.refuse(self, "DELETE")
        return super().delete_instance(*args, **kwargs)

    @classmethod
    def bulk_update(cls, model_list, fields, batch_size=None):
        model_list = list(model_list)
        resolved = [cls._meta.combined[f] if isinstance(f, str) else f for f in fields]
        for model in model_list:
            cls._validate_values({f: getattr(model, f.safe_name) for f in resolved})
        return super().bulk_update(model_list, fields, batch_size=batch_size)

    @classmethod
    def create_table(cls, safe=True, **options):
        if cls._meta.abstract:
            raise ConfigError(f"{cls.__name__} is abstract: it has no table")
        return super().create_table(safe=safe, **options)

    def _store_repr(self):
        parts = []
        for field in self._meta.sorted_fields[:6]:
            value = self.__data__.get(field.name)
            text = repr(value)
            if len(text) > 40:
                text = text[:37] + "..."
            parts.append(f"{field.name}={text}")
        more = " ..." if len(self._meta.sorted_fields) > 6 else ""
        return f"<{type(self).__name__} {' '.join(parts)}{more}>"


class TimestampedModel(Model):
    """Adds ``created_at`` (set on insert) and ``updated_at`` (refreshed on
    every ``save()`` of an existing row and every ``Model.update()`` query)."""

    created_at = DateTimeTZField(default=utcnow)
    updated_at = DateTimeTZField(default=utcnow, auto_now=True)

    class Meta:
        abstract = True


class _ModelInsert(peewee.ModelInsert):
    """peewee's INSERT, whose ``on_conflict(update={...})`` values are
    validated like the inserted ones (SQLite stored 2**40 into an
    IntegerField through an upsert; PostgreSQL raised)."""

    def on_conflict(self, *args, **kwargs):
        update = kwargs.get("update", args[1] if len(args) > 1 else None)
        if isinstance(update, dict):
            self.model._validate_values(update)
        return super().on_conflict(*args, **kwargs)
