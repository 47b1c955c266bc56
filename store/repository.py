"""A generic repository: data access for one store model, no business logic.

    class ItemRepository(Repository[Item]):
        model = Item
        natural_key = ("sku",)                  # upsert's default conflict target
        default_order = ("-created_at",)        # get_all / find_all order

    items = ItemRepository(db)
    with db.atomic():                           # the caller owns the transaction
        item = items.create(sku="A-1", qty=3)   # INSERTed now, id set, not committed
        items.find_by(sku="A-1")                # the same row (same connection)
    items.get(item.id); items.count(qty=3); items.get_all(page=2, per_page=50)
    items.upsert([{"sku": "A-1", "qty": 4}])    # idempotent INSERT .. ON CONFLICT

Transactions ("flush, don't commit"). Peewee has no session: every write is
sent to the database when the method is called, on the connection of the
calling thread. Inside the caller's ``db.atomic()`` block the row is written
in that transaction: the same connection sees it at once (``id`` is set on
the returned object), other connections do not, and it is committed or
rolled back with the caller's block; no repository method commits it.
Outside any transaction each statement commits on its own (peewee runs in
autocommit mode), so wrap related writes in ``db.atomic()``.

Each write runs in ``db.atomic()``, which inside the caller's transaction is
a SAVEPOINT, released (not committed) on success and rolled back on error.
So a refused row (``store.UniqueViolation`` ...) leaves the caller's
transaction usable on both backends; without it PostgreSQL would abort the
whole transaction while SQLite carried on. An ``upsert`` of many rows is
all-or-nothing the same way.

Errors: an unknown column, a bad page or a malformed upsert raise
``store.ValidationError`` before the database is touched; values are
validated by ``store.Model`` (``ValidationError`` naming ``table.column``);
the database's refusals are ``store.CheckViolation``, ``UniqueViolation``,
``ForeignKeyViolation``, ``NotNullViolation`` with the constraint's name.
``find_by`` matching several rows raises ``MultipleRowsFound``.

Ordering: ``get_all`` and ``find_all`` always end with the primary key
(descending when the first sort key is), so pages are stable even when the
sort columns tie. NULLs sort as PostgreSQL
sorts them by default, on both backends: last ascending, first descending.
"""
from __future__ import annotations

import json
from typing import Generic, Iterable, Optional, TypeVar

import peewee

from .errors import ConfigError, MultipleRowsFound, ValidationError
from .fields import JSONField

M = TypeVar("M", bound=peewee.Model)

__all__ = ["Repository", "MultipleRowsFound"]


