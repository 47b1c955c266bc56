"""The history table of one app: which migrations ran, when, and the file's checksum.

peewee-migrate keeps one ``MigrateHistory`` model class and re-points its
table name at each router, so two routers in one process share whatever table
was set last. store builds one model class per app instead.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import peewee


def checksum(text: str) -> str:
    """sha256 of a migration file, line endings normalised."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def history_model(database, table_name: str, schema: str | None = None):
    class Meta:
        pass
    Meta.database = database
    Meta.table_name = table_name
    Meta.schema = schema

    attrs = {
        "id": peewee.AutoField(),
        "name": peewee.CharField(max_length=255),
        "checksum": peewee.CharField(max_length=64, null=True),
        "migrated_at": peewee.DateTimeField(
            default=lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)),
        "Meta": Meta,
    }
    return type(f"History_{table_name}", (peewee.Model,), attrs)


def ensure_history(model) -> None:
    """Create the table, or add the checksum column to a peewee-migrate one."""
    db = model._meta.database
    if not db.table_exists(model._meta.table_name, schema=model._meta.schema):
        model.create_table(safe=True)
        return
    columns = {c.name for c in db.get_columns(model._meta.table_name, schema=model._meta.schema)}
    if "checksum" not in columns:
        from playhouse.migrate import SchemaMigrator
        migrator = SchemaMigrator.from_database(db)
        migrator.add_column(model._meta.table_name, "checksum", model.checksum).run()
