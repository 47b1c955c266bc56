"""Interactive tools of the ``store`` command: ``shell``, ``init``.

Registered by ``store.cli`` (``register(main)``). Only click and the standard
library are imported here at module level, so the CLI starts fast.
"""
from __future__ import annotations

import os

import click

#: Set (to anything but "" or "0") to use the plain Python console even when
#: IPython is installed; the same as ``shell --plain``.
PLAIN_ENV = "STORE_SHELL_PLAIN"


def shell_namespace(db, apps) -> tuple[dict, list]:
    """The names a shell session starts with, and notes for its banner.

    ``db`` (the open database), ``store``, ``table``/``to_frame`` (display
    and DataFrames), every app's module by the app's name (``dental``) and
    every model of every app by its class name (``Forecast``). A class name
    two apps share (``User`` in dental and inventory) is not bound bare,
    only as ``dental.User`` / ``inventory.User``; the banner says so."""
    import importlib

    import store
    namespace = {"db": db, "store": store, "table": store.table,
                 "to_frame": store.to_frame}
    owners: dict = {}
    for app in apps:
        package = app.models[0].__module__.rsplit(".", 1)[0] if app.models else None
        for candidate in (f"store.apps.{app.name}", app.name, package):
            try:
                namespace.setdefault(app.name, importlib.import_module(candidate))
                break
            except (ImportError, TypeError):
                continue
        for model in app.models:
            owners.setdefault(model.__name__, []).append((app.name, model))
    notes = []
    for name, found in sorted(owners.items()):
        if len(found) == 1:
            namespace.setdefault(name, found[0][1])
        else:
            where = ", ".join(f"{app}.{name}" for app, _ in found)
            notes.append(f"{name} is in several apps: use {where}")
    return namespace, notes


def _banner(db, apps, namespace, notes) -> str:
    models = sorted(k for k, v in namespace.items()
                    if isinstance(v, type) and k[:1].isupper())
    lines = [f"store shell: {db.url.masked()} ({db.features.name})",
             f"apps: {', '.join(a.name for a in apps) or 'none'}",
             "names: db, store, table, to_frame, "
             + ", ".join(a.name for a in apps if namespace.get(a.name) is not None),
             f"models: {', '.join(models) or 'none'}"]
    lines.extend(notes)
    return "\n".join(lines)


def _use_ipython(plain: bool) -> bool:
    if plain or os.environ.get(PLAIN_ENV, "") not in ("", "0"):
        return False
    import importlib.util
    return importlib.util.find_spec("IPython") is not None


def run_shell(db, apps, *, plain=False, command=None) -> None:
    """Run ``command`` (a string of Python) in the namespace, or start an
    interactive session: IPython when installed (and not ``plain``), else
    the standard library's ``code.interact``."""
    from .namespaces import bind_app
    for app in apps:
        bind_app(db, app)
    namespace, notes = shell_namespace(db, apps)
    if command is not None:
        exec(compile(command, "<shell -c>", "exec"), namespace)
        return
    banner = _banner(db, apps, namespace, notes)
    if _use_ipython(plain):
        import IPython
        from traitlets.config import Config
        config = Config()
        config.TerminalInteractiveShell.banner2 = banner + "\n"
        IPython.start_ipython(argv=[], user_ns=namespace, config=config)
        return
    import code
    code.interact(banner=banner, local=namespace, exitmsg="")


@click.command()
@click.option("--plain", is_flag=True,
              help=f"Use the plain Python console even if IPython is installed "
                   f"(also: {PLAIN_ENV}=1).")
@click.option("--command", "-c", "command", metavar="CODE",
              help="Run CODE in the shell's namespace and exit.")
@click.pass_obj
def shell(ctx, plain, command):
    """An interactive Python session with the database open and every app's
    models imported (IPython when installed): db, store, table, to_frame,
    each app module by name, each model by class name."""
    from .cli import handle_errors

    @handle_errors
    def run(ctx):
        from .errors import ConfigError
        apps = ctx.apps()
        db = ctx.open(readonly=True)
        if ctx.absent is not None:
            raise ConfigError(f"{ctx.absent.masked()}: the database file does not exist "
                              f"(run `store migrate` first; shell does not create it)")
        try:
            run_shell(db, apps, plain=plain, command=command)
        finally:
            if not db.is_closed() and not db.in_transaction():
                db.close()
    run(ctx)


@click.command()
@click.argument("directory", required=False, default=".",
                type=click.Path(file_okay=False, path_type=str))
@click.option("--app", "app", default="notes", show_default=True,
              help="The example app's package name.")
@click.option("--config", "config", type=click.Choice(["setup.cfg", "pyproject.toml"]),
              default="setup.cfg", show_default=True,
              help="Where the settings go: setup.cfg [store] or pyproject.toml [tool.store].")
@click.pass_obj
def init(ctx, directory, app, config):
    """Start a project in DIRECTORY (default: here): the store settings, an
    example app with its models, and its first migration in migrations/APP/.
    Refuses to overwrite anything."""
    from .cli import handle_errors

    @handle_errors
    def run(ctx):
        from .scaffold import init as scaffold
        made = scaffold(directory, app=app, config=config)
        for path in made.written:
            click.echo(f"wrote {path.relative_to(made.root)}")
        click.echo(f"next: `store migrate`, then `store status`; the models are in "
                   f"{app}/__init__.py")
    run(ctx)


def register(main) -> None:
    """Add this module's commands to the ``store`` group."""
    main.add_command(shell)
    main.add_command(init)
