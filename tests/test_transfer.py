"""Moving data (store.transfer, `copy`/`dump`/`load`) on real databases.

The ``db`` fixture is the source (SQLite or PostgreSQL) and the target is
the other backend, so both directions run; dump/load round trips run on the
same backend and across. Namespaced apps (dental, inventory) get a unique
namespace per test (``dataclasses.replace``), dropped at the end on
PostgreSQL.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib.util
import json
import shutil
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

import store
from store import migrate as runner
from store.cli import main
from store.introspect import read_schema
from store.migrate import App, load_apps
from store.namespaces import base_table, base_tables, bind_app, legacy_path
from store.progress import Progress
from store.project import SEED_APPS
from store.transfer import (ChecksumMismatch, DumpFileError, TransferError, copy_database,
                            dump_database, load_database)

ROOT = Path(__file__).resolve().parents[1]
APP_NAMES = list(SEED_APPS)      # never this repository's setup.cfg list


# --- fixtures ------------------------------------------------------------------------

@pytest.fixture
def other_url(db, request):
    """A URL on the other backend than ``db`` (the target of a copy)."""
    if db.features.name == "sqlite":
        return request.getfixturevalue("pg_url")
    return request.getfixturevalue("sqlite_url")


@pytest.fixture
def namespaces(pg_database):
    """``rename(apps)``: the apps with unique namespaces (dropped at the end)."""
    made = []

    def rename(apps):
        out = []
        for app in apps:
            if app.namespace:
                app = dataclasses.replace(app, namespace=f"{app.namespace}_{uuid.uuid4().hex[:8]}")
                made.append(app.namespace)
            out.append(app)
        return out
    yield rename
    with psycopg.connect(pg_database, autocommit=True) as conn:
        for ns in made:
            conn.execute(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')


@pytest.fixture
def apps(namespaces):
    return namespaces(load_apps(APP_NAMES, root=ROOT / "migrations"))


@pytest.fixture(autouse=True)
def keep_bindings():
    """Give the app models their database and schema back after each test
    (the tests bind them in per-test namespaces)."""
    models = [m for app in load_apps(APP_NAMES, root=ROOT / "migrations") for m in app.models]
    saved = [(m, m._meta.database, m._meta.schema) for m in models]
    yield
    for model, database, schema in saved:
        model._meta.schema = schema
        model.bind(database, bind_refs=False, bind_backrefs=False)


def pick(apps, *names):
    """The apps named, in the order named."""
    by_name = {a.name: a for a in apps}
    return [by_name[n] for n in names]


@pytest.fixture
def target(other_url):
    database = store.connect(other_url)
    yield database
    database.close()


# --- seed data: a few rows in every table, with every kind of value ------------------------

@functools.cache
def helpers(name):
    """The app's own test helpers (tests/apps/test_app_<name>.py)."""
    path = ROOT / "tests" / "apps" / f"test_app_{name}.py"
    spec = importlib.util.spec_from_file_location(f"_transfer_helpers_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed_forecast():
    h = helpers("forecast")
    for model in h.MODELS:
        model.create(**h.BASE[model])
    h.new_row(h.Forecast, weekly_demand_curve=h.curve(1, 2.5, 1e16), models_used=[])


def seed_pricing():
    from store.apps.pricing import BrandGroup, ProductModel
    BrandGroup.create(brand="Levi's", group_name="jeans", base_price=Decimal("45.00"),
                      expected_origins=["USA", "Mexico"], expected_decades=[1970, 1980],
                      condition_sensitivity=Decimal("1.25"))
    BrandGroup.create(brand="Zara", group_name="dresses", base_price=Decimal("5.05"))
    ProductModel.create(brand="Levi's", group_name="jeans", model="501",
                        coefficient=Decimal("2.35"), expected_features={"fit": "straight"})
    ProductModel.create(brand="Levi's", group_name="jeans", model="505")


def seed_backlog():
    from store.apps.backlog import (EventLog, Feature, ProcessedMessage, Project, Release,
                                    UserContext)
    one = Project.create(name="Bot", description="Telegram ✓")
    two = Project.create(name="Web")
    release = Release.create(project=one, version="1.0", target_date=dt.date(2025, 6, 1))
    Feature.create(project=one, name="Login", release=release)
    Feature.create(project=one, name="Search")
    Feature.create(project=two, name="Export", status="done")
    EventLog.create(user_id="42", action="create", entity_type="project", entity_id=one.id,
                    details={"big": 1e16, "nested": {"b": [1, None, True], "a": 0.1}})
    EventLog.create(user_id="42", action="plan", entity_type="feature", entity_id=1,
                    timestamp=dt.datetime(2024, 2, 29, 23, 59, 59, 999999,
                                          tzinfo=dt.timezone(dt.timedelta(hours=5))))
    UserContext.create(user_id="42", active_project=one)
    ProcessedMessage.create(message_id="msg-1")
    ProcessedMessage.create(message_id="MSG-2")


def seed_dental():
    h = helpers("dental")
    from store.apps.dental import (AuditLog, Case, File, FileStatus, Job, MLModel, Segment,
                                   User, UserRole)
    user = User.create(**h.user_data(role=UserRole.ADMIN, user_metadata={"langs": ["pt"]}))
    case = Case.create(**h.case_data(user, tags=["urgent", "crown"]))
    file = File.create(**h.file_data(case, user, status=FileStatus.PROCESSED))
    job = Job.create(**h.job_data(case, user, file=file))
    Segment.create(**h.segment_data(case, file, created_by_job=job, properties={"fdi": 11}))
    MLModel.create(**h.model_data(case=case, hyperparameters={"lr": 0.001}))
    AuditLog.create(**h.audit_data(user=user, details={"ip": "10.0.0.1"}))


def seed_inventory(db):
    h = helpers("inventory")
    from store.partitions import create_partitions
    for model in h.PARTITIONED:
        create_partitions(db, model, h.DAY, 2)
    world = h.World()
    for model in (h.Detection, h.Estimation, h.StockMovement, h.StorageLocationConfig,
                  h.PriceList):
        world.make(model)


def seed(db, apps):
    """Migrate ``apps`` on ``db`` and put rows in every table."""
    runner.migrate(db, apps)
    for app in apps:
        bind_app(db, app)
        if app.name == "inventory":
            seed_inventory(db)
        else:
            globals()[f"seed_{app.name}"]()


def rows(db, app):
    """{table: {primary key: row tuple}} of ``app`` on ``db`` (Python values)."""
    bind_app(db, app)
    out = {}
    for model in app.models:
        pk = model._meta.primary_key
        out[base_table(model)] = {
            r[0]: r for r in model.select(pk, *[f for f in model._meta.sorted_fields
                                                 if f is not pk]).tuples()}
    return out


def leftovers(db, apps):
    """What the apps could have left on ``db``: tables and namespaces."""
    if db.features.name == "sqlite":
        found = db.execute_sql("SELECT type, name FROM sqlite_master").fetchall()
        files = [a.namespace for a in apps
                 if a.namespace and Path(legacy_path(db, a.namespace)).exists()]
        return sorted(found), files
    found = db.execute_sql(
        "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema()").fetchall()
    schemas = db.execute_sql("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
                             ([a.namespace for a in apps if a.namespace],)).fetchall()
    return sorted(found), sorted(schemas)


class FakeTTY:
    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, text):
        self.text += text

    def flush(self):
        pass


