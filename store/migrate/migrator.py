"""The migrator handed to migration files: peewee-migrate's, knowing store.

Differences from ``peewee_migrate.Migrator``:

* no replay of earlier migrations under ``unittest.mock``: a table created by
  an earlier migration is looked up in the live database (playhouse's
  reflection) the first time a migration names it;
* every operation that fails is reported as a ``MigrationError`` naming the
  app, the migration, the operation and the database's message;
* the SQLite foreign-key handling is the runner's job (the pragma has to be
  switched outside the transaction), so ``migration_context`` only nests a
  savepoint here;
* store's own operations, which ``create --auto`` writes and which take
  store fields (their CHECKs and foreign key move with the column) and
  rebuild SQLite tables safely where SQLite cannot ALTER (``ddl.py``):
  ``create_table``, ``drop_table``, ``add_field``, ``drop_field``,
  ``alter_field``, ``rename_field``, ``add_check``, ``drop_check``,
  ``add_index``, ``drop_index``. peewee-migrate's own operations keep their
  signatures for hand-written migrations: ``rename_field(model, old, new)``,
  ``add_index(model, *columns, unique=)`` and ``drop_index(model, *columns)``
  run peewee-migrate's operation; store's forms of the same names take a
  field, an index name and its SQL (tests/test_migrate_compat.py).
"""
from __future__ import annotations

import logging

import peewee
from peewee_migrate.migrator import Migrator
from playhouse.migrate import Operation

from ..errors import MigrationError
from ..namespaces import base_table

log = logging.getLogger("store.migrate")


def describe(op) -> str:
    if isinstance(op, Operation):
        args = ", ".join(repr(a) for a in op.args if not isinstance(a, peewee.Field))
        return f"{op.fn.__name__}({args})"
    name = getattr(op, "__qualname__", None) or getattr(op, "__name__", None) or repr(op)
    owner = getattr(op, "__self__", None)
    if owner is not None and hasattr(owner, "_meta"):
        return f"{name.rsplit('.', 1)[-1]}({owner._meta.table_name!r})"
    return name


