"""The ``store`` command (also ``python cli.py``).

Shared options live on the group: ``--database`` (envvar DATABASE_URL) and
``-v``. Exit codes: 0 ok, 1 a check failed or work is pending, 2 usage or
configuration error. Errors are one line, password masked; ``-v`` shows the
SQL and full tracebacks. Heavy imports (peewee, peewee-migrate) happen inside
the commands so that the CLI starts fast.
"""
from __future__ import annotations

import functools
import logging
import sys

import click


class StoreClickError(click.ClickException):
    exit_code = 1


class ConfigClickError(click.ClickException):
    exit_code = 2


def _one_line(text) -> str:
    return " ".join(str(text).split())


class Context:
    def __init__(self, database: str | None, verbose: bool, from_env: bool = False):
        self.database_option = database
        self.from_env = from_env
        self.verbose = verbose
        self._db = None
        self.source = None
        self._url = None
        self._project = None
        self.absent = None          # the URL of a SQLite file a read-only command did not create

    def project(self):
        """The user's project (``store.project``): root on sys.path, settings."""
        if self._project is None:
            from .project import current
            self._project = current()
        return self._project

    def settings(self):
        from .config import Settings
        project = self.project()
        return Settings(project.database_url, project.apps, project.config)

    def url(self):
        if self._url is None:
            from .config import resolve_url
            self.project()
            self._url, self.source = resolve_url(self.database_option)
            if self.from_env:
                self.source = "env"
        return self._url

    def open(self, readonly: bool = False):
        """The database, connected. ``readonly``: a SQLite file that does not
        exist is not created (an empty in-memory database stands in for it:
        a read-only command then reports an empty database)."""
        import store
        if self._db is None:
            url = self.url()
            if readonly:
                from .url import parse_url
                parsed = parse_url(url)
                if parsed.file_missing:
                    self.absent = parsed
                    url = "sqlite:///:memory:"
            self._db = store.connect(url)
        return self._db

    def describe(self, db) -> str:
        """``URL (source)`` of the database in use, password masked."""
        if self.absent is not None:
            return f"{self.absent.masked()} ({self.source}), the file does not exist yet"
        return f"{db.url.masked()} ({self.source})"

    def close(self):
        if self._db is not None and not self._db.is_closed() \
                and not self._db.in_transaction():
            self._db.close()

    def apps(self, app=None, namespace=None, *, require_migrations=True):
        """The configured apps (or APP), resolved by ``store.project``; with
        ``namespace``, APP moved into that namespace (never ``public``, a
        system schema or another app's namespace)."""
        import dataclasses

        from .errors import ConfigError
        from .project import resolve_apps
        project = self.project()
        names = project.apps
        if app:
            known = {n.rsplit(".", 1)[-1]: n for n in names}
            if app not in known:
                raise ConfigError(f"unknown app {app!r}; configured apps: "
                                  f"{', '.join(known) or 'none'} ({_config_name(project)})")
            names = (known[app],)
        apps = resolve_apps(names, project=project, require_migrations=require_migrations)
        if namespace is not None:
            if not app:
                raise ConfigError("--namespace needs an APP")
            from .namespaces import check_tenant_namespace
            others = self.namespaces_of_other_apps(app)
            check_tenant_namespace(namespace, others)
            apps = [dataclasses.replace(a, namespace=namespace) for a in apps]
        return apps

    def namespaces_of_other_apps(self, app):
        """``{namespace: app}`` of the configured apps other than ``app``."""
        from .errors import ConfigError
        from .project import import_app
        out = {}
        for name in self.project().apps:
            short = name.rsplit(".", 1)[-1]
            if short == app:
                continue
            try:
                ns = getattr(import_app(name, self.project()), "NAMESPACE", None)
            except ConfigError:
                continue
            if ns:
                out[ns] = short
        return out


def _config_name(project) -> str:
    if project.config is None:
        return "no setup.cfg [store] or pyproject.toml [tool.store] found"
    where = "[tool.store]" if project.config.name == "pyproject.toml" else "[store]"
    return f"{project.config} {where} apps"


def _quiet_broken_pipe():
    """The reader of our output went away (``store sql | head -1``): stop
    quietly, as a command in a pipe does; no ``Error:`` line."""
    import os
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    sys.exit(0)