# --- copy ---------------------------------------------------------------------------------

def test_copy_every_app_across_backends(db, target, apps, tmp_path):
    seed(db, apps)
    expected = {app.name: rows(db, app) for app in apps}
    screen = FakeTTY()
    report = copy_database(db, target, apps, batch_size=2, progress=Progress(screen))

    every_table = {f"{a.name}.{t}" for a in apps for t in base_tables(a)}
    assert {f"{t.app}.{t.table}" for t in report.tables} == every_table
    assert all(t.rows > 0 for t in report.tables), "seed a row in every table"
    assert set(report.migrated) == {a.name for a in apps}          # target was empty
    for app in apps:
        assert rows(target, app) == expected[app.name], app.name   # Python values, parity
    assert "backlog.features  [####################]  100%  3/3 rows" in screen.text

    # each side's checksums, computed separately (by a dump of each), are equal
    sums = [[(t.table, t.rows, t.checksum) for t in dump_database(side, apps, tmp_path / name)
             .tables] for side, name in ((db, "source"), (target, "target"))]
    assert sums[0] == sums[1] == [(t.table, t.rows, t.checksum) for t in report.tables]

    # sequences continue after the copied ids (PostgreSQL: restarted)
    from store.apps.backlog import Project
    from store.apps.inventory import StockMovement, Warehouse
    for app in pick(apps, "backlog", "inventory"):
        bind_app(target, app)
    assert Project.create(name="After").id == max(expected["backlog"]["projects"]) + 1
    assert Warehouse.create(code="W-new", name="New").id == \
        max(expected["inventory"]["warehouses"]) + 1
    if target.features.name == "postgresql":
        assert report.sequences and any("stock_movements" in s for s in report.sequences)
        assert any(p.startswith("detections_p") for p in report.partitions)
    assert StockMovement.select().count() == len(expected["inventory"]["stock_movements"])


