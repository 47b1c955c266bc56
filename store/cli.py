"""The ``store`` command (also ``python cli.py``).

Shared options live on the group: ``--database`` (envvar DATABASE_URL) and
``-v``. Exit codes: 0 ok, 1 a check failed or work is pending, 2 usage or
configuration error. No traceback unless ``-v``.
"""
from __future__ import annotations

import logging
import sys

import click


class StoreClickError(click.ClickException):
    exit_code = 1


class ConfigClickError(click.ClickException):
    exit_code = 2


class Context:
    def __init__(self, database: str | None, verbose: bool, from_env: bool = False):
        self.database_option = database
        self.from_env = from_env
        self.verbose = verbose
        self._db = None
        self.source = None

    def settings(self):
        from .config import read_settings
        return read_settings()

    def url(self):
        from .config import resolve_url
        url, self.source = resolve_url(self.database_option)
        if self.from_env:
            self.source = "env"
        return url

    def open(self):
        import store
        if self._db is None:
            self._db = store.connect(self.url())
        return self._db


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(ctx: Context, exc: Exception):
    from .errors import ConfigError
    if ctx.verbose:
        raise exc
    message = _one_line(exc)
    if isinstance(exc, ConfigError):
        raise ConfigClickError(message) from None
    raise StoreClickError(message) from None


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
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
        logging.getLogger("peewee").setLevel(logging.DEBUG)


@main.command()
@click.argument("app", required=False)
@click.option("--to", "to", metavar="NAME", help="Stop after this migration.")
@click.option("--fake", is_flag=True, help="Record migrations as applied without running them.")
@click.pass_obj
def migrate(ctx: Context, app, to, fake):
    """Apply pending migrations (every app in setup.cfg, or APP)."""
    from .errors import ConfigError, StoreError
    from . import migrate as runner
    try:
        apps = ctx.settings().apps
        if app:
            if app not in apps:
                raise ConfigError(
                    f"unknown app {app!r}; configured apps: {', '.join(apps) or 'none'}")
            apps = (app,)
        db = ctx.open()
        click.echo(f"database: {db.url.masked()} ({ctx.source})")
        if not apps:
            click.echo("no apps configured in setup.cfg [store] apps: nothing to migrate")
            return
        for result in runner.migrate(db, apps, to=to, fake=fake):
            if result.applied:
                for name in result.applied:
                    click.echo(f"{result.app}: applied {name}" + (" (fake)" if fake else ""))
            else:
                click.echo(f"{result.app}: up to date")
    except StoreError as exc:
        _fail(ctx, exc)
    except Exception as exc:  # driver errors: one line, credentials masked
        from .url import mask_password
        if ctx.verbose:
            raise
        raise StoreClickError(_one_line(mask_password(
            f"{type(exc).__name__}: {exc}", ctx.url()))) from None


@main.command()
@click.pass_obj
def info(ctx: Context):
    """Show the database in use (password masked), its backend and version."""
    from .errors import StoreError
    try:
        db = ctx.open()
        version = db.server_version
        if isinstance(version, tuple):
            version = ".".join(map(str, version))
        click.echo(f"database: {db.url.masked()} ({ctx.source})")
        click.echo(f"backend:  {db.features.name} {version}")
        click.echo(f"apps:     {', '.join(ctx.settings().apps) or 'none'}")
    except StoreError as exc:
        _fail(ctx, exc)
    except Exception as exc:
        from .url import mask_password
        if ctx.verbose:
            raise
        raise StoreClickError(_one_line(mask_password(
            f"{type(exc).__name__}: {exc}", ctx.url()))) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
