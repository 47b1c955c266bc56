"""Applying and rolling back one app's migrations: the router.

``StoreRouter`` is a ``peewee_migrate.Router`` (files stay peewee-migrate
files: ``migrate(migrator, database, fake)`` and ``rollback(...)``) with:

* one history table per app, with each applied file's checksum;
* no mock replay: migrations run against the live database;
* each migration atomic on both backends (a module-level ``atomic = False``
  opts out, for ``CREATE INDEX CONCURRENTLY``; it is recorded only after it
  completed);
* on SQLite, foreign keys switched off *outside* the transaction and
  ``PRAGMA foreign_key_check`` run before commit (SQLite's documented
  procedure for table rebuilds), then switched back on;
* a lock so that two ``migrate`` processes apply each migration once: a
  transaction-scoped advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on
  SQLite, with the history re-read after the lock is held.
"""
from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from peewee_migrate import Router

from ..errors import MigrationError
from .files import migration_names  # noqa: F401 (also store.migrate.runner's name)
from .history import checksum, ensure_history, history_model
from .migrator import StoreMigrator

log = logging.getLogger("store.migrate")
MIGRATION_LOCK_TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class MigrationFile:
    name: str
    path: Path
    checksum: str
    migrate: object
    rollback: object
    atomic: bool
    # earlier texts of this file, changed on purpose by its authors (for
    # example a fix shipped with a new store version): a database that
    # recorded one of these checksums has applied this migration, unedited
    replaces_checksums: tuple = ()

    def matches(self, recorded) -> bool:
        return recorded is None or recorded == self.checksum \
            or recorded in self.replaces_checksums


@dataclass(frozen=True)
class MigrationState:
    name: str
    state: str            # applied, pending, edited, missing
    applied_at: object = None


def _void(migrator, database, fake=False, **kwargs):
    return None


def load_migration(app, name: str, folder=None) -> MigrationFile:
    """Read and execute the migration file ``name`` of ``app`` (nothing runs
    against a database)."""
    path = Path(folder if folder is not None else app.migrations_dir) / f"{name}.py"
    if not path.is_file():
        raise MigrationError(f"{app.name}: migration file {path} not found",
                             app=app.name, migration=name)
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise MigrationError(f"{app.name} {name}: cannot read {path}: {exc} (migration "
                             f"files are UTF-8 text)", app=app.name, migration=name) from exc
    scope = {"__file__": str(path), "__name__": f"store_migration_{app.name}_{name}"}
    try:
        exec(compile(text, str(path), "exec", dont_inherit=True), scope)
    except Exception as exc:
        raise MigrationError(f"{app.name} {name}: cannot load {path}: {exc}",
                             app=app.name, migration=name) from exc
    replaces = scope.get("replaces_checksums", ())
    if isinstance(replaces, str) or not all(isinstance(c, str) for c in replaces):
        raise MigrationError(f"{app.name} {name}: replaces_checksums in {path} must "
                             f"be a list of checksums (strings)", app=app.name,
                             migration=name)
    return MigrationFile(name, path, checksum(text), scope.get("migrate", _void),
                         scope.get("rollback", _void), bool(scope.get("atomic", True)),
                         tuple(replaces))


def states(app, history) -> list[MigrationState]:
    """Each migration of ``app``: applied, pending, edited or missing, from a
    ``history.read_history`` (read-only: used by ``status``)."""
    out = []
    for name in history.files:
        row = history.rows.get(name)
        if row is None:
            out.append(MigrationState(name, "pending"))
            continue
        edited = not load_migration(app, name).matches(row.checksum)
        out.append(MigrationState(name, "edited" if edited else "applied", row.migrated_at))
    for name in history.applied:
        if name not in history.files:
            out.append(MigrationState(name, "missing", history.rows[name].migrated_at))
    return out