def test_copy_refuses_a_non_empty_target_and_truncate_replaces(db, target, apps):
    chosen = backlog, pricing = pick(apps, "backlog", "pricing")
    seed(db, chosen)
    copy_database(db, target, chosen)
    before = {app.name: rows(target, app) for app in chosen}

    with pytest.raises(TransferError, match=r"target is not empty: .*backlog\.projects.*"
                                            r"--truncate"):
        copy_database(db, target, chosen)
    assert {app.name: rows(target, app) for app in chosen} == before

    from store.apps.backlog import EventLog, Project
    from store.apps.pricing import BrandGroup
    bind_app(db, backlog)
    Project.update(description="edited").where(Project.name == "Web").execute()
    EventLog.create(user_id="7", action="late", entity_type="project", entity_id=2)
    bind_app(target, backlog)
    Project.create(name="Only in target")
    bind_app(target, pricing)
    BrandGroup.delete().execute()

    report = copy_database(db, target, chosen, truncate=True)
    assert "backlog.event_log" in report.truncated and "pricing.brand_groups" \
        not in report.truncated
    for app in chosen:
        assert rows(target, app) == rows(db, app)
    bind_app(target, backlog)
    assert EventLog.select().count() == 3
    # the append-only guard was re-created after the delete
    with pytest.raises(store.AppendOnlyViolation) as info:
        EventLog.delete().execute()
    assert info.value.table == "event_log"


def _constraint_on_target(target):
    target.execute_sql('CREATE UNIQUE INDEX "uq_test_features_status" ON "features" ("status")')


def _trigger_on_target(target):
    if target.features.name == "sqlite":
        target.execute_sql(
            'CREATE TRIGGER "tr_test_alter" AFTER INSERT ON "projects" BEGIN '
            'UPDATE "projects" SET "description" = \'changed\' WHERE "id" = NEW."id"; END')
    else:
        target.execute_sql(
            "CREATE FUNCTION test_alter() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN NEW.description := 'changed'; RETURN NEW; END $$")
        target.execute_sql('CREATE TRIGGER "tr_test_alter" BEFORE INSERT ON "projects" '
                           'FOR EACH ROW EXECUTE FUNCTION test_alter()')


@pytest.mark.parametrize("sabotage, error, message", [
    (_constraint_on_target, TransferError,
     r"backlog\.features row id=\d+: UNIQUE constraint uq_test_features_status violated"),
    (_trigger_on_target, ChecksumMismatch,
     r"backlog\.projects: the values read back from the target differ"),
])
def test_a_failure_midway_leaves_the_target_unchanged(db, target, apps, sabotage, error,
                                                      message):
    chosen = pick(apps, "pricing", "backlog")
    seed(db, chosen)
    runner.migrate(target, chosen)
    sabotage(target)
    schema = read_schema(target)
    with pytest.raises(error, match=message):
        copy_database(db, target, chosen, batch_size=1)
    assert read_schema(target) == schema
    for app in chosen:
        assert all(not table for table in rows(target, app).values()), app.name


def test_interrupted_copy_into_a_fresh_target_leaves_nothing(db, target, apps):
    chosen = pick(apps, "backlog", "dental")
    seed(db, chosen)
    before = leftovers(target, chosen)

    class Interrupt:
        calls = 0

        def start(self, label, total=None):
            pass

        def advance(self, n=1):
            Interrupt.calls += 1
            if Interrupt.calls == 3:
                raise KeyboardInterrupt

        def finish(self):
            pass

    with pytest.raises(KeyboardInterrupt):
        copy_database(db, target, chosen, batch_size=1, progress=Interrupt())
    assert leftovers(target, chosen) == before       # no table, history or namespace
    report = copy_database(db, target, chosen)       # and a new copy still works
    assert report.rows == sum(len(r) for app in chosen for r in rows(db, app).values())