def handle_errors(func):
    """One line per error, the right exit code, credentials masked: those of
    the database in use and of every ``*_url`` argument (``copy`` has two)."""
    @functools.wraps(func)
    def wrapper(ctx: Context, *args, **kwargs):
        from .errors import ConfigError, StoreError
        from .url import mask_password
        try:
            return func(ctx, *args, **kwargs)
        except click.ClickException:
            raise
        except BrokenPipeError:
            _quiet_broken_pipe()
        except Exception as exc:
            if ctx.verbose:
                raise
            urls = [v for k, v in kwargs.items() if k.endswith("_url") and v]
            try:
                urls.append(ctx.url())
            except Exception:
                pass
            message = str(exc)
            for url in urls:
                message = mask_password(message, url)
            message = _one_line(message)
            if isinstance(exc, ConfigError):
                raise ConfigClickError(message) from None
            if not isinstance(exc, StoreError):
                message = f"{type(exc).__name__}: {message}"
            raise StoreClickError(message) from None
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database", "-d", envvar="DATABASE_URL", show_envvar=True, metavar="URL",
              help="Database URL (sqlite:///PATH or postgresql://...). "
                   "Default: setup.cfg [store] database_url, else sqlite:///store.db.")
@click.option("--verbose", "-v", is_flag=True, help="Show SQL and full tracebacks.")
@click.pass_context
def main(click_ctx, database, verbose):
    """store: one set of Peewee models on SQLite or PostgreSQL."""
    source = click_ctx.get_parameter_source("database")
    click_ctx.obj = Context(database, verbose,
                            from_env=source == click.core.ParameterSource.ENVIRONMENT)
    click_ctx.call_on_close(click_ctx.obj.close)
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")


@main.command()
@click.argument("app", required=False)
@click.option("--to", "to", metavar="NAME", help="Stop after this migration (needs APP).")
@click.option("--fake", is_flag=True, help="Record migrations as applied without running them.")
@click.option("--force", is_flag=True, help="Accept applied migration files edited since they ran.")
@click.option("--namespace", metavar="NS",
              help="Run APP in this namespace (a tenant schema) instead of its own.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (none is drawn off a terminal).")
@click.pass_obj
@handle_errors
def migrate(ctx: Context, app, to, fake, force, namespace, quiet):
    """Apply pending migrations (every app in setup.cfg, or APP)."""
    from . import migrate as runner
    from .errors import ConfigError
    if to and not app:
        raise ConfigError("--to needs an APP")
    apps = ctx.apps(app, namespace)
    if to:                                   # before the database is opened (or made)
        from .migrate.runner import migration_names
        known = migration_names(apps[0].migrations_dir)
        if to not in known:
            raise ConfigError(f"{apps[0].name}: no migration named {to!r}; known: "
                              f"{', '.join(known) or 'none'}")
    db = ctx.open()
    click.echo(f"database: {db.url.masked()} ({ctx.source})")
    if not apps:
        click.echo("no apps configured in setup.cfg [store] apps: nothing to migrate")
        return
    where = {a.name: f" [{a.namespace}]" if a.namespace else "" for a in apps}
    if db.features.name == "sqlite":
        from .namespaces import legacy_file, merge_legacy
        for ns in dict.fromkeys(a.namespace for a in apps if a.namespace):
            old = legacy_file(db, ns)
            backup = merge_legacy(db, ns)
            if backup is not None:
                click.echo(f"namespace {ns}: merged {old} into {db.url.database} "
                           f"(the old file is kept as {backup})")
    from .progress import Progress
    bar = Progress(quiet=quiet, unit="migrations")
    for result in runner.migrate(db, apps, to=to, fake=fake, force=force, progress=bar):
        for name in result.applied:
            click.echo(f"{result.app}{where[result.app]}: applied {name}"
                       + (" (fake)" if fake else ""))
        if not result.applied:
            click.echo(f"{result.app}{where[result.app]}: up to date")


@main.command()
@click.argument("app")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="How many migrations to roll back (default 1).")
@click.option("--to", "to", metavar="NAME", help="Roll back every migration after NAME.")
@click.option("--fake", is_flag=True, help="Remove from the history without running.")
@click.option("--namespace", metavar="NS",
              help="Run APP in this namespace (a tenant schema) instead of its own.")