class Repository(Generic[M]):
    """Find, create, page, count and upsert rows of ``model``.

    Subclasses set ``model`` (or pass ``model=`` for a one-off repository),
    optionally ``natural_key`` (column names: ``upsert``'s default conflict
    target) and ``default_order`` (``get_all``/``find_all`` order: column
    names, ``"-name"`` for descending, or peewee fields/orderings).

    ``db`` is the database the model is bound to; passing one the model is
    not bound to raises ConfigError (queries run where the model is bound).
    """

    model: type = None
    natural_key: tuple = ()
    default_order: tuple = ()
    max_per_page: int = 1000
    upsert_batch_size: int = 500

    def __init__(self, db=None, *, model=None):
        if model is not None:
            self.model = model
        if self.model is None:
            raise ConfigError(f"{type(self).__name__}: no model (set the class "
                              "attribute or pass model=)")
        self._db = db
        self._database()                        # fail now, not on first use

    def _database(self):
        """The database the model is bound to (checked on every call)."""
        bound = self.model._meta.database
        name = self.model.__name__
        if bound is None:
            raise ConfigError(f"{name} is not bound to a database: "
                              f"db.bind_models([{name}]) or store.connect(url, models=[...])")
        if self._db is not None and bound is not self._db:
            raise ConfigError(f"{name} is bound to {bound!r}, not to this repository's "
                              f"{self._db!r}: bind it first (db.bind_models([...]))")
        return bound

    db = property(_database)

    @property
    def table(self) -> str:
        return self.model._meta.table_name

    # -- reading ------------------------------------------------------------------

    def get(self, pk) -> Optional[M]:
        """The row with primary key ``pk``, or None. A ``pk`` its column
        cannot hold (``"abc"`` for an integer key) raises ValidationError on
        both backends (PostgreSQL would raise a DataError, SQLite find nothing)."""
        self._database()
        field = self.model._meta.primary_key
        validate = getattr(field, "validate", None)
        if validate is not None:
            validate(pk)
        elif isinstance(field, peewee.IntegerField):
            if isinstance(pk, bool) or not isinstance(pk, (int, str)) \
                    or not str(pk).strip().lstrip("+-").isdigit():
                raise ValidationError(f"{self.table}.{field.column_name}",
                                      f"{pk!r} is not an integer", pk)
        return self.model.get_or_none(field == pk)

    def find_by(self, **keys) -> Optional[M]:
        """The one row whose columns equal ``keys`` (``None`` means IS NULL),
        or None; MultipleRowsFound if several match."""
        if not keys:
            raise ValidationError(self.table, "find_by() needs at least one column=value")
        rows = list(self._select(keys).limit(2))
        if len(rows) > 1:
            raise MultipleRowsFound(self.table, keys, self.count(**keys))
        return rows[0] if rows else None

    def find_all(self, *, order_by=None, **filters) -> list:
        """Every row whose columns equal ``filters``, in ``order_by`` (default
        ``default_order``) then primary-key order."""
        return list(self._select(filters).order_by(*self._ordering(order_by)))

    def get_all(self, *, page: int = 1, per_page: int = 100, order_by=None) -> list:
        """Page ``page`` (from 1) of ``per_page`` rows (1..``max_per_page``),
        in ``order_by`` (default ``default_order``) then primary-key order."""
        for name, value, low, high in (("page", page, 1, None),
                                       ("per_page", per_page, 1, self.max_per_page)):
            if (not isinstance(value, int) or isinstance(value, bool) or value < low
                    or (high is not None and value > high)):
                bounds = f">= {low}" if high is None else f"in {low}..{high}"
                raise ValidationError(name, f"must be an integer {bounds}, got {value!r}", value)
        query = self._select({}).order_by(*self._ordering(order_by))
        return list(query.paginate(page, per_page))

    def count(self, **filters) -> int:
        """How many rows have columns equal to ``filters`` (all rows if none)."""
        return self._select(filters).count()

    # -- writing ------------------------------------------------------------------

    def create(self, instance: Optional[M] = None, /, **values) -> M:
        """INSERT one row now (see the module doc: not committed here).

        ``create(sku="A-1", qty=3)`` or ``create(Item(sku="A-1"))``: returns
        the instance with its primary key set. Python defaults apply to
        columns not given.
        """
        self._fields(values)
        if instance is None:
            instance = self.model(**values)
        elif not isinstance(instance, self.model):
            raise ValidationError(self.table, f"create() expects a {self.model.__name__}, "
                                  f"got {type(instance).__name__}", instance)
        else:
            for name, value in values.items():
                setattr(instance, name, value)
        with self.db.atomic():
            instance.save(force_insert=True)
        return instance

    def upsert(self, rows: Iterable[dict], *, conflict=None, update=None,
               batch_size: Optional[int] = None) -> int:
        """Insert ``rows`` (dicts with the same keys); where a row's
        ``conflict`` columns (default ``natural_key``; they must be the
        primary key or a UNIQUE index) match an existing row, update that
        row's ``update`` columns (default: every given column but the
        conflict ones and the primary key; ``()`` inserts only missing rows).

        Idempotent: a row whose ``update`` columns already hold the given
        values is not written at all, so running the same upsert twice leaves
        the same rows with the same ids and the same ``updated_at``. Fields
        with ``auto_now`` are refreshed only on rows that change. Returns the
        number of rows inserted or changed. All-or-nothing (one atomic block,
        ``batch_size`` rows per statement).

        PostgreSQL draws a sequence value for every row offered, inserted or
        not, so ids of later inserts can have gaps there; existing rows keep
        their ids on both backends.
        """
        size = self.upsert_batch_size if batch_size is None else batch_size
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValidationError("batch_size", f"must be an integer >= 1, got {size!r}", size)
        rows = self._normalize_rows(rows)
        if not rows:
            return 0
        keys = list(rows[0])
        target = self._conflict_target(conflict)
        missing = [f.name for f in target if f.name not in keys]
        if missing:
            raise ValidationError(f"{self.table}.{missing[0]}",
                                  "conflict column missing from the rows")
        self._no_duplicate_keys(rows, target)
        changed = self._update_fields(update, keys, target)
        validate = getattr(self.model, "_validate_values", None)
        if validate is not None:                # store.Model: before any write
            for row in rows:
                validate(row)
        if changed:
            names = {f.name for f in changed}
            stamps = [f for f in self.model._meta.sorted_fields
                      if getattr(f, "auto_now", False) and f.name not in names]
            action = dict(conflict_target=target, preserve=changed + stamps,
                          where=_any_differs(changed))
        else:
            action = dict(action="NOTHING", conflict_target=target)
        written = 0
        with self.db.atomic():
            for batch in peewee.chunked(rows, size):
                query = self.model.insert_many(batch).on_conflict(**action)
                written += query.as_rowcount().execute()
        return written

    # -- helpers ------------------------------------------------------------------

    def _field(self, name):
        if isinstance(name, peewee.Field):
            if name.model is not self.model:
                raise ValidationError(f"{self.table}.{name.name}",
                                      f"is a field of {name.model.__name__}")
            return name
        field = self.model._meta.fields.get(name) or self.model._meta.columns.get(name)
        if field is None:
            raise ValidationError(f"{self.table}.{name}", "no such column")
        return field

    def _fields(self, names):
        return [self._field(n) for n in names]

    def _select(self, filters: dict):
        self._database()
        query = self.model.select()
        for name, value in filters.items():
            field = self._field(name)
            query = query.where(field.is_null() if value is None else field == value)
        return query

    def _ordering(self, order_by):
        if order_by is None:
            order_by = self.default_order
        if isinstance(order_by, (str, peewee.Node)):
            order_by = (order_by,)
        out = []
        for item in order_by:
            if isinstance(item, str):
                desc = item.startswith("-")
                field = self._field(item.lstrip("-"))
                item = field.desc() if desc else field.asc()
            elif not isinstance(item, peewee.Ordering):
                item = item.asc()
            if item.nulls is None and getattr(item.node, "null", True):
                item = peewee.Ordering(item.node, item.direction, item.collation,
                                       nulls="LAST" if item.direction == "ASC" else "FIRST")
            out.append(item)
        pk = self.model._meta.primary_key
        if not any(o.node is pk for o in out):
            out.append(pk.desc() if out and out[0].direction == "DESC" else pk.asc())
        return out

    def _normalize_rows(self, rows):
        """Rows as dicts keyed by field name, all with the same columns."""
        out = []
        for row in rows:
            if not isinstance(row, dict):
                raise ValidationError(self.table, f"upsert rows must be dicts, got "
                                      f"{type(row).__name__}", row)
            out.append({self._field(k).name: v for k, v in row.items()})
        for index, row in enumerate(out[1:], 1):
            if set(row) != set(out[0]):
                diff = sorted(set(row) ^ set(out[0]))
                raise ValidationError(f"{self.table}.{diff[0]}",
                                      f"rows 0 and {index} differ in this column: every "
                                      "upsert row must give the same columns")
        return out

    def _conflict_target(self, conflict):
        if conflict is None:
            conflict = self.natural_key
        if isinstance(conflict, (str, peewee.Field)):
            conflict = (conflict,)
        target = self._fields(conflict)
        if not target:
            raise ValidationError(self.table, "upsert needs conflict=(columns...) "
                                  "or a natural_key on the repository")
        names = {f.column_name for f in target}
        if names not in _unique_column_sets(self.model):
            raise ValidationError(f"{self.table}({', '.join(f.column_name for f in target)})",
                                  "conflict columns must be the primary key or a "
                                  "UNIQUE index of the table")
        return target

    def _update_fields(self, update, keys, target):
        # compared by name: `field in [...]` would call Field.__eq__, which
        # builds an (always true) SQL Expression
        pk = self.model._meta.primary_key
        fixed = {f.name for f in target} | {getattr(pk, "name", None)}
        if update is None:
            return [self._field(k) for k in keys if k not in fixed]
        fields, seen = [], set()
        for field in self._fields((update,) if isinstance(update, str) else update):
            if field.name in fixed:
                raise ValidationError(f"{self.table}.{field.column_name}",
                                      "a conflict or primary-key column cannot be updated")
            if field.name not in keys:
                raise ValidationError(f"{self.table}.{field.column_name}",
                                      "an update column must be given in the rows")
            if field.name not in seen:
                seen.add(field.name)
                fields.append(field)
        return fields

    def _no_duplicate_keys(self, rows, target):
        """Two rows with one conflict key: PostgreSQL refuses the statement
        ("cannot affect row a second time"), SQLite keeps the last; refuse
        it on both, before the database is touched."""
        seen = {}
        for index, row in enumerate(rows):
            key = tuple(_comparable(f, row[f.name]) for f in target)
            if key in seen:
                raise ValidationError(
                    f"{self.table}({', '.join(f.column_name for f in target)})",
                    f"rows {seen[key]} and {index} have the same conflict key "
                    f"{tuple(row[f.name] for f in target)!r}")
            seen[key] = index


