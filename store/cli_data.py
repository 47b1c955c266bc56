"""CLI commands that move data: ``copy``, ``dump`` and ``load`` (see
``store.transfer``). Only click is imported here; store, peewee and the
drivers are imported when a command runs, so the CLI starts fast.
``store.cli`` calls ``register(main)``.
"""
from __future__ import annotations

import functools

import click

_APP = click.option("--app", "app_names", multiple=True, metavar="APP",
                    help="Only this app (repeatable; default: every app in setup.cfg).")
_BATCH = click.option("--batch-size", type=click.IntRange(min=1), default=1000,
                      show_default=True, help="Rows read and written per batch.")
_QUIET = click.option("--quiet", "-q", is_flag=True,
                      help="No progress bar (it is shown only on a terminal anyway).")
_TRUNCATE = click.option("--truncate", is_flag=True,
                         help="Empty the apps' tables on the target first (same transaction).")


def _masking(func):
    """store.cli.handle_errors (it masks every ``*_url`` argument too),
    imported when the command runs."""
    @functools.wraps(func)
    def wrapper(ctx, *args, **kwargs):
        from .cli import handle_errors
        return handle_errors(func)(ctx, *args, **kwargs)
    return wrapper


def _apps(ctx, names):
    if not names:
        return ctx.apps()
    chosen = []
    for name in dict.fromkeys(names):
        chosen += ctx.apps(name)
    return chosen


def _progress(quiet):
    from .progress import Progress
    return Progress(quiet=quiet)


def _report(report, verb):
    from .transfer import describe
    for line in describe(report):
        click.echo(line)
    apps = len({t.app for t in report.tables})
    click.echo(f"{verb} {report.rows:,} rows in {len(report.tables)} tables of {apps} "
               f"app{'s' if apps != 1 else ''}; counts and checksums match")


def _open(url, *, must_exist=False):
    """The database of ``url``, connected. ``must_exist``: a SQLite file
    that is not there is an error naming it (a source is read, never made)."""
    from .database import open_database
    from .url import parse_url
    parsed = parse_url(url)
    if must_exist and parsed.file_missing:
        raise click.UsageError(f"the source SQLite database {parsed.database} does not "
                               f"exist (nothing was created)")
    db = open_database(parsed)
    db.connect(reuse_if_open=True)
    return db


@click.command()
@click.argument("source_url", metavar="SOURCE_URL")
@click.argument("target_url", metavar="TARGET_URL")
@_APP
@_TRUNCATE
@_BATCH
@_QUIET
@click.pass_obj
@_masking
def copy(ctx, source_url, target_url, app_names, truncate, batch_size, quiet):
    """Copy the apps' tables from SOURCE_URL to TARGET_URL (SQLite and
    PostgreSQL, either way) in one transaction on the target, parents first,
    then verify row counts and checksums and restart PostgreSQL sequences.
    A non-empty target is refused unless --truncate; a target behind the
    migrations is migrated first; any failure leaves the target as it was."""
    from .transfer import copy_database
    apps = _apps(ctx, app_names)
    source = _open(source_url, must_exist=True)
    try:
        target = _open(target_url)
        try:
            click.echo(f"copy: {source.url.masked()} -> {target.url.masked()}")
            report = copy_database(source, target, apps, truncate=truncate,
                                   batch_size=batch_size, progress=_progress(quiet))
        finally:
            target.close()
    finally:
        source.close()
    _report(report, "copied")


@click.command()
@_APP
@click.argument("directory", type=click.Path(file_okay=False))
@_BATCH
@_QUIET
@click.pass_obj
@_masking
def dump(ctx, app_names, directory, batch_size, quiet):
    """Write the apps' tables to DIRECTORY/<app>/<table>.jsonl (one JSON
    object per row) and DIRECTORY/manifest.json (migration head, row counts,
    checksums). DIRECTORY must be new or empty."""
    from .transfer import dump_database
    db = ctx.open()
    click.echo(f"dump: {db.url.masked()} -> {directory}")
    report = dump_database(db, _apps(ctx, app_names), directory, batch_size=batch_size,
                           progress=_progress(quiet))
    _report(report, "dumped")


@click.command()
@_APP
@click.argument("directory", type=click.Path(file_okay=False))
@_TRUNCATE
@_BATCH
@_QUIET
@click.pass_obj
@_masking
def load(ctx, app_names, directory, truncate, batch_size, quiet):
    """Load a dump DIRECTORY (default: every app it holds) in one
    transaction, parents first, verifying each file against the manifest and
    the loaded rows against the files. A non-empty target is refused unless
    --truncate; a line that does not fit the schema is an error naming the
    file, line and column, and nothing is written."""
    from .transfer import load_database, read_manifest
    names = app_names or tuple(read_manifest(directory)["apps"])
    apps = _apps(ctx, names)
    db = ctx.open()
    click.echo(f"load: {directory} -> {db.url.masked()}")
    report = load_database(db, apps, directory, truncate=truncate, batch_size=batch_size,
                           progress=_progress(quiet))
    _report(report, "loaded")


def register(main) -> None:
    """Add copy, dump and load to the ``store`` command group."""
    for command in (copy, dump, load):
        main.add_command(command)
