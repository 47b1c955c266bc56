"""The README's "Your project" tour, run as written in an empty folder: its
shell block through bash (the ``pip install`` line aside: store is installed
here; tests/test_wheel.py installs a built wheel), then its Python block. On
both backends (``DATABASE_URL`` moves the tour to PostgreSQL)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def tour_blocks():
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- tour:project -->(.*?)<!-- /tour:project -->", text, re.S)
    assert match, "README: the <!-- tour:project --> block is gone"
    blocks = dict((lang, body) for lang, body in
                  re.findall(r"```(\w+)\n(.*?)```", match.group(1), re.S))
    assert set(blocks) == {"sh", "python"}, blocks
    return blocks["sh"], blocks["python"]


def test_tour_starts_with_pip_install_and_store_init():
    sh, _ = tour_blocks()
    lines = [line.split("#")[0].strip() for line in sh.splitlines() if line.strip()]
    assert lines[0].startswith("pip install store")
    assert "store init" in lines


def test_readme_tour_runs_as_written(tmp_path, backend_url):
    sh, python = tour_blocks()
    script = "\n".join(line for line in sh.splitlines()
                       if not line.lstrip().startswith("pip install"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if not backend_url.startswith("sqlite"):
        env["DATABASE_URL"] = backend_url
    run = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "notes: applied 001_initial" in run.stdout
    assert "notes        applied  001_initial" in run.stdout
    project = tmp_path / "myproject"
    if backend_url.startswith("sqlite"):
        assert (project / "store.db").is_file()
    out = subprocess.run([sys.executable, "-c", python], cwd=project, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['try store']"