def _unique_column_sets(model):
    """Column-name sets ON CONFLICT can target: the primary key and every
    full (non-partial) UNIQUE index."""
    meta = model._meta
    sets = []
    if meta.primary_key is not False and meta.primary_key is not None:
        pk_fields = (meta.primary_key.field_names
                     if isinstance(meta.primary_key, peewee.CompositeKey)
                     else [meta.primary_key.name])
        sets.append({meta.fields[n].column_name for n in pk_fields})
    for index in meta.fields_to_index():
        if not getattr(index, "_unique", False) or getattr(index, "_where", None) is not None:
            continue
        nodes = [getattr(e, "node", e) for e in index._expressions]
        if all(isinstance(n, peewee.Field) for n in nodes):
            sets.append({n.column_name for n in nodes})
    return sets


def _any_differs(fields):
    """WHERE for DO UPDATE: some ``fields`` value differs from EXCLUDED's,
    NULL-safe, in SQL both backends accept (``IS DISTINCT FROM`` needs SQLite
    3.39; store supports 3.38)."""
    expr = None
    for field in fields:
        new = getattr(peewee.EXCLUDED, field.column_name)
        term = field != new
        if field.null:
            term = term | (field.is_null() != new.is_null())
        expr = term if expr is None else expr | term
    return expr


def _comparable(field, value):
    """``value`` as the column stores it, hashable, for duplicate detection."""
    if isinstance(field, JSONField):
        return json.dumps(value, sort_keys=True)
    try:
        stored = field.python_value(field.db_value(value))
        hash(stored)
        return stored
    except Exception:  # noqa: BLE001 - unhashable or odd value: compare as given
        return repr(value)
