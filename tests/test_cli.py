"""CLI behaviour through click's CliRunner, in a temporary working directory."""
from pathlib import Path

import pytest
from click.testing import CliRunner

from store.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
SECRET = "S3cr3t-pw"


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    runner = CliRunner()

    def invoke(*args, env=None):
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)
    return invoke


def test_migrate_with_no_arguments_creates_the_default_sqlite_file(run, tmp_path):
    result = run("migrate")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "store.db").is_file()
    assert "sqlite:///store.db (default)" in result.output


def test_database_url_from_environment_is_used(run, tmp_path):
    result = run("info", env={"DATABASE_URL": "sqlite:///other.db"})
    assert result.exit_code == 0, result.output
    assert "sqlite:///other.db (env)" in result.output
    assert "does not exist yet" in result.output
    assert not (tmp_path / "other.db").exists()        # info is read-only


def test_option_beats_environment(run):
    result = run("--database", "sqlite:///flag.db", "info",
                 env={"DATABASE_URL": "sqlite:///env.db"})
    assert "sqlite:///flag.db (flag)" in result.output


def test_unsupported_url_is_a_configuration_error_exit_2(run):
    result = run("--database", f"mysql://root:{SECRET}@localhost/db", "info")
    assert result.exit_code == 2
    assert "accepted: sqlite:///PATH" in result.output
    assert SECRET not in result.output


def test_connection_failure_masks_password_and_is_one_line(run):
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:1/nope?connect_timeout=1"
    result = run("--database", url, "info")
    assert result.exit_code == 1
    assert SECRET not in result.output
    assert "***" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_unknown_app_is_refused(run):
    result = run("migrate", "nosuchapp")
    assert result.exit_code == 2
    assert "unknown app 'nosuchapp'" in result.output


def test_info_reports_backend_on_each_backend(run, backend_url):
    result = run("--database", backend_url, "info")
    assert result.exit_code == 0, result.output
    expected = "postgresql" if backend_url.startswith("postgresql") else "sqlite"
    assert f"backend:  {expected}" in result.output


def test_every_command_is_in_the_readme_with_its_help():
    text = README.read_text()
    for name, command in main.commands.items():
        assert f"`{name}" in text, f"command {name} missing from README CLI reference"
        assert command.help, f"command {name} has no help text"
