"""Read-only commands change nothing, on both backends: ``status``,
``history``, ``sql``, ``check``, ``info`` and ``erd`` leave the files of the
working folder and the PostgreSQL catalog (schemas, tables, sequences) as
they were, on a database that does not exist yet, an empty one, and one at
head. The seed apps, namespaced ones included, from a project folder of its
own (not this repository's setup.cfg)."""
from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

import store
from store.cli import main

APPS = "forecast pricing backlog dental inventory"
READ_ONLY = [["status"], ["history"], ["sql"], ["check", "--no-live"], ["check"], ["info"],
             ["erd"], ["sql", "pricing"], ["history", "dental"]]


def files(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder)
                  for d, _, names in os.walk(folder) for f in names)


def pg_catalog(url):
    db = store.connect(url)
    try:
        return sorted(db.execute_sql(
            "SELECT n.nspname, coalesce(c.relname, '') FROM pg_namespace n "
            "LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r','p','S','v') "
            "WHERE n.nspname NOT LIKE 'pg_%%' AND n.nspname <> 'information_schema'"
        ).fetchall())
    finally:
        db.close()


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "setup.cfg").write_text(f"[store]\napps = {APPS}\n", encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return root


def snapshot(root, url):
    return files(root), (pg_catalog(url) if url.startswith("postgresql") else None)


def run_all(url):
    runner = CliRunner()
    codes = {}
    for args in READ_ONLY:
        result = runner.invoke(main, ["--database", url, *args])
        assert result.exit_code in (0, 1), (args, result.output)
        codes[" ".join(args)] = result.exit_code
    return codes


@pytest.mark.parametrize("state", ["absent", "head"])
def test_read_only_commands_create_and_change_nothing(project, backend_url, state):
    url = backend_url
    if backend_url.startswith("sqlite"):
        url = f"sqlite:///{project / 'data' / 'app.db'}"
        (project / "data").mkdir()
    else:
        db = store.connect(url)
        for ns in ("dental", "inventory"):
            db.execute_sql(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')
        db.close()
    if state == "head":
        result = CliRunner().invoke(main, ["--database", url, "migrate"])
        assert result.exit_code == 0, result.output
    before = snapshot(project, url)
    codes = run_all(url)
    assert snapshot(project, url) == before
    assert codes["status"] == (1 if state == "absent" else 0)
    if not url.startswith("sqlite"):
        db = store.connect(url)
        for ns in ("dental", "inventory"):
            db.execute_sql(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')
        db.close()


def test_sql_prints_the_plan_of_every_app(project, backend_url):
    result = CliRunner().invoke(main, ["--database", backend_url, "sql"])
    assert result.exit_code == 0, result.output
    for app in APPS.split():
        assert f"-- {app} 001_initial" in result.output
    assert "CREATE TABLE" in result.output.upper()
