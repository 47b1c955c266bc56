"""Schema changes per backend: one class each, the differences in one place.

``PostgresDDL`` alters in place. ``SqliteDDL`` uses ``ALTER TABLE`` where
SQLite can (add a plain nullable column, rename a column, indexes) and
rebuilds the table (``rebuild.py``) for everything else. Both take store
fields, whose CHECKs and foreign key are "owned" by the column: adding,
dropping, changing or renaming the column adds, drops or renames them too.
"""
from __future__ import annotations

import peewee

from ..errors import MigrationError
from .rebuild import SqliteTable, TableEdit, quote


def attach(db, table: str, name: str, field):
    """``field`` bound as ``name`` on a throwaway model of ``table`` on ``db``
    (to render its column SQL and name its constraints)."""
    from ..model import Model

    field = _with(field, index=False, unique=False)    # indexes are their own operations
    meta = {"table_name": table, "database": db}
    if not field.primary_key:
        meta["primary_key"] = False
    attrs = {name: field, "Meta": type("Meta", (), meta)}
    model = type(f"_Column_{table}_{name}", (Model,), attrs)
    model.bind(db, bind_refs=False, bind_backrefs=False)
    return model._meta.fields[name]


def _with(field, **changes):
    """A shallow copy of ``field`` with ``changes`` (it is re-bound by attach)."""
    import copy
    clone = copy.copy(field)
    for k, v in changes.items():
        setattr(clone, k, v)
    return clone


class Column:
    """What a bound field needs on one backend."""

    def __init__(self, db, table, name, field):
        from ..fields import StoreField
        from ..model import constraint_name
        self.db, self.table = db, table
        self.field = attach(db, table, name, field)
        self.name = self.field.column_name
        ctx = self.context()
        self.sql = ctx.sql(self.field.ddl(ctx)).query()[0]
        backend = db.features.name
        self.checks = {}
        if isinstance(self.field, StoreField):
            for spec in self.field.store_checks():
                sql = spec.for_backend(backend)
                if sql:
                    self.checks[constraint_name("ck", table, spec.name)] = sql
        self.fk = None
        if isinstance(self.field, peewee.ForeignKeyField):
            ctx = self.context()
            self.fk_name = self.field.constraint_name
            self.fk = ctx.sql(self.field.foreign_key_constraint(True)).query()[0]

    def context(self):
        """The context peewee's CREATE TABLE uses (columns unqualified)."""
        return self.field.model._schema._create_context()

    def type_sql(self):
        ctx = self.context()
        return ctx.sql(self.field.ddl_datatype(ctx)).query()[0]

    def constraint_sql(self):
        out = [f"CONSTRAINT {quote(n)} CHECK ({sql})" for n, sql in self.checks.items()]
        if self.fk:
            out.append(self.fk)
        return out

    def owned(self):
        return set(self.checks) | ({self.fk_name} if self.fk else set())

    def literal(self, value) -> str:
        """``value`` as an SQL literal in this column's storage on this
        backend; ``peewee.SQL`` as given."""
        if isinstance(value, peewee.SQL):
            return value.sql
        from ..fields import StoreField, sql_literal
        if isinstance(self.field, StoreField):
            return self.field.literal_on(self.db.features.name, value)
        return sql_literal(self.field.db_value(value))

    def fill_sql(self):
        """An SQL literal of the Python default, to fill existing rows."""
        default = self.field.default
        if default is None:
            return None
        return self.literal(default() if callable(default) else default)


def _check_sql(sql, backend):
    return sql.get(backend) if isinstance(sql, dict) else sql


