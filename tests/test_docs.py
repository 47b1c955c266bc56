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
