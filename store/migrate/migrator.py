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
  ``add_index``, ``drop_index``. peewee-migrate's own operations still work
  for hand-written migrations.
"""
from __future__ import annotations

import logging

import peewee
from peewee_migrate.migrator import Migrator
from playhouse.migrate import Operation

from ..errors import MigrationError

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
            reflected = self._reflect(model)
            if reflected is not None:
                self.orm.add(reflected)
        return super().__get_model__(model)

    def _reflect(self, table):
        from playhouse.reflection import Introspector
        db = self.__database__
        if not db.table_exists(table):
            return None
        models = Introspector.from_database(db).generate_models(table_names=[table])
        return models.get(table)

    # -- store's operations --------------------------------------------------
    def _ddl(self):
        from .ddl import ddl_for
        return ddl_for(self.__database__)

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
        self.orm.add(model)
        self._op(f"create_table({meta.table_name!r})", _create_table, model)
        return model

    def drop_table(self, model):
        """Drop ``model``'s table (a frozen model class, so that a rollback
        can re-create it and store can remove what belongs to it)."""
        meta = model._meta
        meta.database = self.__database__
        self._op(f"drop_table({meta.table_name!r})", _drop_table, model)

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

    def rename_field(self, table, old_name, new_name, field):
        self._op(f"rename_field({table!r}, {old_name!r}, {new_name!r})",
                 lambda: self._ddl().rename_field(table, old_name, new_name, field))

    def add_check(self, table, name, sql):
        self._op(f"add_check({table!r}, {name!r})",
                 lambda: self._ddl().add_check(table, name, sql))

    def drop_check(self, table, name, sql=None):
        self._op(f"drop_check({table!r}, {name!r})",
                 lambda: self._ddl().drop_check(table, name, sql))

    def add_index(self, table, name, sql=None, *, sqlite=None, postgresql=None):
        """Create index ``name``: ``sql`` on both backends, or ``sqlite=`` /
        ``postgresql=`` per backend (a backend left out gets no index, e.g.
        a GIN index on SQLite)."""
        per = {"sqlite": sql or sqlite, "postgresql": sql or postgresql}
        self._op(f"add_index({table!r}, {name!r})",
                 lambda: self._ddl().add_index(table, name, per[self._backend()]))

    def drop_index(self, table, name, *, only=None):
        """Drop index ``name`` (``only="postgresql"``: it exists there only)."""
        self._op(f"drop_index({table!r}, {name!r})",
                 lambda: (only in (None, self._backend()))
                 and self._ddl().drop_index(table, name))

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
