"""ruff (pyproject.toml [tool.ruff]) finds nothing in the project's code."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    pytest.importorskip("ruff", reason="ruff is in the dev extras")
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "store", "tests",
                           "bench", "examples", "cli.py"], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-500:]
