"""store as a user installs it: a wheel built from this checkout, installed in
a fresh virtual environment outside it, used from a project folder of its own
(a user app and a seed app, migrated and queried) on both backends.

The wheel is built without network (``pip wheel --no-deps
--no-build-isolation``, setuptools and wheel of this environment) from a copy
of the sources, so the checkout gets no build/ folder. The new environment
sees this environment's dependencies (peewee, click, psycopg) through a .pth
file, never its editable store. About 10 s: part of the default suite.
"""
from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "MANIFEST.in", "store", "migrations")


def test_package_list_is_every_package_under_store():
    from setuptools import find_packages
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    listed = set(parser["options"]["packages"].split())
    found = set(find_packages(str(ROOT), include=["store", "store.*"]))
    assert listed == found | {"store.seed_migrations"}, \
        "setup.cfg [options] packages must list every package of store/"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(python, store)`` of a fresh venv with the wheel installed."""
    pytest.importorskip("wheel")
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(ROOT / name, src / name)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "--no-index", "-q", "-w", str(base / "dist"),
                            str(src)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = (base / "dist").glob("store-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                              "--no-deps", "--no-index", "-q", str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    deps = sysconfig.get_paths()["purelib"]
    Path(purelib, "store_test_deps.pth").write_text(deps + "\n", encoding="utf-8")
    return python, venv / "bin" / "store"


def run(args, cwd, env):
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"{args}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def test_installed_wheel_migrates_a_user_app_and_a_seed_app(installed, tmp_path, backend_url):
    python, store_cmd = installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DATABASE_URL")}
    env["DATABASE_URL"] = backend_url
    where = run([python, "-c", "import store, store.project as p; "
                 "print(store.__file__); print(*p.SHIPPED_MIGRATIONS)"], tmp_path, env)
    assert str(ROOT) not in where.splitlines()[0]               # the installed store
    project = tmp_path / "proj"
    out = run([store_cmd, "init", str(project), "--app", "shop"], tmp_path, env)
    assert "migrations/shop/001_initial.py" in out
    cfg = project / "setup.cfg"
    cfg.write_text(cfg.read_text().replace("apps = shop", "apps = shop forecast"))
    (project / "sub").mkdir()
    out = run([store_cmd, "migrate"], project / "sub", env)
    assert "shop: applied 001_initial" in out and "forecast: applied 001_initial" in out
    out = run([python, "-c", "import store\n"
               "db = store.connect(apps=['shop', 'forecast'])\n"
               "from shop import Note\n"
               "from store.apps.forecast import MODELS\n"
               "Note.create(title='x')\n"
               "print(Note.select().count(), [m.select().count() for m in MODELS])\n"],
              project / "sub", env)
    assert out.split()[0] == "1", out
    status = run([python, "-m", "store", "status"], project, env)
    assert "forecast     applied  001_initial" in status and "pending" not in status


def test_the_wheel_says_store_is_typed(installed):
    """``store/py.typed`` ships (PEP 561), so type checkers read store's
    annotations in the user's project."""
    python, _ = installed
    where = subprocess.run([str(python), "-c", "import store, pathlib; "
                            "print(pathlib.Path(store.__file__).with_name('py.typed').is_file())"],
                           capture_output=True, text=True, check=True, cwd="/")
    assert where.stdout.strip() == "True"