class BaseDDL:
    def __init__(self, db):
        self.db = db
        self.backend = db.features.name

    def _no_fill(self, table, col):
        """A NOT NULL column without a default: fine on an empty table."""
        if self.db.execute_sql(f"SELECT 1 FROM {quote(table)} LIMIT 1").fetchone():
            raise MigrationError(
                f"{table}.{col.name}: a NOT NULL column added to a table with rows needs "
                f"a default (default= or server_default=) or null=True")

    def narrow(self, table, new, was, *, truncate=False, round=False):
        """Before a column's type changes: the values the new type cannot
        hold unchanged, the same on both backends. A text longer than a new
        ``max_length`` or a decimal with more places than a new scale is
        refused (naming the table, column and how many rows), or cut /
        rounded half away from zero when ``truncate`` / ``round`` says so; a
        number with more integer digits than the new type holds is always
        refused. Nothing is changed before the check passes."""
        from ..fields import DecimalField
        c, t = quote(new.name), quote(table)
        nf, of = new.field, was.field
        if new.type_sql() == was.type_sql():
            return
        max_length = getattr(nf, "max_length", None)
        if isinstance(nf, peewee.CharField) and max_length and not (
                isinstance(of, peewee.CharField) and of.max_length
                and of.max_length <= max_length):
            text = isinstance(of, (peewee.CharField, peewee.TextField))
            where = f"length({c if text else f'CAST({c} AS TEXT)'}) > {int(max_length)}"
            count = self._count(table, where)
            if count and not (truncate and text):
                raise MigrationError(
                    f"{table}.{new.name}: {count} row(s) hold text longer than the new "
                    f"max_length={max_length}; nothing was changed. Shorten or delete "
                    f"them first, or pass truncate=True to alter_field({table!r}, "
                    f"{new.name!r}, ...) to cut them to {max_length} characters")
            if count:
                self.run([f"UPDATE {t} SET {c} = substr({c}, 1, {int(max_length)}) "
                          f"WHERE {where}"])
        if isinstance(nf, DecimalField) and isinstance(
                of, (DecimalField, peewee.IntegerField, peewee.FloatField)):
            places = nf.decimal_places
            n = f"CAST({c} AS NUMERIC)"
            old_places = getattr(of, "decimal_places", 0 if isinstance(
                of, peewee.IntegerField) else None)
            if old_places is None or old_places > places:
                self._round_or_refuse(table, new.name, places, round,
                                      f"hold more than the new {places} decimal place(s)")
            limit = 10 ** (nf.max_digits - places)
            count = self._count(table, f"abs(ROUND({n}, {places})) >= {limit}")
            if count:
                raise MigrationError(
                    f"{table}.{new.name}: {count} row(s) hold a number of {limit} or more, "
                    f"which DECIMAL({nf.max_digits},{places}) cannot hold; nothing was "
                    f"changed")

        if isinstance(nf, peewee.IntegerField) and not isinstance(
                nf, (peewee.AutoField, peewee.BigAutoField)) and isinstance(
                of, (DecimalField, peewee.FloatField, peewee.IntegerField)):
            if not isinstance(of, peewee.IntegerField):
                self._round_or_refuse(table, new.name, 0, round,
                                      "hold a fraction, which an integer column cannot")
            bits = (16 if isinstance(nf, peewee.SmallIntegerField) else
                    64 if isinstance(nf, peewee.BigIntegerField) else 32)
            low, high = -2 ** (bits - 1), 2 ** (bits - 1) - 1
            count = 0 if bits == 64 else self._count(table, f"{c} < {low} OR {c} > {high}")
            if count:
                raise MigrationError(
                    f"{table}.{new.name}: {count} row(s) hold a number outside "
                    f"{low}..{high}, which {type(nf).__name__} cannot hold; nothing was "
                    f"changed")

    def _round_or_refuse(self, table, column, places, round, what):
        """Values of ``table.column`` with more than ``places`` decimal
        places: refused (``what`` they hold), or rounded half away from zero
        in place when ``round``."""
        c = quote(column)
        n = f"CAST({c} AS NUMERIC)"
        where = f"{n} <> ROUND({n}, {places})"
        count = self._count(table, where)
        if count and not round:
            raise MigrationError(
                f"{table}.{column}: {count} row(s) {what}; nothing was changed. Pass "
                f"round=True to alter_field({table!r}, {column!r}, ...) to round them "
                f"half away from zero")
        if count:
            self.run([f"UPDATE {quote(table)} SET {c} = ROUND({n}, {places}) WHERE {where}"])

    def _count(self, table, where):
        return self.db.execute_sql(
            f"SELECT COUNT(*) FROM {quote(table)} WHERE {where}").fetchone()[0]

    def run(self, statements):
        for sql in statements:
            self.db.execute_sql(sql)

    def add_index(self, table, name, sql):
        if sql:
            self.run([sql])

    def drop_index(self, table, name):
        self.run([f"DROP INDEX {quote(name)}"])

    def upgrade_decimal_storage(self, table, name, field):
        """Only SQLite had another decimal storage (``store.legacy``)."""


