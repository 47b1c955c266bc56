"""The user's project (store.project): found from its folder or a subfolder,
its apps importable without PYTHONPATH, their migrations found the same way
by the CLI, ``store.connect`` and ``store.migrate``; an app without
migrations is a clear error that creates nothing. Both backends."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import store
import store.migrate
from store.cli import main

SHOP = '''"""shop: a user's app."""
import store


class Product(store.Model):
    name = store.CharField(max_length=50)
    price = store.DecimalField(max_digits=10, decimal_places=2, default=0)


MODELS = [Product]
'''


def catalog(url):
    """The tables of ``url``'s database (its default schema on PostgreSQL)."""
    db = store.connect(url) if not url.startswith("sqlite") else None
    if db is None:
        path = Path(url[len("sqlite:///"):])
        if not path.exists():
            return None
        import sqlite3
        conn = sqlite3.connect(path)
        try:
            return sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master"))
        finally:
            conn.close()
    try:
        return sorted(r[0] for r in db.execute_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
    finally:
        db.close()


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A user's folder: setup.cfg [store] apps = shop, the package shop/, a subfolder."""
    root = tmp_path / "proj"
    (root / "shop").mkdir(parents=True)
    (root / "notebooks").mkdir()
    (root / "setup.cfg").write_text("[store]\napps = shop\n", encoding="utf-8")
    (root / "shop" / "__init__.py").write_text(SHOP, encoding="utf-8")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield root
    for name in [m for m in sys.modules if m == "shop" or m.startswith("shop.")]:
        del sys.modules[name]


def cli(*args):
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_create_migrate_status_from_root_and_subfolder(project, backend_url, monkeypatch):
    monkeypatch.chdir(project)
    code, out = cli("create", "initial", "--app", "shop", "--auto", "--sqlite-only")
    assert code == 0, out
    assert (project / "migrations" / "shop" / "001_initial.py").is_file()
    monkeypatch.chdir(project / "notebooks")
    code, out = cli("--database", backend_url, "status")
    assert code == 1 and "pending  001_initial" in out, out
    db = store.connect(backend_url, apps=["shop"], migrate=True)     # the Python API
    try:
        from shop import Product
        Product.create(name="pen", price="1.50")
        assert store.migrate.status(db, ["shop"])["shop"][0].state == "applied"
    finally:
        db.close()
    code, out = cli("--database", backend_url, "status")
    assert code == 0 and "applied  001_initial" in out, out
    code, out = cli("--database", backend_url, "migrate")
    assert code == 0 and "shop: up to date" in out, out


def test_cli_in_a_subfolder_uses_the_project_database(project, monkeypatch):
    monkeypatch.chdir(project)
    assert cli("create", "initial", "--app", "shop", "--auto", "--sqlite-only")[0] == 0
    monkeypatch.chdir(project / "notebooks")
    code, out = cli("migrate")
    assert code == 0, out
    assert (project / "store.db").is_file()
    assert not (project / "notebooks" / "store.db").exists()
    db = store.connect(apps=["shop"])                    # the same file, from the subfolder
    try:
        assert db.table_exists("product")
    finally:
        db.close()


def test_app_without_migrations_is_an_error_that_creates_nothing(project, backend_url,
                                                                  monkeypatch):
    monkeypatch.chdir(project / "notebooks")
    store.connect(backend_url).close()        # the database exists (an empty one)
    before = catalog(backend_url)
    for command in ("migrate", "status", "sql", "history"):
        code, out = cli("--database", backend_url, command)
        assert code == 2, (command, out)
        assert str(project / "migrations" / "shop") in out, out
        assert "no migrations" in out
    with pytest.raises(store.ConfigError, match="no migrations folder; looked in"):
        store.connect(backend_url, apps=["shop"], migrate=True)
    db = store.connect(backend_url)
    try:
        with pytest.raises(store.ConfigError, match=str(project / "migrations" / "shop")):
            store.migrate.migrate(db, ["shop"])
    finally:
        db.close()
    assert catalog(backend_url) == before
    assert sorted(p.name for p in (project / "notebooks").iterdir()) == []
    assert not (project / "store.db").exists()


def test_seed_app_migrates_from_any_folder_by_cli_and_api(tmp_path, backend_url, monkeypatch):
    """No project here: the seed app's migrations shipped with store are used."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    db = store.connect(backend_url)
    try:
        applied = store.migrate.migrate(db, ["backlog"])
        assert applied[0].applied, applied
        code, out = cli("--database", backend_url, "migrate", "backlog")
        assert code == 2 and "unknown app 'backlog'" in out      # not configured here
    finally:
        db.close()
    db = store.connect(backend_url, apps=["backlog"], migrate=True)
    try:
        assert all(s.state == "applied" for s in store.migrate.status(db, ["backlog"])["backlog"])
    finally:
        db.close()


def test_pyproject_tool_store_is_a_project(tmp_path, monkeypatch):
    from store.project import find_project
    root = tmp_path / "p"
    (root / "a" / "b").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.store]\napps = ["shop", "blog"]\n'
        'database_url = "sqlite:///data.db"\n', encoding="utf-8")
    monkeypatch.chdir(root / "a" / "b")
    project = find_project()
    assert project.root == root.resolve() and project.apps == ("shop", "blog")
    from store.config import resolve_url
    assert resolve_url() == (f"sqlite:///{root.resolve() / 'data.db'}", "setup.cfg")


def test_unknown_config_key_is_named(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.store]\nappz = ["x"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out = cli("status")
    assert code == 2 and "appz" in out and "[tool.store]" in out


@pytest.mark.parametrize("entry", ["store", "-m store", "-m store.cli", "cli.py"])
def test_entry_points_find_the_project_without_pythonpath(project, backend_url, entry):
    """From a subfolder (``cli.py``: the project root, where such a file lives)."""
    (project / "migrations" / "shop").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL")}
    cwd = project / "notebooks"
    if entry == "store":
        command = [str(Path(sys.executable).parent / "store")]
    elif entry == "cli.py":
        (project / "cli.py").write_text("from store.cli import main\nmain()\n", encoding="utf-8")
        command, cwd = [sys.executable, "cli.py"], project
    else:
        command = [sys.executable, *entry.split()]
    proc = subprocess.run([*command, "--database", backend_url, "check", "--no-live"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr          # models changed, no migration yet
    assert "shop: changes without a migration" in proc.stdout
    assert "create table product" in proc.stdout


# --- store init ---------------------------------------------------------------------

def test_init_scaffolds_a_project_and_refuses_to_overwrite(tmp_path, backend_url, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    folder = tmp_path / "new"
    folder.mkdir()
    monkeypatch.chdir(folder)
    try:
        code, out = cli("init")
        assert code == 0, out
        assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                      if "__pycache__" not in p.parts) == [
            "migrations", "migrations/notes", "migrations/notes/001_initial.py",
            "migrations/notes/state.json", "notes", "notes/__init__.py", "setup.cfg"]
        assert "apps = notes" in (folder / "setup.cfg").read_text()
        code, out = cli("--database", backend_url, "migrate")
        assert code == 0 and "notes: applied 001_initial" in out, out
        code, out = cli("--database", backend_url, "check")
        assert code == 0, out
        snapshot = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        code, out = cli("init")
        assert code == 2 and "already holds store settings" in out
        code, out = cli("init", "--config", "pyproject.toml")
        assert code == 2
        assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == snapshot
    finally:
        sys.modules.pop("notes", None)


def test_init_into_pyproject_keeps_what_is_there(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "mine"\n')
    (tmp_path / "todo").mkdir()
    monkeypatch.chdir(tmp_path)
    try:
        code, out = cli("init", "--config", "pyproject.toml", "--app", "todo")
        assert code == 2 and "todo exists" in out                 # never overwritten
        code, out = cli("init", "--config", "pyproject.toml", "--app", "tasks")
        assert code == 0, out
        text = (tmp_path / "pyproject.toml").read_text()
        assert text.startswith('[project]\nname = "mine"\n') and 'apps = ["tasks"]' in text
        from store.project import find_project
        assert find_project().apps == ("tasks",)
        code, out = cli("init", "--app", "Bad-Name")
        assert code == 2 and "--app" in out
    finally:
        sys.modules.pop("tasks", None)


def test_init_that_fails_leaves_nothing(tmp_path, monkeypatch):
    from store.migrate import autogen
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)

    def broken(*args, **kwargs):
        raise store.MigrationError("the proof failed")
    monkeypatch.setattr(autogen, "create", broken)
    code, out = cli("init")
    assert code == 1 and "the proof failed" in out
    assert list(tmp_path.iterdir()) == []
    sys.modules.pop("notes", None)
