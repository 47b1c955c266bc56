"""SQLite table rebuilds: the change SQLite cannot ALTER, done by copying.

SQLite's ALTER TABLE cannot add or drop a CHECK or FOREIGN KEY, change a
column's type or nullability, or drop a constrained column. For those it
documents a procedure (https://sqlite.org/lang_altertable.html, "other kinds
of table schema changes"): with foreign keys off (the runner switches the
pragma outside the transaction), inside one transaction:

1. remember the table's indexes and triggers (their SQL in ``sqlite_master``);
2. ``CREATE TABLE "_store_new_<t>"`` with the new definition;
3. ``INSERT INTO`` it ``SELECT`` the kept columns from the old table;
4. ``DROP TABLE`` the old one and rename the new one to its name;
5. re-create the indexes and triggers; keep the AUTOINCREMENT counter;
6. ``PRAGMA foreign_key_check`` (the runner, before commit).

The new definition is the old ``CREATE TABLE`` text edited part by part
(columns and table constraints are split by a tokenizer), so whatever this
module is not asked to change -- column-level CHECKs, COLLATE, defaults,
AUTOINCREMENT, WITHOUT ROWID, named constraints -- is kept as written.
Unlike peewee's ``SqliteMigrator._update_column``, triggers survive, and
child rows survive because foreign keys are off while the parent is
dropped (peewee-migrate rebuilds inside its transaction with them on, and
``ON DELETE CASCADE`` empties the children).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field

from ..errors import MigrationError
from ..fields import quote_ident as quote
from ..introspect import _close, _norm, _split, _tokens, _unquote

_TABLE_CONSTRAINTS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}


@dataclass
class _Part:
    text: str
    column: str | None = None        # a column definition
    name: str | None = None          # CONSTRAINT name of a table constraint
    kind: str | None = None          # CHECK / FOREIGN / UNIQUE / PRIMARY


@dataclass
class TableEdit:
    """What to change; every name is a column or constraint name."""
    drop_columns: set = dc_field(default_factory=set)
    rename_columns: dict = dc_field(default_factory=dict)     # old -> new
    replace_columns: dict = dc_field(default_factory=dict)    # name (new) -> column SQL
    add_columns: list = dc_field(default_factory=list)        # [(name, column SQL)]
    fill: dict = dc_field(default_factory=dict)               # new column -> SQL expr
    drop_constraints: set = dc_field(default_factory=set)
    rename_constraints: dict = dc_field(default_factory=dict)  # old name -> new name
    add_constraints: list = dc_field(default_factory=list)    # ["CONSTRAINT x CHECK (...)"]


class SqliteTable:
    """The live definition of one SQLite table, split into editable parts."""

    def __init__(self, db, table: str):
        self.db, self.table = db, table
        row = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                             (table,)).fetchone()
        if row is None:
            raise MigrationError(f"table {table!r} does not exist")
        self.sql = row[0]
        toks = _tokens(self.sql)
        start = next(i for i, t in enumerate(toks) if t.kind == "punct" and t.text == "(")
        end = _close(toks, start)
        self.suffix = self.sql[toks[end].end:].strip()        # WITHOUT ROWID, STRICT
        self.parts = []
        for part in _split(toks[start + 1:end]):
            text = _norm(self.sql[part[0].start:part[-1].end])
            head = part[0].upper
            if head in _TABLE_CONSTRAINTS:
                name = _unquote(part[1].text) if head == "CONSTRAINT" else None
                kind = (part[2] if head == "CONSTRAINT" else part[0]).upper
                self.parts.append(_Part(text, name=name, kind=kind))
            else:
                self.parts.append(_Part(text, column=_unquote(part[0].text)))
        self.indexes = [r[0] for r in db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL ORDER BY name", (table,)).fetchall()]
        self.triggers = [r[0] for r in db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
            "ORDER BY name", (table,)).fetchall()]

    @property
    def columns(self):
        return [p.column for p in self.parts if p.column]

    def constraint_names(self):
        return {p.name for p in self.parts if p.name}

    def statements(self, edit: TableEdit) -> list[str]:
        """The SQL that rebuilds the table with ``edit`` applied."""
        table, new = self.table, f"_store_new_{self.table}"
        unknown = (set(edit.drop_columns) | set(edit.rename_columns)) - set(self.columns)
        if unknown:
            raise MigrationError(f"{table}: no column(s) {', '.join(sorted(unknown))}")
        missing = (set(edit.drop_constraints) | set(edit.rename_constraints)) \
            - self.constraint_names()
        if missing:
            raise MigrationError(f"{table}: no constraint(s) {', '.join(sorted(missing))}")
        parts, copy = [], []          # copy: [(new column, SELECT expression)]
        for p in self.parts:
            if p.column:
                if p.column in edit.drop_columns:
                    continue
                target = edit.rename_columns.get(p.column, p.column)
                text = edit.replace_columns.get(target)
                if text is None:
                    text = p.text if target == p.column else _rename_head(p.text, target)
                parts.append(text)
                copy.append((target, edit.fill.get(target, quote(p.column))))
            elif p.name not in edit.drop_constraints:
                text = p.text
                if p.name in edit.rename_constraints:
                    toks = _tokens(text)          # CONSTRAINT "name" ...
                    text = (text[:toks[1].start] + quote(edit.rename_constraints[p.name])
                            + text[toks[1].end:])
                parts.append(text)
        existing = {c for c, _ in copy}
        for name, text in edit.add_columns:
            if name in existing:
                raise MigrationError(f"{table}: column {name!r} already exists")
            parts.append(text)
            if name in edit.fill:
                copy.append((name, edit.fill[name]))
        # table constraints go after every column
        columns = [t for t in parts if not _is_constraint(t)]
        constraints = [t for t in parts if _is_constraint(t)] + list(edit.add_constraints)
        dropped = set(edit.drop_columns)
        # as PostgreSQL's DROP COLUMN: constraints involving the column go too
        constraints = [t for t in constraints
                       if not any(_uses(t, col) for col in dropped)]
        body = ",\n  ".join(columns + constraints)
        create = f"CREATE TABLE {quote(new)} (\n  {body}\n){(' ' + self.suffix) if self.suffix else ''}"
        cols = ", ".join(quote(c) for c, _ in copy)
        exprs = ", ".join(e for _, e in copy)
        statements = [create,
                      f"INSERT INTO {quote(new)} ({cols}) SELECT {exprs} FROM {quote(table)}",
                      f"DROP TABLE {quote(table)}",
                      f"ALTER TABLE {quote(new)} RENAME TO {quote(table)}"]
        for sql in self.indexes + self.triggers:
            if sql in self.indexes and any(_mentions(sql, c) for c in dropped):
                continue       # as PostgreSQL's DROP COLUMN drops the indexes using it
            for old, new_name in edit.rename_columns.items():
                sql = re.sub(r'"%s"' % re.escape(old), quote(new_name), sql)
            statements.append(sql)
        return statements

    def rebuild(self, edit: TableEdit) -> None:
        db = self.db
        seq = None
        if db.execute_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
            row = db.execute_sql("SELECT seq FROM sqlite_sequence WHERE name = ?",
                                 (self.table,)).fetchone()
            seq = row[0] if row else None
        for sql in self.statements(edit):
            db.execute_sql(sql)
        if seq is not None:
            db.execute_sql("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?",
                           (seq, self.table))
            if not db.execute_sql("SELECT 1 FROM sqlite_sequence WHERE name = ?",
                                  (self.table,)).fetchone():
                db.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                               (self.table, seq))


def _uses(text: str, column: str) -> bool:
    return bool(re.search(r'(?<![\w"])"?%s"?(?![\w"])' % re.escape(column), text))


def _mentions(sql: str, column: str) -> bool:
    """Whether the column list / WHERE of an index names ``column``."""
    body = sql[sql.upper().index(" ON ") + 4:]
    body = body[body.index("("):]
    return bool(re.search(r'(?<![\w"])"?%s"?(?![\w"])' % re.escape(column), body))


def _is_constraint(text: str) -> bool:
    head = text.split(None, 1)[0].upper()
    return head in _TABLE_CONSTRAINTS


def _rename_head(text: str, new: str) -> str:
    """A column definition with its leading name replaced."""
    toks = _tokens(text)
    return quote(new) + text[toks[0].end:]


def rebuild(db, table: str, edit: TableEdit) -> None:
    """Rebuild ``table`` with ``edit`` (inside the caller's transaction, with
    foreign keys off: the migration runner arranges both)."""
    SqliteTable(db, table).rebuild(edit)
