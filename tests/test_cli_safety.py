"""Issues 14 and 17, on both backends: an accepted edit is recorded; every
app is checked before any is applied; a deleted applied migration is refused;
``rollback(steps=0)`` rolls back nothing; ``--namespace`` refuses ``public``
and another app's namespace; concurrent migrates of a namespaced app; the
smaller CLI items (a closed pipe, the PostgreSQL version, ``check --rename``)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import uuid

import pytest
from click.testing import CliRunner

import store
import store.migrate
from store.cli import main

MIGRATION = '''"""{name}"""


def migrate(migrator, database, fake=False):
    migrator.sql("CREATE TABLE {table} (id INTEGER PRIMARY KEY)")


def rollback(migrator, database, fake=False):
    migrator.sql("DROP TABLE {table}")
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    """apps alpha (001) and beta (001, in its own namespace), hand-written migrations."""
    root = tmp_path / "proj"
    ns = "beta_" + uuid.uuid4().hex[:8]
    for app, extra in (("alpha", ""), ("beta", f'NAMESPACE = "{ns}"\n')):
        (root / app).mkdir(parents=True)
        (root / app / "__init__.py").write_text(f"{extra}MODELS = []\n", encoding="utf-8")
        (root / "migrations" / app).mkdir(parents=True)
        write(root, app, "001_first", f"{app}_one")
    (root / "setup.cfg").write_text("[store]\napps = alpha beta\n", encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield root, ns
    for name in [m for m in sys.modules if m in ("alpha", "beta")]:
        del sys.modules[name]


@pytest.fixture
def url(backend_url, project):
    yield backend_url
    if backend_url.startswith("postgresql"):
        db = store.connect(backend_url)
        db.execute_sql(f'DROP SCHEMA IF EXISTS "{project[1]}" CASCADE')
        db.close()


def write(root, app, name, table):
    path = root / "migrations" / app / f"{name}.py"
    path.write_text(MIGRATION.format(name=name, table=table), encoding="utf-8")
    return path


def cli(url, *args):
    result = CliRunner().invoke(main, ["--database", url, *args])
    return result.exit_code, result.output


def test_force_records_the_edit_and_status_is_clean(project, url):
    root, _ = project
    assert cli(url, "migrate")[0] == 0
    path = root / "migrations" / "alpha" / "001_first.py"
    path.write_text(path.read_text() + "# a comment added later\n")
    code, out = cli(url, "status")
    assert code == 1 and "edited   001_first" in out
    code, out = cli(url, "migrate")
    assert code == 1 and "edited since they ran" in out
    code, out = cli(url, "migrate", "--force")
    assert code == 0, out
    code, out = cli(url, "status")
    assert code == 0 and "edited" not in out, out
    assert cli(url, "migrate")[0] == 0
    code, out = cli(url, "history", "alpha")
    from store.migrate.history import checksum
    assert checksum(path.read_text())[:12] in out


def test_every_app_is_checked_before_any_is_applied(project, url):
    root, _ = project
    assert cli(url, "migrate")[0] == 0
    write(root, "alpha", "002_second", "alpha_two")
    edited = root / "migrations" / "beta" / "001_first.py"
    edited.write_text(edited.read_text() + "# edited\n")
    code, out = cli(url, "migrate")
    assert code == 1 and "beta: applied migration file(s) edited" in out, out
    code, out = cli(url, "status")
    assert "pending  002_second" in out                  # alpha was not applied first


def test_a_deleted_applied_migration_is_refused(project, url):
    root, _ = project
    assert cli(url, "migrate")[0] == 0
    (root / "migrations" / "alpha" / "001_first.py").unlink()
    code, out = cli(url, "migrate")
    assert code == 1 and "001_first have no file" in out, out
    assert "up to date" not in out
    code, out = cli(url, "status")
    assert code == 1 and "missing  001_first" in out


def test_rollback_steps_zero_rolls_back_nothing(project, url):
    db = store.connect(url)
    try:
        store.migrate.migrate(db, ["alpha"])
        assert store.migrate.rollback(db, "alpha", steps=0) == []
        assert db.table_exists("alpha_one")
        with pytest.raises(store.MigrationError, match="steps"):
            store.migrate.rollback(db, "alpha", steps=-1)
        assert store.migrate.rollback(db, "alpha", steps=None) == ["001_first"]
        assert not db.table_exists("alpha_one")
    finally:
        db.close()


@pytest.mark.parametrize("command", [["migrate", "alpha"], ["reset", "alpha", "--yes"],
                                     ["rollback", "alpha"]])
def test_namespace_refuses_public_and_another_apps(project, url, command):
    _, ns = project
    for bad in ("public", "pg_temp_1", "information_schema", ns):
        code, out = cli(url, *command, "--namespace", bad)
        assert code == 2, (bad, out)
        assert "--namespace" in out or "namespace" in out
    if url.startswith("postgresql"):
        db = store.connect(url)
        assert db.execute_sql("SELECT 1 FROM pg_namespace WHERE nspname = 'public'").fetchone()
        db.close()


def test_concurrent_migrates_of_a_namespaced_app(project, url):
    errors, applied = [], []

    def work():
        db = store.connect(url)
        try:
            applied.extend(store.migrate.migrate(db, ["beta"])[0].applied)
        except Exception as exc:       # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db.close()
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert applied == ["001_first"]


def test_sql_into_a_closed_pipe_ends_quietly(tmp_path, backend_url):
    (tmp_path / "setup.cfg").write_text("[store]\napps = forecast inventory dental pricing\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["DATABASE_URL"] = backend_url
    proc = subprocess.run(["bash", "-c", f"set -o pipefail; {sys.executable} -m store sql "
                           "| head -1"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.stdout.startswith("-- "), proc.stdout
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_info_prints_a_readable_version(tmp_path, backend_url, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = cli(backend_url, "info")
    assert code == 0, out
    assert re.search(r"^backend:  (sqlite \d+\.\d+\.\d+|postgresql \d+\.\d+)$", out, re.M), out


def test_check_accepts_the_rename_it_suggests(tmp_path, backend_url, monkeypatch):
    root = tmp_path / "p"
    (root / "shop").mkdir(parents=True)
    (root / "setup.cfg").write_text("[store]\napps = shop\n")
    model = ("import store\n\nclass Item(store.Model):\n    {f} = store.CharField("
             "max_length=9)\n\nMODELS = [Item]\n")
    (root / "shop" / "__init__.py").write_text(model.format(f="label"))
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "path", list(sys.path))
    sys.modules.pop("shop", None)            # another test's package of that name
    try:
        assert cli(backend_url, "create", "initial", "--app", "shop", "--auto",
                   "--sqlite-only")[0] == 0
        (root / "shop" / "__init__.py").write_text(model.format(f="title"))
        sys.modules.pop("shop", None)
        code, out = cli(backend_url, "check", "--no-live")
        assert code == 1 and "--rename item.label=title" in out, out
        code, out = cli(backend_url, "check", "--no-live", "--rename", "item.label=title")
        assert code == 1 and "rename" in out.lower() and "Error" not in out, out
    finally:
        sys.modules.pop("shop", None)