@click.pass_obj
@handle_errors
def rollback(ctx: Context, app, steps, to, fake, namespace):
    """Roll back APP's latest migration(s)."""
    from . import migrate as runner
    from .errors import ConfigError
    if steps and to:
        raise ConfigError("give --steps or --to, not both")
    (app_obj,) = ctx.apps(app, namespace)
    rolled = runner.rollback(ctx.open(), app_obj, steps=steps or 1, to=to, fake=fake)
    for name in rolled:
        click.echo(f"{app}: rolled back {name}")
    if not rolled:
        click.echo(f"{app}: nothing to roll back")


@main.command()
@click.pass_obj
@handle_errors
def status(ctx: Context):
    """Every app's migrations: applied, pending, edited. Exit 1 if any pending or edited."""
    from . import migrate as runner
    apps = ctx.apps()
    db = ctx.open(readonly=True)
    click.echo(f"database: {ctx.describe(db)}")
    work = False
    for app, states in runner.status(db, apps).items():
        for state in states:
            click.echo(f"{app:12} {state.state:8} {state.name}")
            work = work or state.state in ("pending", "edited", "missing")
        if not states:
            click.echo(f"{app:12} (no migrations)")
    if work:
        sys.exit(1)


@main.command()
@click.argument("app", required=False)
@click.pass_obj
@handle_errors
def history(ctx: Context, app):
    """Applied migrations with their time and checksum, oldest first."""
    from .migrate.history import read_history
    apps = ctx.apps(app)
    db = ctx.open(readonly=True)
    for app_obj in apps:
        for row in read_history(db, app_obj).rows.values():
            stamp = (row.migrated_at.isoformat(sep=" ", timespec="seconds")
                     if hasattr(row.migrated_at, "isoformat") else str(row.migrated_at or "-"))
            click.echo(f"{app_obj.name:12} {stamp}  {(row.checksum or '-')[:12]}  {row.name}")


@main.command()
@click.argument("app", required=False)
@click.option("--to", "to", metavar="NAME", help="Stop after this migration (needs APP).")
@click.pass_obj
@handle_errors
def sql(ctx: Context, app, to):
    """Print the SQL a migrate would run on this backend; change nothing."""
    from . import migrate as runner
    from .errors import ConfigError
    if to and not app:
        raise ConfigError("--to needs an APP")
    apps = ctx.apps(app)
    db = ctx.open(readonly=True)
    current = None
    for app_name, name, statement in runner.plan_sql(db, apps, to=to):
        if (app_name, name) != current:
            click.echo(f"-- {app_name} {name}")
            current = (app_name, name)
        click.echo(statement.rstrip(";") + ";")


@main.command()
@click.argument("app")
@click.option("--yes", is_flag=True, help="Confirm: roll back every migration of APP.")
@click.option("--namespace", metavar="NS",
              help="Run APP in this namespace (a tenant schema) instead of its own.")
@click.pass_obj
@handle_errors
def reset(ctx: Context, app, yes, namespace):
    """Roll back every migration of APP and drop its history table."""
    from . import migrate as runner
    from .errors import ConfigError, MigrationError
    from .migrate import StoreRouter
    if not yes:
        raise ConfigError("reset drops every table of the app: pass --yes to confirm")
    (app_obj,) = ctx.apps(app, namespace)
    db = ctx.open()
    rolled = runner.rollback(db, app_obj, steps=None)
    for name in rolled:
        click.echo(f"{app}: rolled back {name}")
    from .namespaces import base_tables, table_name
    with StoreRouter(db, app_obj) as router:
        scoped = router.database
        left = [t for t in base_tables(app_obj) if scoped.table_exists(table_name(scoped, t))]
        if left:
            raise MigrationError(f"{app}: tables still present after rolling back: "
                                 f"{', '.join(left)}", app=app)
        router.model.drop_table(safe=True)
    click.echo(f"{app}: reset (history table {app_obj.history_table} dropped)")
    if app_obj.namespace:
        from .namespaces import drop_if_empty
        if drop_if_empty(db, app_obj.namespace) and db.features.name == "postgresql":
            click.echo(f"{app}: namespace {app_obj.namespace} removed (it was empty)")