class StoreRouter(Router):
    """Runs one app's migrations; a namespaced app's inside its namespace
    (its own connection: ``close()`` it, or use it as a context manager; on
    SQLite a view of the main file, see ``store.namespaces.open_namespace``,
    which merges an old-layout namespace file first)."""

    def __init__(self, database, app, *, logger=log):
        from ..namespaces import open_namespace
        self.main_database = database
        scoped = open_namespace(database, getattr(app, "namespace", None))
        super().__init__(scoped, migrate_dir=Path(app.migrations_dir),
                         migrate_table=app.history_table, logger=logger,
                         migrator_class=StoreMigrator)
        self.app = app

    def close(self):
        if self.database is not self.main_database and not self.database.is_closed():
            self.database.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- files -------------------------------------------------------------
    @property
    def todo(self):
        return migration_names(self.migrate_dir)

    def load(self, name: str) -> MigrationFile:
        return load_migration(self.app, name, self.migrate_dir)

    def read(self, name):
        mf = self.load(name)
        return mf.migrate, mf.rollback

    # -- history -----------------------------------------------------------
    @cached_property
    def model(self):
        model = history_model(self.database, self._history_name(), self.schema)
        with self._locked_transaction(True):
            ensure_history(model)
        return model

    def _history_name(self) -> str:
        """The history table's name (prefixed in a SQLite namespace)."""
        from ..namespaces import table_name
        return table_name(self.database, self.migrate_table)

    def _history_exists(self) -> bool:
        return "model" in self.__dict__ or self.database.table_exists(self._history_name())

    @property
    def done(self):
        if not self._history_exists():          # read-only: status does not create it
            return []
        return [row.name for row in self.model.select().order_by(self.model.id)]

    def applied(self) -> dict:
        if not self._history_exists():
            return {}
        return {row.name: row for row in self.model.select().order_by(self.model.id)}

    def status(self) -> list[MigrationState]:
        applied = self.applied()
        states = []
        for name in self.todo:
            row = applied.get(name)
            if row is None:
                states.append(MigrationState(name, "pending"))
                continue
            edited = not self.load(name).matches(row.checksum)
            states.append(MigrationState(name, "edited" if edited else "applied",
                                         row.migrated_at))
        for name, row in applied.items():
            if name not in self.todo:
                states.append(MigrationState(name, "missing", row.migrated_at))
        return states

    # -- locking -----------------------------------------------------------
    def _lock_key(self) -> int:
        digest = hashlib.sha256(f"store:{self.migrate_table}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    @contextmanager
    def _locked_transaction(self, atomic: bool):
        db = self.database
        if db.features.name == "sqlite":
            previous = db.execute_sql("PRAGMA busy_timeout").fetchone()[0]
            db.execute_sql(f"PRAGMA busy_timeout = {MIGRATION_LOCK_TIMEOUT_MS}")
            try:
                with (db.atomic(lock_type="IMMEDIATE") if atomic else nullcontext()):
                    yield
            finally:
                db.execute_sql(f"PRAGMA busy_timeout = {int(previous)}")
        else:
            if atomic:
                with db.atomic():
                    db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (self._lock_key(),))
                    yield
            else:
                pooler = getattr(db.url, "pooler", None)
                if pooler:
                    raise MigrationError(
                        f"{self.app.name}: a migration with atomic = False holds a session "
                        f"advisory lock, which does not survive a transaction boundary "
                        f"through pooler={pooler}; run migrate with a URL that reaches the "
                        f"primary directly (without pooler=)", app=self.app.name)
                db.execute_sql("SELECT pg_advisory_lock(%s)", (self._lock_key(),))
                try:
                    yield
                finally:
                    db.execute_sql("SELECT pg_advisory_unlock(%s)", (self._lock_key(),))

    @contextmanager
    def _foreign_keys_off(self):
        """SQLite: foreign keys off for the migration, switched outside the
        transaction (inside one the pragma is a no-op), then back on."""
        db = self.database
        if db.features.name != "sqlite" or db.in_transaction():
            yield
            return
        was_on = bool(db.execute_sql("PRAGMA foreign_keys").fetchone()[0])
        if was_on:
            db.execute_sql("PRAGMA foreign_keys = OFF")
        try:
            yield
        finally:
            if was_on:
                db.execute_sql("PRAGMA foreign_keys = ON")

    # -- running -------------------------------------------------------------
    def check_edited(self, force=False):
        """Refuse applied files edited since they ran, and applied migrations
        whose file is gone; ``force`` accepts them: an edited file's new
        checksum is recorded (``status`` is clean afterwards)."""
        states = self.status()
        edited = [s.name for s in states if s.state == "edited"]
        missing = [s.name for s in states if s.state == "missing"]
        if force:
            self.accept(edited)
            return
        if edited:
            raise MigrationError(
                f"{self.app.name}: applied migration file(s) edited since they ran: "
                f"{', '.join(edited)} (checksum differs; restore the file(s), or pass "
                f"--force to accept the edit)", app=self.app.name, migration=edited[0])
        if missing:
            raise MigrationError(
                f"{self.app.name}: applied migration(s) {', '.join(missing)} have no file in "
                f"{self.migrate_dir} (restore the file(s), or pass --force to go on "
                f"without them)", app=self.app.name, migration=missing[0])

    def accept(self, names) -> list[str]:
        """Record the current checksum of the applied files ``names``."""
        if not names:
            return []
        with self._locked_transaction(True):
            for name in names:
                mf = self.load(name)
                self.model.update(checksum=mf.checksum).where(self.model.name == name).execute()
                log.warning("%s %s: edited file accepted (checksum %s recorded)",
                            self.app.name, name, mf.checksum[:12])
        return list(names)

    def apply(self, name: str, *, fake=False, downgrade=False) -> bool:
        """Run one migration up (or down); False when another process did it."""
        mf = self.load(name)
        db = self.database
        self.model  # history table exists before the lock is taken
        with self._foreign_keys_off(), self._locked_transaction(mf.atomic):
            done = set(self.done)
            if (name in done) != downgrade:
                return False
            migrator = self.migrator_class(db)
            migrator.app, migrator.migration = self.app.name, name
            function = mf.rollback if downgrade else mf.migrate
            try:
                function(migrator, db, fake=fake)
                if not fake:
                    migrator()
            except MigrationError:
                raise
            except Exception as exc:
                raise MigrationError(
                    f"{self.app.name} {name}: {'rollback' if downgrade else 'migrate'} "
                    f"failed: {' '.join(str(exc).split())}",
                    app=self.app.name, migration=name) from exc
            if db.features.name == "sqlite" and not fake:
                broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    from ..namespaces import strip, view_namespace
                    table, _rowid, parent, _fk = broken[0]
                    table = strip(table, view_namespace(db))
                    parent = strip(parent, view_namespace(db))
                    raise MigrationError(
                        f"{self.app.name} {name}: {len(broken)} row(s) break foreign keys "
                        f"after the migration (first: {table} -> {parent})",
                        app=self.app.name, migration=name)
            if downgrade:
                self.model.delete().where(self.model.name == name).execute()
            else:
                self.model.create(name=name, checksum=mf.checksum)
        return True

    def pending(self) -> list[str]:
        done = set(self.done)
        return [n for n in self.todo if n not in done]

    def run(self, name=None, *, fake=False, force=False, progress=None):
        """Apply pending migrations (up to ``name``); ``progress``: a
        ``store.progress.Progress`` advanced once per migration."""
        todo = self.todo
        if name is not None and name not in todo:
            raise MigrationError(f"{self.app.name}: no migration named {name!r}; known: "
                                 f"{', '.join(todo) or 'none'}", app=self.app.name,
                                 migration=name)
        self.check_edited(force)
        applied = []
        pending = self.pending()
        if name is not None and name in pending:
            pending = pending[:pending.index(name) + 1]
        if progress is not None:
            progress.start(f"{self.app.name} migrations", total=len(pending))
        try:
            for migration in pending:
                if self.apply(migration, fake=fake):
                    applied.append(migration)
                if progress is not None:
                    progress.advance(1)
        finally:
            if progress is not None:
                progress.finish()
        if name is None and not fake:
            from .. import legacy
            from ..namespaces import scoped, view_namespace
            db = self.database
            with scoped(self.app.models, db.features.name, view_namespace(db)):
                legacy.refuse_scaled_decimals(db, self.app.models, self.app.name,
                                              unqualified=True)
        return applied

    def rollback(self, steps: int | None = 1, to: str | None = None, *, fake=False):
        """Roll back the last ``steps`` migrations (0: none; None: every one),
        or down to (excluding) ``to``."""
        done = self.done
        if to is not None:
            if to not in done:
                raise MigrationError(f"{self.app.name}: {to!r} is not applied; applied: "
                                     f"{', '.join(done) or 'none'}", app=self.app.name,
                                     migration=to)
            targets = done[done.index(to) + 1:]
        elif steps is None:
            targets = list(done)
        elif isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise MigrationError(f"{self.app.name}: steps must be a whole number >= 0 "
                                 f"(None: every migration), not {steps!r}", app=self.app.name)
        else:
            targets = done[len(done) - steps:] if steps else []
        rolled = []
        for name in reversed(targets):
            if self.apply(name, fake=fake, downgrade=True):
                rolled.append(name)
        return rolled

    # -- dry run -------------------------------------------------------------
    def plan_sql(self, name=None) -> list[tuple[str, str]]:
        """``[(migration, sql)]`` a migrate would run: executed inside a
        transaction that is rolled back (DDL is transactional on both)."""
        todo = self.todo
        if name is not None and name not in todo:
            raise MigrationError(f"{self.app.name}: no migration named {name!r}",
                                 app=self.app.name, migration=name)
        db = self.database
        captured: list[tuple[str, str]] = []
        current = {"name": None}

        def hook(event):
            head = event.sql.lstrip().split(None, 1)[0].upper() if event.sql.strip() else ""
            if head in ("SELECT", "PRAGMA", "WITH"):     # introspection, not a change
                return
            if current["name"] and event.exception is None:
                captured.append((current["name"], _render(db, event.sql, event.params)))

        pending = self.pending()
        self.model
        db.query_hooks.append(hook)
        try:
            with self._foreign_keys_off(), db.atomic() as txn:
                for migration in pending:
                    mf = self.load(migration)
                    migrator = self.migrator_class(db)
                    migrator.app, migrator.migration = self.app.name, migration
                    current["name"] = migration
                    mf.migrate(migrator, db, fake=False)
                    migrator()
                    current["name"] = None
                    if name == migration:
                        break
                txn.rollback()
        finally:
            db.query_hooks.remove(hook)
        return captured


def _render(db, sql, params):
    if not params:
        return sql
    marker = "?" if db.features.name == "sqlite" else "%s"
    parts = sql.split(marker)
    if len(parts) != len(params) + 1:
        return f"{sql}  -- params: {params!r}"
    out = [parts[0]]
    for value, part in zip(params, parts[1:]):
        out.append(_literal(value) + part)
    return "".join(out)


def _literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"
