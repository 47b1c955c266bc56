"""The migrator handed to migration files: peewee-migrate's, knowing store.

Differences from ``peewee_migrate.Migrator``:

* no replay of earlier migrations under ``unittest.mock``: a table created by
  an earlier migration is looked up in the live database (playhouse's
  reflection) the first time a migration names it;
* every operation that fails is reported as a ``MigrationError`` naming the
  app, the migration, the operation and the database's message;
* the SQLite foreign-key handling is the runner's job (the pragma has to be
  switched outside the transaction), so ``migration_context`` only nests a
  savepoint here.
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