def _prove_backends(ctx: Context, prove_url, sqlite_only):
    """Where ``create`` proves a migration: a scratch SQLite file always, and a
    scratch schema on PostgreSQL (``--prove-url``, STORE_PROVE_POSTGRES_URL,
    the configured database if it is PostgreSQL, else the local server)."""
    import os

    from .errors import ConfigError
    from .url import parse_url
    backends = {"sqlite": None}
    if sqlite_only:
        return backends
    candidates = [prove_url, os.environ.get("STORE_PROVE_POSTGRES_URL")]
    try:
        url = ctx.url()
        if parse_url(url).backend == "postgresql":
            candidates.append(url)
    except ConfigError:
        pass
    candidates.append("postgresql://postgres@127.0.0.1:5432/postgres")
    for url in filter(None, candidates):
        try:
            from .database import open_database
            db = open_database(url)
            db.connect()
            db.close()
        except Exception:
            if url == prove_url:
                raise ConfigError(f"--prove-url {parse_url(url).masked()}: cannot connect")
            continue
        backends["postgresql"] = url
        return backends
    raise ConfigError("cannot prove the migration on PostgreSQL: no server answered; pass "
                      "--prove-url postgresql://... (or STORE_PROVE_POSTGRES_URL), or "
                      "--sqlite-only to prove it on SQLite alone")


def _renames(values):
    from .errors import ConfigError
    out = {}
    for value in values:
        left, sep, new = value.partition("=")
        table, dot, old = left.partition(".")
        if not (sep and dot and table and old and new):
            raise ConfigError(f"--rename {value!r}: write TABLE.OLD=NEW")
        out[(table, old)] = new
    return out


@main.command()
@click.argument("name")
@click.option("--app", "app", required=True, help="The app whose models changed.")
@click.option("--auto", is_flag=True, help="Write the operations from the model changes.")
@click.option("--rename", "renames", multiple=True, metavar="TABLE.OLD=NEW",
              help="Treat a removed and an added field as a rename (repeatable).")
@click.option("--no-rename", "no_renames", multiple=True, metavar="TABLE.OLD",
              help="Drop TABLE.OLD and add the new field, even if it looks renamed.")
@click.option("--prove-url", metavar="URL",
              help="PostgreSQL server for the proof (a scratch schema is used).")
@click.option("--sqlite-only", is_flag=True, help="Prove on SQLite only.")
@click.option("--fill", "fills", multiple=True, metavar="TABLE.COLUMN=EXPR",
              help="The value a rollback restores into a dropped (or no longer NOT NULL) "
                   "column: a Python expression (repeatable).")
@click.pass_obj
@handle_errors
def create(ctx: Context, name, app, auto, renames, no_renames, prove_url, sqlite_only, fills):
    """Write migrations/APP/NNN_NAME.py (with --auto: from the model changes,
    proved on scratch SQLite and PostgreSQL databases before it is written)."""
    from .migrate import autogen
    (app_obj,) = ctx.apps(app, require_migrations=False)
    if not auto:
        path = _empty_migration(app_obj, name)
        click.echo(f"{app}: wrote {path} (empty: fill in migrate() and rollback())")
        return
    hints = _renames(renames)
    refused = {tuple(v.split(".", 1)) for v in no_renames}
    restore = {}
    for item in fills:
        target, sep, expr = item.partition("=")
        table, dot, column = target.partition(".")
        if not (sep and dot and table and column and expr.strip()):
            raise click.BadParameter(f"{item!r}: write TABLE.COLUMN=EXPR", param_hint="--fill")
        restore[(table, column)] = expr.strip()

    def ask(table, old, new):
        if (table, old) in refused:
            return False
        if not sys.stdin.isatty():
            raise autogen.rename_question(table, old, new)
        return click.confirm(f"{table}: was {old!r} renamed to {new!r}?", default=True)

    backends = _prove_backends(ctx, prove_url, sqlite_only)
    result = autogen.create(app_obj, name, backends=backends, renames=hints, ask=ask,
                            fills=restore)
    if result.path is None:
        click.echo(f"{app}: no changes; nothing written")
        return
    for line in result.plan.summary:
        click.echo(f"  {line}")
    click.echo(f"{app}: wrote {result.path} (proved up and down on "
               f"{' and '.join(backends)})")


