"""The migration commands end to end through the CLI, on both backends, with
an app configured in setup.cfg the way a user configures one."""
import sys
import textwrap

import pytest
from click.testing import CliRunner

from store.cli import main

MODELS = '''
import store

class Item(store.Model):
    name = store.CharField(max_length=40)

    class Meta:
        table_name = "item"

MODELS = [Item]
'''

M001 = '''
import store

def migrate(migrator, database, fake=False):
    @migrator.create_model
    class Item(store.Model):
        name = store.CharField(max_length=40)
        class Meta:
            table_name = "item"

def rollback(migrator, database, fake=False):
    migrator.remove_model("item")
'''

M002 = '''
def migrate(migrator, database, fake=False):
    migrator.sql("CREATE INDEX ix_item_name ON item (name)")

def rollback(migrator, database, fake=False):
    migrator.sql("DROP INDEX ix_item_name")
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    pkg = tmp_path / "extapps" / "inv"
    pkg.mkdir(parents=True)
    (tmp_path / "extapps" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text(textwrap.dedent(MODELS))
    folder = tmp_path / "migrations" / "inv"
    folder.mkdir(parents=True)
    (folder / "001_initial.py").write_text(textwrap.dedent(M001))
    (folder / "002_index.py").write_text(textwrap.dedent(M002))
    (tmp_path / "setup.cfg").write_text("[store]\napps = extapps.inv\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path


@pytest.fixture
def cli(project, backend_url):
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, ["--database", backend_url, *args], catch_exceptions=False)
    return invoke


def test_status_migrate_history_rollback_reset(cli):
    result = cli("status")
    assert result.exit_code == 1                     # pending work: a deploy can gate on it
    assert "pending  001_initial" in result.output

    result = cli("migrate")
    assert result.exit_code == 0, result.output
    assert "inv: applied 001_initial" in result.output
    assert "inv: applied 002_index" in result.output

    result = cli("status")
    assert result.exit_code == 0
    assert "applied  002_index" in result.output

    result = cli("history")
    assert "001_initial" in result.output and "002_index" in result.output

    result = cli("rollback", "inv")
    assert "rolled back 002_index" in result.output
    result = cli("migrate", "inv", "--to", "002_index")
    assert "applied 002_index" in result.output

    result = cli("reset", "inv")
    assert result.exit_code == 2 and "--yes" in result.output
    result = cli("reset", "inv", "--yes")
    assert result.exit_code == 0, result.output
    assert "history table inv_migrate_history dropped" in result.output
    result = cli("status")
    assert "pending  001_initial" in result.output


def test_sql_prints_the_plan_and_changes_nothing(cli):
    result = cli("sql")
    assert result.exit_code == 0, result.output
    assert "-- inv 001_initial" in result.output
    assert 'CREATE TABLE' in result.output and '"item"' in result.output
    assert "CREATE INDEX ix_item_name" in result.output
    assert "pending  001_initial" in cli("status").output


def test_unknown_migration_name_is_an_error(cli):
    result = cli("migrate", "inv", "--to", "007_nope")
    assert result.exit_code == 2                # refused before the database is opened
    assert "no migration named '007_nope'" in result.output
    assert "pending  001_initial" in cli("status").output


def test_edited_migration_blocks_migrate_until_forced(cli, project):
    assert cli("migrate", "inv", "--to", "001_initial").exit_code == 0
    path = project / "migrations" / "inv" / "001_initial.py"
    path.write_text(path.read_text() + "# touched\n")
    status = cli("status")
    assert status.exit_code == 1 and "edited   001_initial" in status.output
    result = cli("migrate")
    assert result.exit_code == 1 and "edited" in result.output
    assert cli("migrate", "--force").exit_code == 0


def test_status_creates_nothing(db, backend_url, monkeypatch, tmp_path):
    from click.testing import CliRunner
    from store.cli import main
    from store.introspect import read_schema
    from store.project import SEED_APPS
    (tmp_path / "setup.cfg").write_text(f"[store]\napps = {' '.join(SEED_APPS)}\n")
    monkeypatch.chdir(tmp_path)
    before = read_schema(db).tables
    result = CliRunner().invoke(main, ["--database", backend_url, "status"])
    assert result.exit_code == 1 and "pending" in result.output
    assert read_schema(db).tables == before


# --- create --auto from the command line: --fill, --rename, --no-rename -------------

MODELS_V1 = '''
import store


class Thing(store.Model):
    name = store.CharField(max_length=20)
    day = store.DateField()

    class Meta:
        table_name = "thing"


MODELS = [Thing]
'''


def _project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "setup.cfg").write_text("[store]\napps = fillshop\n")
    (tmp_path / "fillshop").mkdir()
    (tmp_path / "migrations" / "fillshop").mkdir(parents=True)
    return tmp_path / "fillshop" / "__init__.py"


def _models(path, text):
    import importlib
    path.write_text(text)
    sys.modules.pop("fillshop", None)
    importlib.invalidate_caches()


@pytest.fixture
def forget_fillshop():
    """The test's app package leaves no module behind for later tests."""
    yield
    sys.modules.pop("fillshop", None)


def test_create_auto_takes_fill_rename_and_no_rename(tmp_path, monkeypatch, backend_url,
                                                     forget_fillshop):
    from click.testing import CliRunner
    from store.cli import main
    models = _project(tmp_path, monkeypatch)
    prove = (["--sqlite-only"] if backend_url.startswith("sqlite")
             else ["--prove-url", backend_url.split("?")[0]])

    def create(*args):
        return CliRunner().invoke(main, ["create", *args, "--app", "fillshop", "--auto", *prove])

    _models(models, MODELS_V1)
    assert create("initial").exit_code == 0
    # a NOT NULL date dropped: the rollback needs a value, asked for by --fill
    _models(models, MODELS_V1.replace("    day = store.DateField()\n", ""))
    refused = create("no_day")
    assert refused.exit_code == 2 and "--fill thing.day=" in refused.output
    done = create("no_day", "--fill", 'thing.day=datetime.date(2000, 1, 1)')
    assert done.exit_code == 0, done.output
    written = (tmp_path / "migrations" / "fillshop" / "002_no_day.py").read_text()
    assert "datetime.date(2000, 1, 1)" in written
    bad = create("x", "--fill", "nodot=1")
    assert bad.exit_code == 2 and "TABLE.COLUMN=EXPR" in bad.output
    # a field that looks renamed: --rename says so, --no-rename says not
    _models(models, MODELS_V1.replace("    day = store.DateField()\n", "")
            .replace("name = store.CharField", "title = store.CharField"))
    renamed = create("title", "--rename", "thing.name=title")
    assert renamed.exit_code == 0, renamed.output
    assert "rename_field('thing', 'name', 'title'" in \
        (tmp_path / "migrations" / "fillshop" / "003_title.py").read_text()
    _models(models, MODELS_V1.replace("    day = store.DateField()\n", "")
            .replace("name = store.CharField", "label = store.CharField"))
    dropped = create("label", "--no-rename", "thing.title")
    assert dropped.exit_code == 0, dropped.output
    text = (tmp_path / "migrations" / "fillshop" / "004_label.py").read_text()
    assert "drop_field('thing', 'title'" in text and "add_field('thing', 'label'" in text