class StoreMigrator(Migrator):
    app = None
    migration = None

    def model(self, table):
        """A model of ``table``: one this migration declared, else reflected
        from the live database."""
        return self.__get_model__(table)

    def __get_model__(self, model):
        if isinstance(model, str) and model not in self.orm.__models__ \
                and model not in self.orm.__tables__:
            scoped = self.table_name(model)
            if scoped in self.orm.__tables__:
                return self.orm[scoped]
            reflected = self._reflect(model)
            if reflected is not None:
                self.orm.add(reflected)
                model = reflected._meta.table_name
        return super().__get_model__(model)

    def _reflect(self, table):
        from playhouse.reflection import Introspector
        db = self.__database__
        table = self.table_name(table)
        if not db.table_exists(table):
            return None
        models = Introspector.from_database(db).generate_models(table_names=[table])
        return models.get(table)

    # -- namespaces (see store.namespaces) -------------------------------------
    def table_name(self, table: str) -> str:
        """The name raw SQL of this migration must use for ``table``: on
        SQLite in a namespace ``<namespace>__<table>`` (one file holds every
        namespace), elsewhere ``table`` itself (PostgreSQL's search_path
        places it in the namespace's schema)."""
        from ..namespaces import table_name
        return table_name(self.__database__, table)

    def _scope(self, model):
        """``model`` (and the models its foreign keys reference) named for
        the database of this migration: prefixed in a SQLite namespace."""
        from ..namespaces import scope_model, view_namespace
        db = self.__database__
        for m in [model] + [f.rel_model for f in model._meta.refs]:
            scope_model(m, db.features.name, view_namespace(db))
        return model

    def sql(self, sql, *params):
        """Raw SQL. In a SQLite namespace a table of the namespace named
        without its prefix is refused (on SQLite that name is another
        namespace's table): write ``migrator.table_name("t")``."""
        from ..namespaces import namespace_tables, prefix, tables_named, view_namespace
        db = self.__database__
        if prefix(db):
            bare = tables_named(sql, namespace_tables(db, view_namespace(db)))
            if bare:
                raise MigrationError(
                    f"{self.app} {self.migration}: raw SQL names table(s) "
                    f"{', '.join(sorted(set(bare)))} of namespace {view_namespace(db)!r} "
                    f"without their SQLite prefix; write migrator.table_name("
                    f"{bare[0]!r}) (\"{prefix(db)}{bare[0]}\" on SQLite, "
                    f"\"{bare[0]}\" on PostgreSQL)", app=self.app, migration=self.migration)
        return super().sql(sql, *params)

    def create_model(self, model):
        return super().create_model(self._scope(model))

    def remove_model(self, model, *, cascade=True):
        if not isinstance(model, str):
            self._scope(model)
        return super().remove_model(model, cascade=cascade)

    def rename_table(self, model, new_name):
        model = self.__get_model__(model)
        result = super().rename_table(model, self.table_name(new_name))
        model._meta.store_base_table = new_name
        del model._meta.table
        return result

    # -- store's operations --------------------------------------------------
    def _ddl(self):
        from ..namespaces import prefix
        from .ddl import ddl_for
        db = self.__database__
        ddl = ddl_for(db)
        return _Prefixed(ddl, prefix(db), self._scope) if prefix(db) else ddl

    def _op(self, label, fn, *args):
        def run():
            return fn(*args)
        run.__qualname__ = label
        self.__ops__.append(run)

    def create_table(self, model):
        """Create ``model``'s table with its columns, CHECKs and foreign keys
        (indexes are separate ``add_index`` operations)."""
        meta = model._meta
        meta.database = self.__database__
        self._scope(model)
        self.orm.add(model)
        self._op(f"create_table({base_table(model)!r})", _create_table, model)
        return model

    def drop_table(self, model):
        """Drop ``model``'s table (a frozen model class, so that a rollback
        can re-create it and store can remove what belongs to it)."""
        meta = model._meta
        meta.database = self.__database__
        self._scope(model)
        self._op(f"drop_table({base_table(model)!r})", _drop_table, model)

    def add_field(self, table, name, field, *, fill=None):
        """Add a column. ``fill``: the value existing rows get (a Python value
        or ``peewee.SQL``); default: the field's default, else NULL."""
        self._op(f"add_field({table!r}, {name!r})",
                 lambda: self._ddl().add_field(table, name, field, fill))

    def drop_field(self, table, name, field):
        self._op(f"drop_field({table!r}, {name!r})",
                 lambda: self._ddl().drop_field(table, name, field))

    def alter_field(self, table, name, field, *, old, truncate=False, round=False,
                    fill=None):
        """Change a column to ``field`` (``old``: its definition before).
        Values the new type cannot hold unchanged are refused before anything
        changes; ``truncate=True`` cuts texts longer than a new
        ``max_length``, ``round=True`` rounds decimals to a smaller scale
        (half away from zero), the same on both backends. ``fill``: the value
        NULLs get when the column becomes NOT NULL (default: the field's
        default)."""
        self._op(f"alter_field({table!r}, {name!r})",
                 lambda: self._ddl().alter_field(table, name, field, old,
                                                 truncate=truncate, round=round, fill=fill))

    def rename_field(self, table, old_name, new_name, field=None):
        """Rename a column. store's form passes the column's ``field`` (its
        CHECKs and foreign key move with it; SQLite tables are rebuilt where
        needed); peewee-migrate's form, ``rename_field(model, old, new)``,
        runs peewee-migrate's operation unchanged."""
        if field is None:
            return super().rename_field(table, old_name, new_name)
        self._op(f"rename_field({table!r}, {old_name!r}, {new_name!r})",
                 lambda: self._ddl().rename_field(table, old_name, new_name, field))
        return None

    def add_check(self, table, name, sql):
        self._op(f"add_check({table!r}, {name!r})",
                 lambda: self._ddl().add_check(table, name, sql))

    def drop_check(self, table, name, sql=None):
        self._op(f"drop_check({table!r}, {name!r})",
                 lambda: self._ddl().drop_check(table, name, sql))

    def add_index(self, table, *args, sql=None, sqlite=None, postgresql=None, **params):
        """Two forms. store's (what ``create --auto`` writes):
        ``add_index(table, name, sql)`` creates index ``name`` from ``sql`` on
        both backends, or from ``sqlite=`` / ``postgresql=`` per backend (a
        backend left out gets no index, e.g. a GIN index on SQLite).
        peewee-migrate's: ``add_index(model, *columns, unique=False)``
        indexes those columns (the index is named ``<table>_<columns>``)."""
        if len(args) == 2 and _is_sql(args[1]):
            args, sql = args[:1], args[1]
        if sql is None and sqlite is None and postgresql is None:
            return super().add_index(table, *args, **params)
        if len(args) != 1 or params:
            raise TypeError(f"add_index({table!r}, ...): store's form is add_index(table, "
                            f"name, sql) or add_index(table, name, sqlite=..., "
                            f"postgresql=...); got {args!r} {sorted(params)}")
        name = args[0]
        per = {"sqlite": sql or sqlite, "postgresql": sql or postgresql}
        self._op(f"add_index({table!r}, {name!r})",
                 lambda: self._ddl().add_index(table, name, per[self._backend()]))
        return None

    def drop_index(self, table, *args, only=None):
        """Two forms. store's: ``drop_index(table, name)`` drops the index
        ``name`` (``only="postgresql"``: it exists there only).
        peewee-migrate's: ``drop_index(model, *columns)`` drops the index
        ``add_index(model, *columns)`` made. One name that is not an index of
        the table but one of its columns is read as peewee-migrate's form."""
        if only is None and (len(args) != 1 or self._column_not_index(table, args[0])):
            return super().drop_index(table, *args)
        name, = args
        self._op(f"drop_index({table!r}, {name!r})",
                 lambda: (only in (None, self._backend()))
                 and self._ddl().drop_index(table, name))
        return None

    def _column_not_index(self, table, name) -> bool:
        db = self.__database__
        # the table's name on this database (prefixed in a SQLite namespace)
        table_name = self.table_name(table if isinstance(table, str) else base_table(table))
        if not db.table_exists(table_name):
            return False
        if name in {ix.name for ix in db.get_indexes(table_name)}:
            return False
        return name in {c.name for c in db.get_columns(table_name)}

    def upgrade_decimal_storage(self, table, name, field):
        """Convert ``table.name`` from store 0.1's scaled integers on SQLite
        to the number itself (``store.legacy``); nothing elsewhere, nothing
        when it is converted already. One way: a rollback keeps the number."""
        self._op(f"upgrade_decimal_storage({table!r}, {name!r})",
                 lambda: self._ddl().upgrade_decimal_storage(table, name, field))

    def _backend(self):
        return self.__database__.features.name

    def __call__(self):
        ops, self.__ops__ = self.__ops__, []
        for op in ops:
            label = describe(op)
            log.info("%s %s: %s", self.app, self.migration, label)
            try:
                if isinstance(op, Operation):
                    op.run()
                else:
                    op()
            except MigrationError:
                raise
            except Exception as exc:
                raise MigrationError(
                    f"{self.app} {self.migration}: operation {label} failed: "
                    f"{' '.join(str(exc).split())}",
                    app=self.app, migration=self.migration) from exc