def test_source_and_target_schemas_must_match(db, target, apps):
    (backlog, pricing) = pick(apps, "backlog", "pricing")
    seed(db, [backlog])
    with pytest.raises(TransferError, match=r"source is behind the migrations: app pricing "
                                            r"has 2 pending \(001_initial, 002_decimal_storage\)"):
        copy_database(db, target, [backlog, pricing])
    assert leftovers(target, [backlog, pricing]) == ([], [])       # nothing migrated

    runner.migrate(db, [pricing])
    db.execute_sql("INSERT INTO pricing_migrate_history (name, checksum, migrated_at) "
                   "VALUES ('002_future', NULL, CURRENT_TIMESTAMP)")
    with pytest.raises(TransferError, match=r"source is ahead of the migrations: app pricing "
                                            r"has applied 002_future"):
        copy_database(db, target, [pricing])
    db.execute_sql("DELETE FROM pricing_migrate_history WHERE name = '002_future'")

    runner.migrate(target, [pricing])
    target.execute_sql('ALTER TABLE "models" ADD COLUMN "colour" TEXT')
    with pytest.raises(TransferError, match=r"target: app pricing does not match its models"
                                            r".*models: columns not in the models: colour"):
        copy_database(db, target, [pricing])
    with pytest.raises(TransferError, match="same tables"):
        copy_database(db, db, [pricing])


# --- a self-referencing table, whose rows point forward ------------------------------------

class Node(store.Model):
    name = store.CharField(max_length=20)
    parent = store.ForeignKeyField("self", null=True, backref="children")

    class Meta:
        table_name = "xfer_nodes"


class Leaf(store.Model):
    node = store.ForeignKeyField(Node, backref="leaves")
    weight = store.DecimalField(6, 3)

    class Meta:
        table_name = "xfer_leaves"


MIGRATION = '''"""001_initial: the test tree app."""
import store


class Node(store.Model):
    name = store.CharField(max_length=20)
    parent = store.ForeignKeyField("self", null=True)

    class Meta:
        table_name = "xfer_nodes"


class Leaf(store.Model):
    node = store.ForeignKeyField(Node)
    weight = store.DecimalField(6, 3)

    class Meta:
        table_name = "xfer_leaves"


def migrate(migrator, database, fake=False):
    migrator.create_table(Node)
    migrator.create_table(Leaf)


def rollback(migrator, database, fake=False):
    migrator.drop_table(Leaf)
    migrator.drop_table(Node)
'''


def test_self_references_to_later_rows_and_fk_order(db, target, tmp_path):
    folder = tmp_path / "migrations" / "tree"
    folder.mkdir(parents=True)
    (folder / "001_initial.py").write_text(MIGRATION)
    tree = App("tree", [Leaf, Node], folder)            # children listed first on purpose
    runner.migrate(db, [tree])
    bind_app(db, tree)
    ids = [Node.create(name=f"n{i}").id for i in range(5)]
    Node.update(parent=ids[4]).where(Node.id == ids[0]).execute()   # a row pointing forward
    Node.update(parent=ids[0]).where(Node.id.in_(ids[1:3])).execute()
    Node.update(parent=ids[3]).where(Node.id == ids[3]).execute()   # itself
    Leaf.create(node=ids[0], weight=Decimal("1.125"))
    expected = rows(db, tree)

    report = copy_database(db, target, [tree], batch_size=2)
    assert rows(target, tree) == expected
    assert [t.table for t in report.tables] == ["xfer_nodes", "xfer_leaves"]
    bind_app(target, tree)
    assert Node.create(name="new").id == max(ids) + 1


# --- dump and load ---------------------------------------------------------------------------

def _texts(directory):
    return {p.relative_to(directory).as_posix(): p.read_text()
            for p in sorted(directory.rglob("*.jsonl"))}