class PostgresDDL(BaseDDL):
    def _alter(self, table):
        return f"ALTER TABLE {quote(table)}"

    def add_field(self, table, name, field, fill=None):
        col = Column(self.db, table, name, field)
        t = self._alter(table)
        if fill is not None:
            fill = col.literal(fill)
        elif not col.field.null and col.field.server_default is None:
            fill = col.fill_sql()
        if not col.field.null and col.field.server_default is None and fill is None:
            self._no_fill(table, col)
        if fill is not None:        # add nullable, fill, then NOT NULL
            nullable = Column(self.db, table, name, _with(field, null=True))
            stmts = [f"{t} ADD COLUMN {nullable.sql}",
                     f"UPDATE {quote(table)} SET {quote(col.name)} = {fill}",
                     f"{t} ALTER COLUMN {quote(col.name)} SET NOT NULL"]
        else:
            stmts = [f"{t} ADD COLUMN {col.sql}"]
        stmts += [f"{t} ADD {c}" for c in col.constraint_sql()]
        self.run(stmts)

    def drop_field(self, table, name, field):
        col = Column(self.db, table, name, field)
        t = self._alter(table)
        self.run([f"{t} DROP CONSTRAINT IF EXISTS {quote(n)}" for n in sorted(col.owned())]
                 + [f"{t} DROP COLUMN {quote(col.name)}"])

    def rename_field(self, table, old_name, new_name, field):
        old = Column(self.db, table, old_name, field)
        new = Column(self.db, table, new_name, field)
        t = self._alter(table)
        stmts = [f"{t} RENAME COLUMN {quote(old.name)} TO {quote(new.name)}"]
        live = self._constraints(table)
        for a, b in renamed_constraints(old, new).items():
            if a in live:
                stmts.append(f"{t} RENAME CONSTRAINT {quote(a)} TO {quote(b)}")
        self.run(stmts)

    def _constraints(self, table):
        return {r[0] for r in self.db.execute_sql(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass",
            (quote(table),)).fetchall()}

    def alter_field(self, table, name, field, old, truncate=False, round=False, fill=None):
        new, was = Column(self.db, table, name, field), Column(self.db, table, name, old)
        self.narrow(table, new, was, truncate=truncate, round=round)
        t, c = self._alter(table), quote(new.name)
        stmts = []
        for n in sorted(was.owned()):
            stmts.append(f"{t} DROP CONSTRAINT IF EXISTS {quote(n)}")
        new_type, old_type = new.type_sql(), was.type_sql()
        if new_type != old_type:
            stmts.append(f"{t} ALTER COLUMN {c} TYPE {new_type} USING {c}::{new_type}")
        new_default = _server_default(new.field, self.backend)
        if new_default != _server_default(was.field, self.backend):
            stmts.append(f"{t} ALTER COLUMN {c} DROP DEFAULT" if new_default is None
                         else f"{t} ALTER COLUMN {c} SET DEFAULT {new_default}")
        if new.field.null != was.field.null:
            if not new.field.null:
                fill = new.literal(fill) if fill is not None else new.fill_sql()
                if fill is not None:
                    stmts.append(f"UPDATE {quote(table)} SET {c} = {fill} WHERE {c} IS NULL")
            stmts.append(f"{t} ALTER COLUMN {c} {'DROP' if new.field.null else 'SET'} NOT NULL")
        stmts += [f"{t} ADD {x}" for x in new.constraint_sql()]
        self.run(stmts)

    def add_check(self, table, name, sql):
        sql = _check_sql(sql, self.backend)
        if sql:
            self.run([f"{self._alter(table)} ADD CONSTRAINT {quote(name)} CHECK ({sql})"])

    def drop_check(self, table, name, sql=None):
        if sql is None or _check_sql(sql, self.backend):
            self.run([f"{self._alter(table)} DROP CONSTRAINT {quote(name)}"])


