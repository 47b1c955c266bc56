"""The history table of one app: which migrations ran, when, and the file's checksum.

peewee-migrate keeps one ``MigrateHistory`` model class and re-points its
table name at each router, so two routers in one process share whatever table
was set last. store builds one model class per app instead.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class HistoryRow:
    name: str
    checksum: str | None
    migrated_at: object


@dataclass
class History:
    """What a database has applied of one app, read without writing."""

    namespace_exists: bool
    table_exists: bool
    applied: list
    files: list
    rows: dict = field(default_factory=dict)   # name -> HistoryRow

    @property
    def pending(self):
        return [n for n in self.files if n not in self.applied]

    @property
    def missing(self):
        return [n for n in self.applied if n not in self.files]

    @property
    def head(self):
        return self.applied[-1] if self.applied else None


def read_history(db, app) -> History:
    """Which migrations of ``app`` ``db`` has applied (nothing is created:
    no namespace, no history table). On SQLite a namespace's history table is
    ``<namespace>__<app>_migrate_history`` in the main file; an old-layout
    namespace file is refused (``store.namespaces.check_legacy``)."""
    from ..fields import quote_ident
    from ..namespaces import check_legacy, namespace_exists, table_name
    from .files import migration_names
    files = migration_names(app.migrations_dir)
    ns = app.namespace
    name = app.history_table
    if db.features.name == "postgresql":
        if ns is None:
            schema, ns_exists = db.execute_sql("SELECT current_schema()").fetchone()[0], True
        else:
            schema = ns
            ns_exists = namespace_exists(db, ns)
        prefix = f"{quote_ident(schema)}." if schema else ""
        exists = bool(schema) and ns_exists and db.execute_sql(
            "SELECT to_regclass(%s)", (prefix + quote_ident(name),)).fetchone()[0] is not None
    else:
        check_legacy(db, ns)
        schema, prefix = None, ""
        name = table_name(db, name, ns)
        ns_exists = ns is None or namespace_exists(db, ns)
        exists = db.execute_sql(
            "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?",
            (name,)).fetchone() is not None
    applied, rows = [], {}
    if exists:
        table = f"{prefix}{quote_ident(name)}"
        has_checksum = any(c.name == "checksum" for c in db.get_columns(name, schema=schema))
        wanted = "name, migrated_at" + (", checksum" if has_checksum else "")
        for row in db.execute_sql(f"SELECT {wanted} FROM {table} ORDER BY id").fetchall():
            migrated_at = row[1]
            if isinstance(migrated_at, str):
                import datetime as _dt
                try:
                    migrated_at = _dt.datetime.fromisoformat(migrated_at)
                except ValueError:
                    pass
            applied.append(row[0])
            rows[row[0]] = HistoryRow(row[0], row[2] if has_checksum else None, migrated_at)
    return History(ns_exists, exists, applied, files, rows)