def test_dump_load_round_trip_on_the_same_backend_and_across(db, fresh_url, other_url, apps,
                                                            namespaces, tmp_path):
    seed(db, apps)
    dumped = dump_database(db, apps, tmp_path / "dump", batch_size=3)
    files = _texts(tmp_path / "dump")
    assert len(files) == sum(len(a.tables) for a in apps)
    manifest = json.loads((tmp_path / "dump" / "manifest.json").read_text())
    assert manifest["apps"]["backlog"]["head"] == "001_initial"
    line = json.loads(files["backlog/event_log.jsonl"].splitlines()[1])
    assert line["timestamp"] == "2024-02-29T18:59:59.999999+00:00"        # aware, UTC
    line = json.loads(files["pricing/brand_groups.jsonl"].splitlines()[0])
    assert line["base_price"] == "45.00" and line["expected_decades"] == [1970, 1980]
    line = json.loads(files["dental/users.jsonl"].splitlines()[0])
    assert str(uuid.UUID(line["id"])) == line["id"] and line["role"] == "admin"

    expected = {app.name: rows(db, app) for app in apps}
    for url in (fresh_url, other_url):
        into = store.connect(url)
        try:
            moved = namespaces(apps)                 # same database: other namespaces
            report = load_database(into, moved, tmp_path / "dump", batch_size=2)
            assert [(t.table, t.rows, t.checksum) for t in report.tables] == \
                [(t.table, t.rows, t.checksum) for t in dumped.tables]
            for app in moved:
                assert rows(into, app) == expected[app.name], (url, app.name)
            again = tmp_path / f"again-{into.features.name}-{url == fresh_url}"
            dump_database(into, moved, again)
            if url == fresh_url:                     # same backend: identical files
                assert _texts(again) == files
            from store.apps.backlog import Project
            bind_app(into, pick(moved, "backlog")[0])
            assert Project.create(name="After load").id == \
                max(expected["backlog"]["projects"]) + 1
        finally:
            into.close()


def _edit(path, number, change):
    lines = path.read_text().splitlines()
    lines[number - 1] = change(lines[number - 1])
    path.write_text("\n".join(lines) + "\n")


def _set(column, value):
    def change(text):
        row = json.loads(text)
        row[column] = value
        return json.dumps(row)
    return change


BAD_FILES = {
    "unknown-column": ("backlog/features.jsonl", 2, _set("colour", "red"),
                       r"features\.jsonl:2: column 'colour': unknown column"),
    "bad-decimal": ("pricing/brand_groups.jsonl", 2, _set("base_price", "12,30"),
                    r"brand_groups\.jsonl:2: column 'base_price': '12,30' is not a decimal"),
    "float-decimal": ("pricing/brand_groups.jsonl", 1, _set("base_price", 12.3),
                      r"brand_groups\.jsonl:1: column 'base_price': 12\.3 is not a decimal "
                      r"as a string"),
    "check": ("pricing/models.jsonl", 1, _set("coefficient", "9.99"),
              r"models\.jsonl:1: CHECK constraint ck_models_coefficient violated"),
    "foreign-key": ("backlog/features.jsonl", 3, _set("project_id", 999),
                    r"features\.jsonl:3: FOREIGN KEY constraint "
                    r"fk_features_project_id_projects violated"),
    "naive-time": ("backlog/event_log.jsonl", 1, _set("timestamp", "2024-01-01T00:00:00"),
                   r"event_log\.jsonl:1: column 'timestamp': .*no UTC offset"),
    "not-json": ("backlog/projects.jsonl", 2, lambda text: text[:-3],
                 r"projects\.jsonl:2: not JSON"),
    "too-long": ("backlog/projects.jsonl", 1, _set("status", "x" * 51),
                 r"projects\.jsonl:1: column 'status': 51 characters exceed max_length=50"),
    "null": ("backlog/projects.jsonl", 1, _set("name", None),
             r"projects\.jsonl:1: column 'name': null in a NOT NULL column"),
    "edited": ("backlog/projects.jsonl", 1, _set("name", "Renamed"),
               r"projects\.jsonl: holds 2 rows .* the file changed after the dump"),
}