def _empty_migration(app_obj, name):
    from .migrate import autogen
    from pathlib import Path
    folder = Path(app_obj.migrations_dir)
    folder.mkdir(parents=True, exist_ok=True)
    new_name = autogen.next_name(folder, name)
    path = folder / f"{new_name}.py"
    path.write_text(f'"""{new_name}: written by hand."""\nimport peewee\nimport store\n\n\n'
                    "def migrate(migrator, database, fake=False):\n    pass\n\n\n"
                    "def rollback(migrator, database, fake=False):\n    pass\n",
                    encoding="utf-8")
    return path


@main.command()
@click.argument("app", required=False)
@click.option("--no-live", is_flag=True, help="Do not compare the live database.")
@click.option("--rename", "renames", multiple=True, metavar="TABLE.OLD=NEW",
              help="Treat a removed and an added field as a rename (as create does).")
@click.option("--no-rename", "no_renames", multiple=True, metavar="TABLE.OLD",
              help="Treat TABLE.OLD as dropped, even if it looks renamed.")
@click.pass_obj
@handle_errors
def check(ctx: Context, app, no_live, renames, no_renames):
    """Exit 1 if the models have changes no migration covers (what
    `create --auto` would write), or if the live database has pending
    migrations or, at head, differs from what the models create (drift); 0
    when all agree."""
    from .errors import ConfigError
    from .migrate import autogen
    from .migrate import state as st
    hints = _renames(renames)
    refused = {tuple(v.split(".", 1)) for v in no_renames}

    def ask(table, old, new):
        if (table, old) in refused:
            return False
        raise autogen.rename_question(table, old, new)

    failed = False
    apps = ctx.apps(app, require_migrations=False)
    db = None if no_live else ctx.open(readonly=True)
    for app_obj in apps:
        try:
            plan = autogen.compare(st.load_state(app_obj.migrations_dir),
                                   autogen.models_state(app_obj), renames=hints, ask=ask)
        except ConfigError as exc:
            if "Renamed?" not in str(exc):
                raise
            failed = True
            click.echo(f"{app_obj.name}: changes without a migration:")
            click.echo(f"  {_one_line(exc)}")
            continue
        if plan:
            failed = True
            click.echo(f"{app_obj.name}: changes without a migration:")
            for line in plan.summary:
                click.echo(f"  {line}")
        else:
            click.echo(f"{app_obj.name}: models and migrations agree")
        if db is None:
            continue
        pending, drift = autogen.live_drift(db, app_obj)
        if pending:
            # the live schema cannot be checked: not an all-clear (--no-live
            # checks models against migrations alone)
            failed = True
            click.echo(f"{app_obj.name}: {len(pending)} migration(s) pending: the live "
                       f"schema is compared at head only; run `store migrate`, or pass "
                       f"--no-live to check the models against the migrations alone")
        elif drift:
            failed = True
            click.echo(f"{app_obj.name}: the live schema differs from the models:")
            for line in drift:
                click.echo(f"  {line}")
        else:
            click.echo(f"{app_obj.name}: live schema matches the models")
    if failed:
        sys.exit(1)


@main.command()
@click.option("--app", "app", help="Only this app (default: every app in setup.cfg).")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid",
              show_default=True, help="Diagram language.")
@click.option("--write", "write", metavar="PATH", is_flag=False, flag_value="docs/ERD.md",
              default=None, help="Write the Markdown ERD of the apps to PATH "
                                 "(default docs/ERD.md) instead of printing.")
@click.option("--check", "check_path", metavar="PATH", is_flag=False,
              flag_value="docs/ERD.md", default=None,
              help="Exit 1 if PATH (default docs/ERD.md) is not what --write would write.")
@click.pass_obj
@handle_errors
def erd(ctx: Context, app, fmt, write, check_path):
    """The entity-relationship diagram of the apps, from their models."""
    from . import erd as erd_mod
    apps = {a.name: a.models for a in ctx.apps(app, require_migrations=False)}
    if write or check_path:
        text = erd_mod.render_erd_docs(apps)
        if check_path:
            from pathlib import Path
            path = Path(check_path)
            current = path.read_text(encoding="utf-8") if path.is_file() else None
            if current != text:
                click.echo(f"{path} is out of date: run `python cli.py erd --write`")
                sys.exit(1)
            click.echo(f"{path} is up to date")
            return
        changed = erd_mod.write_erd_docs(apps, write)
        click.echo(f"{'wrote' if changed else 'up to date:'} {write}")
        return
    for name, models in apps.items():
        click.echo(erd_mod.erd(models, format=fmt, title=name))


