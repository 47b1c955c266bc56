"""Generated docs stay true: docs/ERD.md is what the models give today."""
from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from store.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_checked_in_erd_is_up_to_date(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["erd", "--check"])
    assert result.exit_code == 0, result.output


def test_erd_write_and_check_detect_a_stale_file(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    target = tmp_path / "ERD.md"
    runner = CliRunner()
    assert runner.invoke(main, ["erd", "--write", os.fspath(target)]).exit_code == 0
    text = target.read_text()
    assert "## dental" in text and "## forecast" in text and "erDiagram" in text
    target.write_text(text.replace("erDiagram", "graph", 1))
    result = runner.invoke(main, ["erd", "--check", os.fspath(target)])
    assert result.exit_code == 1 and "out of date" in result.output


def _python_blocks(path):
    import re
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def test_app_doc_examples_run(db, backend_url, monkeypatch):
    """Every example of docs/apps.md runs against the migrated apps."""
    import store
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DATABASE_URL", backend_url)
    runner = CliRunner()
    assert runner.invoke(main, ["migrate"]).exit_code == 0
    blocks = _python_blocks(ROOT / "docs" / "apps.md")
    assert len(blocks) == 5
    try:
        for block in blocks:
            scope = {"store": store}
            exec(compile(block, "docs/apps.md", "exec"), scope)
            scope["db"].close()
        from store.apps.pricing import BrandGroup
        with store.open(backend_url, apps=["pricing"]):
            assert BrandGroup.get().base_price == __import__("decimal").Decimal("45.00")
    finally:
        for app in ("inventory", "dental", "backlog", "pricing", "forecast"):
            runner.invoke(main, ["reset", app, "--yes"])
        if db.features.name == "postgresql":
            for ns in ("dental", "inventory"):
                db.execute_sql(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')