def test_load_refuses_a_file_that_does_not_match(db, fresh_url, apps, tmp_path):
    """Each bad file is an error naming the file, line and column, with
    nothing written: the first on a fresh target (not even left migrated),
    the others on a migrated, empty one (its tables stay empty)."""
    chosen = pick(apps, "backlog", "pricing")
    seed(db, chosen)
    dump_database(db, chosen, tmp_path / "dump")
    into = store.connect(fresh_url)
    try:
        fresh = leftovers(into, chosen)
        for i, (case, (relative, number, change, message)) in enumerate(BAD_FILES.items()):
            bad = tmp_path / case
            shutil.copytree(tmp_path / "dump", bad)
            _edit(bad / relative, number, change)
            with pytest.raises(DumpFileError, match=message) as info:
                load_database(into, chosen, bad, batch_size=2)
            assert info.value.path.endswith(relative), case
            assert info.value.line == (None if case == "edited" else number), case
            if i == 0:
                assert leftovers(into, chosen) == fresh, case
                runner.migrate(into, chosen)
            for app in chosen:
                assert not any(rows(into, app).values()), case
        report = load_database(into, chosen, tmp_path / "dump", batch_size=2)   # the good one
        assert report.rows == 15 and not report.migrated
    finally:
        into.close()


def test_dump_and_load_refusals(db, fresh_url, apps, tmp_path):
    (backlog,) = pick(apps, "backlog")
    seed(db, [backlog])
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "note.txt").write_text("x")
    with pytest.raises(TransferError, match="not an empty directory"):
        dump_database(db, [backlog], tmp_path / "full")
    dump_database(db, [backlog], tmp_path / "dump")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no scratch left
    with pytest.raises(TransferError, match="holds no app 'pricing'"):
        load_database(db, pick(apps, "pricing"), tmp_path / "dump")
    with pytest.raises(DumpFileError, match="manifest.json: not found"):
        load_database(db, [backlog], tmp_path)
    with pytest.raises(TransferError, match="target is not empty"):
        load_database(db, [backlog], tmp_path / "dump")
    report = load_database(db, [backlog], tmp_path / "dump", truncate=True)
    assert report.truncated and report.rows == 11


# --- the CLI --------------------------------------------------------------------------------

def test_cli_copy_dump_load(db, backend_url, other_url, fresh_url, tmp_path, monkeypatch):
    project = tmp_path / "project"                 # a project of the seed apps, not ROOT
    project.mkdir()
    (project / "setup.cfg").write_text(f"[store]\napps = {' '.join(SEED_APPS)}\n")
    monkeypatch.chdir(project)
    runner_ = CliRunner()

    def cli(*args):
        result = runner_.invoke(main, list(args))
        return result.exit_code, result.output

    seed(db, load_apps(["backlog", "pricing"]))
    code, out = cli("copy", backend_url, other_url, "--app", "backlog", "--app", "pricing",
                    "--batch-size", "2", "--quiet")
    assert code == 0, out
    assert f"copy: {db.url.masked()} -> " in out
    assert "backlog.features" in out and "copied 15 rows in 8 tables of 2 apps" in out
    code, out = cli("copy", backend_url, other_url, "--app", "backlog")
    assert code == 1 and "target is not empty" in out and "--truncate" in out
    code, out = cli("copy", backend_url, other_url, "--app", "backlog", "--truncate")
    assert code == 0 and "target: emptied backlog.projects" in out, out

    code, out = cli("-d", other_url, "dump", "--app", "backlog", str(tmp_path / "d"))
    assert code == 0 and "dumped 11 rows" in out, out
    code, out = cli("-d", fresh_url, "load", str(tmp_path / "d"))     # the dump's apps
    assert code == 0 and "loaded 11 rows in 6 tables of 1 app" in out, out
    _edit(tmp_path / "d" / "backlog" / "features.jsonl", 2, _set("colour", "red"))
    code, out = cli("-d", fresh_url, "load", str(tmp_path / "d"), "--truncate")
    assert code == 1 and "features.jsonl:2: column 'colour': unknown column" in out, out

    secret = "postgresql://postgres:s3cret@127.0.0.1:1/nowhere"
    code, out = cli("copy", backend_url, secret, "--app", "backlog")
    assert code == 1 and "s3cret" not in out and "postgres:***@127.0.0.1:1" in out, out
    code, out = cli("copy", backend_url, other_url, "--app", "nope")
    assert code == 2 and "unknown app 'nope'" in out