@main.group()
def partitions():
    """Daily partitions of an app's partitioned tables (PostgreSQL; on
    SQLite the tables are plain and these commands change nothing)."""


def _partitioned(ctx: Context, app, namespace):
    from .namespaces import bind_app
    from .partitions import PartitionedModel
    (app_obj,) = ctx.apps(app, namespace)
    db = ctx.open()
    bind_app(db, app_obj)
    models = [m for m in app_obj.models if issubclass(m, PartitionedModel)]
    if not models:
        from .errors import ConfigError
        raise ConfigError(f"app {app!r} has no partitioned model")
    return db, models


def _day(value):
    import datetime as dt
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        from .errors import ConfigError
        raise ConfigError(f"{value!r} is not a date (YYYY-MM-DD)") from None


@partitions.command("create")
@click.argument("app")
@click.option("--start", metavar="YYYY-MM-DD", help="First day (default today).")
@click.option("--days", type=click.IntRange(min=1), default=7, show_default=True,
              help="How many days from START.")
@click.option("--namespace", metavar="NS", help="The app's tables in this namespace.")
@click.pass_obj
@handle_errors
def partitions_create(ctx: Context, app, start, days, namespace):
    """Create the missing daily partitions for DAYS days from START."""
    from .partitions import create_partitions
    db, models = _partitioned(ctx, app, namespace)
    for model in models:
        made = create_partitions(db, model, _day(start), days)
        click.echo(f"{model._meta.table_name}: created {len(made)}"
                   + (f" ({made[0]} .. {made[-1]})" if made else ""))


@partitions.command("list")
@click.argument("app")
@click.option("--namespace", metavar="NS", help="The app's tables in this namespace.")
@click.pass_obj
@handle_errors
def partitions_list(ctx: Context, app, namespace):
    """Each partition with the days it holds."""
    from .partitions import list_partitions
    db, models = _partitioned(ctx, app, namespace)
    for model in models:
        found = list_partitions(db, model)
        if not found:
            click.echo(f"{model._meta.table_name}: no partitions"
                       + (" (SQLite: a plain table)" if db.features.name == "sqlite" else ""))
        for part in found:
            click.echo(f"{model._meta.table_name}: {part.name} {part.start} .. {part.end}")


@partitions.command("drop")
@click.argument("app")
@click.option("--before", metavar="YYYY-MM-DD", required=True,
              help="Drop partitions holding only days before this one.")
@click.option("--yes", is_flag=True, help="Confirm: their rows are deleted.")
@click.option("--namespace", metavar="NS", help="The app's tables in this namespace.")
@click.pass_obj
@handle_errors
def partitions_drop(ctx: Context, app, before, yes, namespace):
    """Drop old partitions (and their rows)."""
    from .errors import ConfigError
    from .partitions import drop_partitions_before
    if not yes:
        raise ConfigError("dropping partitions deletes their rows: pass --yes to confirm")
    db, models = _partitioned(ctx, app, namespace)
    for model in models:
        gone = drop_partitions_before(db, model, _day(before))
        click.echo(f"{model._meta.table_name}: dropped {len(gone)}"
                   + (f" ({', '.join(gone)})" if gone else ""))


@main.command()
@click.pass_obj
@handle_errors
def info(ctx: Context):
    """Show the database in use (password masked), its backend and version."""
    db = ctx.open(readonly=True)
    click.echo(f"database: {ctx.describe(db)}")
    version = db.server_version
    if isinstance(version, tuple):
        version = ".".join(map(str, version))
    elif isinstance(version, int) and db.features.name == "postgresql":
        # libpq's number: 150020 is 15.20 (major * 10000 + minor since 10)
        version = f"{version // 10000}.{version % 10000}"
    click.echo(f"backend:  {db.features.name} {version}")
    click.echo(f"apps:     {', '.join(ctx.settings().apps) or 'none'}")


def _register_optional_commands():
    """Commands defined in their own modules (each imports only click at
    module level, so the CLI still starts fast)."""
    import importlib
    for module in ("store.cli_data", "store.cli_tools"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(main)


_register_optional_commands()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
