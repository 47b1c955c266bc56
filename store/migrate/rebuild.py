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

import logging
import re
from dataclasses import dataclass, field as dc_field

from ..errors import MigrationError
from ..fields import quote_ident as quote
from ..introspect import _close, _norm, _split, _tokens, _unquote

log = logging.getLogger("store.migrate")

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

    def size(self) -> int:
        """Bytes of the table and its indexes (``dbstat``; without it, the
        whole database file, an upper bound)."""
        names = [self.table] + [r[0] for r in self.db.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
            (self.table,)).fetchall()]
        try:
            marks = ", ".join("?" for _ in names)
            row = self.db.execute_sql(
                f"SELECT SUM(pgsize) FROM dbstat WHERE name IN ({marks})", names).fetchone()
            return int(row[0] or 0)
        except Exception:                  # SQLite built without SQLITE_ENABLE_DBSTAT_VTAB
            return _pragma(self.db, "page_count") * _pragma(self.db, "page_size")

    def check_space(self) -> None:
        """Refuse a rebuild the disk cannot hold: the copy of the table and
        its indexes is written twice at the peak (into the database file and
        into its WAL or rollback journal); free pages inside the file take
        part of the first."""
        path = database_file(self.db)
        if path is None:
            return
        size = self.size()
        free_pages = _pragma(self.db, "freelist_count") * _pragma(self.db, "page_size")
        needed = 2 * size - min(free_pages, size)
        available = disk_free(path)
        if needed > available:
            raise MigrationError(
                f"{self.table}: rebuilding the table on SQLite needs about "
                f"{_mib(needed)} free on the disk of {path} (twice the table and its "
                f"indexes, {_mib(size)}), and {_mib(available)} is free; nothing was "
                f"changed. Free space there (or VACUUM the database to give back its "
                f"free pages) and run the migration again")

    def give_back(self, before_free: int) -> None:
        """The old table's pages are free pages of the file after a rebuild.
        A database with ``auto_vacuum = INCREMENTAL`` gives them back to the
        disk here (``PRAGMA incremental_vacuum`` runs inside the migration's
        transaction; about 3 s for 600 MiB); otherwise the file keeps them for
        later writes and a log line says how to give them back: ``VACUUM`` (it needs an exclusive
        lock, up to another copy of the database, and cannot run inside the
        migration's transaction, so store does not run it by itself)."""
        page = _pragma(self.db, "page_size")
        freed = (_pragma(self.db, "freelist_count") * page) - before_free
        if freed <= 0:
            return
        if _pragma(self.db, "auto_vacuum") == 2:
            # one page per step of the statement, and the driver steps once
            left = _pragma(self.db, "freelist_count")
            while left:
                self.db.execute_sql("PRAGMA incremental_vacuum").fetchall()
                now = _pragma(self.db, "freelist_count")
                if now >= left:
                    break
                left = now
            return
        log.info("%s: the SQLite rebuild left %s of free pages in %s; they are reused "
                 "by later writes; run VACUUM (sqlite3 FILE 'VACUUM') to give them back "
                 "to the disk", self.table, _mib(freed), database_file(self.db) or "the file")

    def rebuild(self, edit: TableEdit) -> None:
        db = self.db
        self.check_space()
        before_free = _pragma(db, "freelist_count") * _pragma(db, "page_size")
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
        self.give_back(before_free)


def _pragma(db, name):
    return int(db.execute_sql(f"PRAGMA {name}").fetchone()[0])


def _mib(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MiB"


def database_file(db):
    """The file of the main database, or None (in memory)."""
    for row in db.execute_sql("PRAGMA database_list").fetchall():
        if row[1] == "main":
            return row[2] or None
    return None


def disk_free(path) -> int:
    import os
    import shutil
    return shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free


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