class SqliteDDL(BaseDDL):
    def _rebuild(self, table, edit):
        SqliteTable(self.db, table).rebuild(edit)

    def add_field(self, table, name, field, fill=None):
        col = Column(self.db, table, name, field)
        if fill is not None:
            edit = TableEdit(add_columns=[(col.name, col.sql)],
                             add_constraints=col.constraint_sql(),
                             fill={col.name: col.literal(fill)})
            self._rebuild(table, edit)
            return
        if col.field.null or col.field.server_default is not None:
            if not col.owned():
                self.run([f"ALTER TABLE {quote(table)} ADD COLUMN {col.sql}"])
                return
            fill = None
        else:
            fill = col.fill_sql()
            if fill is None:
                self._no_fill(table, col)
        edit = TableEdit(add_columns=[(col.name, col.sql)], add_constraints=col.constraint_sql())
        if fill is not None:
            edit.fill[col.name] = fill
        self._rebuild(table, edit)

    def drop_field(self, table, name, field):
        col = Column(self.db, table, name, field)
        live = SqliteTable(self.db, table)
        self._rebuild(table, TableEdit(drop_columns={col.name},
                                       drop_constraints=col.owned() & live.constraint_names()))

    def rename_field(self, table, old_name, new_name, field):
        old = Column(self.db, table, old_name, field)
        new = Column(self.db, table, new_name, field)
        # SQLite rewrites every reference (CHECKs, indexes, triggers) itself
        self.run([f"ALTER TABLE {quote(table)} RENAME COLUMN {quote(old.name)} "
                  f"TO {quote(new.name)}"])
        live = SqliteTable(self.db, table).constraint_names()
        names = {a: b for a, b in renamed_constraints(old, new).items() if a in live}
        if names:
            self._rebuild(table, TableEdit(rename_constraints=names))

    def alter_field(self, table, name, field, old, truncate=False, round=False, fill=None):
        new, was = Column(self.db, table, name, field), Column(self.db, table, name, old)
        self.narrow(table, new, was, truncate=truncate, round=round)
        live = SqliteTable(self.db, table)
        edit = TableEdit(replace_columns={new.name: new.sql},
                         drop_constraints=was.owned() & live.constraint_names(),
                         add_constraints=new.constraint_sql())
        if was.field.null and not new.field.null:
            fill = new.literal(fill) if fill is not None else new.fill_sql()
            if fill is not None:
                edit.fill[new.name] = f"COALESCE({quote(was.name)}, {fill})"
        self._rebuild(table, edit)

    def add_check(self, table, name, sql):
        sql = _check_sql(sql, self.backend)
        if sql:
            self._rebuild(table, TableEdit(add_constraints=[f"CONSTRAINT {quote(name)} CHECK ({sql})"]))

    def drop_check(self, table, name, sql=None):
        if sql is None or _check_sql(sql, self.backend):
            self._rebuild(table, TableEdit(drop_constraints={name}))


    def upgrade_decimal_storage(self, table, name, field):
        """store 0.1's scaled INTEGER column -> the number in NUMERIC(p, s)
        (see ``store.legacy``); nothing to do when it is already so."""
        from .. import legacy
        if not legacy.is_scaled(self.db, table, name):
            return
        part = next((p for p in SqliteTable(self.db, table).parts if p.column == name), None)
        if part is None:
            raise MigrationError(f"{table}: no column {name!r}")
        text = legacy.upgraded_column(part.text, field)
        fill = f"{quote(name)} / {10 ** field.decimal_places}.0"
        self._rebuild(table, TableEdit(replace_columns={name: text}, fill={name: fill}))


def renamed_constraints(old: Column, new: Column) -> dict:
    """Owned constraint names of a column before and after its rename."""
    out = dict(zip(sorted(old.checks), sorted(new.checks)))
    if old.fk and old.fk_name != new.fk_name:
        out[old.fk_name] = new.fk_name
    return {a: b for a, b in out.items() if a != b}


def _server_default(field, backend):
    fn = getattr(field, "server_default_sql", None)
    return fn(backend) if fn else None


def ddl_for(db) -> BaseDDL:
    return {"sqlite": SqliteDDL, "postgresql": PostgresDDL}[db.features.name](db)