def _is_sql(text) -> bool:
    return isinstance(text, str) and text.lstrip()[:6].upper() == "CREATE"


def _create_table(model):
    """The table (columns, CHECKs, FKs) and its append-only guard; indexes
    are ``add_index`` operations of their own."""
    from .. import appendonly
    db = model._meta.database
    model._schema.create_table(safe=False)
    for sql in appendonly.create_sql(model, db.features.name):
        db.execute_sql(sql)


def _drop_table(model):
    from .. import appendonly
    db = model._meta.database
    for sql in appendonly.drop_sql(model, db.features.name):
        db.execute_sql(sql)
    model._schema.drop_table(safe=False)


class _Prefixed:
    """The DDL of a SQLite namespace view: each operation's table, and the
    index an ``add_index`` / ``drop_index`` names, get the namespace prefix
    (``dental__``); index SQL is rewritten to match; foreign keys of a field
    reference the prefixed tables."""

    def __init__(self, ddl, prefix, scope):
        self.ddl, self.prefix, self.scope = ddl, prefix, scope

    def _fields(self, args):
        for a in args:
            if isinstance(a, peewee.ForeignKeyField) and a.rel_model is not None:
                self.scope(a.rel_model)

    def add_index(self, table, name, sql, *args, **kwargs):
        from ..namespaces import rename_in_sql
        if sql:
            sql = rename_in_sql(sql, {table: self.prefix + table, name: self.prefix + name},
                                "index")
        return self.ddl.add_index(self.prefix + table, self.prefix + name, sql, *args, **kwargs)

    def drop_index(self, table, name, *args, **kwargs):
        return self.ddl.drop_index(self.prefix + table, self.prefix + name, *args, **kwargs)

    def __getattr__(self, attr):
        method = getattr(self.ddl, attr)
        if not callable(method):
            return method

        def call(table, *args, **kwargs):
            self._fields(list(args) + list(kwargs.values()))
            return method(self.prefix + table, *args, **kwargs)
        return call
