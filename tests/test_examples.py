"""Every example script runs as it is, on both backends, and prints the same
results on both: the quickstart, one script per app, and the move of a
SQLite database to PostgreSQL. (The notebook: tests/test_notebook.py.)"""
import importlib.util
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import store
from store.migrate import load_app
from store.namespaces import base_table, qualified

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# What each app example must print, whatever the backend (results of its queries).
EXPECTED = {
    "forecast": [
        "F-DRESS     | SS26   |                1500 |         5 | [\"prophet\", \"arima\"]",
        "week 3 demand above 120 units: F-DRESS, F-KNIT",
        "week 3 demand per forecast: {'F-DENIM': 80, 'F-DRESS': 140, 'F-KNIT': 125}",
        "week 13 demand (past the curve): {'F-DENIM': None, 'F-DRESS': None, 'F-KNIT': None}",
        "forecasts made with exactly 'prophet': F-DRESS",
        "allocations for store S1: none",
        "allocations for store S10: A-DENIM",
        "   3 |            140 |          161 |       21",
        "   4 |            180 |         NULL |     NULL",
        "refused: forecasts.weekly_demand_curve: units must be a finite number, got '120'",
    ],
    "pricing": [
        "brand groups upserted: 3", "models upserted: 4", "the same upsert again changes 0 rows",
        "Levi's jeans base price: Decimal('45.00')",
        "Big E |        2.50 | 112.50 | [\"selvedge\", \"chain_stitching\"]",
        "average coefficient: Decimal('1.69'); base prices sum to Decimal('143.50')",
        "groups expected from the USA: Levi's, Patagonia",
        "first page of 2 by brand: Levi's, Nike (of 3)",
        "Nike sneakers repriced: <BrandGroup(brand='Nike', group='sneakers', base_price=64.99)>",
        "refused 4.99: ck_brand_groups_base_price",
        "refused a second 501: uq_models_brand_group_model",
    ],
    "backlog": [
        "message update-9001, delivery 1: added Dark mode",
        "message update-9001, delivery 2: already processed",
        "backlog     |        4", "unplanned |        2",
        "tg:4242 works on: Checkout revamp",
        "feature_updated | {\"status\": \"done\"}",
        "events from chat messages: 1; events in all: 8",
        "event_log is append-only: tr_event_log_append_only_delete",
        "project deleted: 0 features and 0 releases left (ON DELETE CASCADE), "
        "active project of tg:4242: None",
    ],
    "dental": [
        "C-2026-003  | high     | [\"urgent\", \"ortho\"]",
        "C-2026-003  | processing |        1 |       40",
        "C-2026-002  | pending    |        5 |        0",
        "C-2026-003.stl | uploaded  | iTero",
        "tooth        |        2 |             95",
        "2026-02-02 09:09:00+00:00 | data_access   | ana",
        "after soft-deleting C-2026-003: 1 open urgent case(s)",
        "refused progress 140: ck_jobs_progress_range",
        "refused deleting ana (her cases reference her): ForeignKeyViolation",
        "refused status 'paused': jobs.status: 'paused' is not one of 'pending', 'processing', "
        "'completed', 'failed', 'cancelled'",
    ],
    "inventory": [
        "B01  | Bench B01", "B02  | Bench B02", "(2 rows)",
        "B01-1 | TRAY-60 | LOT-0302 (60), LOT-0301 (48)",
        "BAS-GEN-S |       3 |     168",
        "organic products: BAS-GEN-L, BAS-GEN-S",
        "2026-03-16 13:30:00+00:00 | sale          |       12",
        "bin B01-1: 108 on the books, 104 estimated from the photo (difference -4); "
        "2 detections with confidence >= 0.8",
        "refused a transfer to the same bin: ck_stock_movements_transfer_bins",
        "refused a negative stock: ck_stock_batches_quantity_current_non_negative",
        "bins in all: 6, locations inside the whole site: 3",
    ],
}
NAMESPACED = ("dental", "inventory")


def run(script, *args, env=None, cwd):
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=environment)


@pytest.fixture
def clean_namespaces(db):
    """dental and inventory live in the PostgreSQL schemas of their names,
    outside the test's schema: drop them before and after."""
    def drop():
        if db.features.name == "postgresql":
            for ns in NAMESPACED:
                db.execute_sql(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')
    drop()
    yield
    drop()


def test_quickstart_runs_on_each_backend(backend_url, tmp_path):
    result = run("quickstart.py", backend_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 products, 1 in size M, total 29.90, refused by ck_product_price_positive" \
        in result.stdout


def test_quickstart_honours_database_url(backend_url, db, tmp_path):
    result = run("quickstart.py", env={"DATABASE_URL": backend_url}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 products" in result.stdout
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "test.db"])   # no quickstart.db
    assert not db.table_exists("product")                            # its own table, dropped


def test_quickstart_never_drops_a_table_it_did_not_create(backend_url, db, tmp_path):
    db.execute_sql("CREATE TABLE product (id INTEGER PRIMARY KEY, note TEXT)")
    db.execute_sql("INSERT INTO product (id, note) VALUES (1, 'mine')")
    result = run("quickstart.py", backend_url, cwd=tmp_path)
    assert result.returncode == 1
    assert "already has a table 'product'" in result.stderr
    assert db.execute_sql("SELECT note FROM product").fetchall() == [("mine",)]


@pytest.mark.parametrize("app", list(EXPECTED))
def test_app_example_prints_its_queries(app, db, backend_url, tmp_path, clean_namespaces):
    """On SQLite with no argument (a temporary file, removed afterwards); on
    PostgreSQL through DATABASE_URL. Nothing is left in the working directory."""
    env = {"DATABASE_URL": backend_url} if db.features.name == "postgresql" else {}
    work = tmp_path / "cwd"
    work.mkdir()
    result = run(f"{app}.py", env=env, cwd=work)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{app} on ") and first.endswith(f"({db.features.name}), migrated")
    lines = result.stdout.splitlines()
    missing = [line for line in EXPECTED[app] if line not in lines]
    assert missing == [], result.stdout
    assert list(work.iterdir()) == []
    if db.features.name == "postgresql":
        with store.open(backend_url, apps=[app]):
            assert any(m.select().exists() for m in load_app(app).models)   # rows are there


def test_app_example_refuses_a_database_with_rows(db, backend_url, tmp_path):
    url = backend_url
    assert run("pricing.py", url, cwd=tmp_path).returncode == 0
    again = run("pricing.py", url, cwd=tmp_path)
    assert again.returncode == 1
    assert ("pricing: table(s) brand_groups, models already hold rows; run this example on "
            "an empty database") in again.stderr
    count = db.execute_sql("SELECT count(*) FROM brand_groups").fetchone()[0]
    assert count == 3                                          # untouched


def test_move_sqlite_to_postgres(sqlite_url, pg_url, tmp_path, pg_database):
    """Three apps (one namespaced) filled by their examples on SQLite, moved
    by examples/move_to_postgres.py, arrive with every row; a second move
    into the now non-empty target is refused and changes nothing."""
    if importlib.util.find_spec("store.transfer") is None:
        pytest.skip("store.transfer (copy_database) is not there yet")
    target = store.connect(pg_url)
    try:
        for ns in NAMESPACED:
            target.execute_sql(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')
        for app in ("forecast", "backlog", "dental"):
            assert run(f"{app}.py", sqlite_url, cwd=tmp_path).returncode == 0
        moved = run("move_to_postgres.py", sqlite_url, pg_url, "--quiet", cwd=tmp_path)
        assert moved.returncode == 0, moved.stderr
        assert "moving forecast, backlog, dental:" in moved.stdout
        assert "dental.cases: 3 rows" in moved.stdout and "forecast.forecasts: 3 rows" in moved.stdout

        source = store.connect(sqlite_url)
        try:
            for app in ("forecast", "backlog", "dental"):
                ns = "dental" if app == "dental" else None
                for model in load_app(app).models:
                    table = base_table(model)
                    here = source.execute_sql(
                        f"SELECT count(*) FROM {qualified(source, ns, table)}").fetchone()[0]
                    there = target.execute_sql(
                        f"SELECT count(*) FROM {qualified(target, ns, table)}").fetchone()[0]
                    assert here == there, table
        finally:
            source.close()
        total = sum(int(line.split(": ")[1].split()[0]) for line in moved.stdout.splitlines()
                    if line.count(".") == 1 and " rows, checksum " in line)
        assert f"moved {total} rows in 24 tables" in moved.stdout and total > 40

        again = run("move_to_postgres.py", sqlite_url, pg_url, "--quiet", cwd=tmp_path)
        assert again.returncode == 1 and "target is not empty" in again.stderr
        assert target.execute_sql('SELECT count(*) FROM dental."cases"').fetchone()[0] == 3
    finally:
        for ns in NAMESPACED:
            target.execute_sql(f'DROP SCHEMA IF EXISTS "{ns}" CASCADE')
        target.close()


def test_move_refuses_what_it_cannot_move(sqlite_url, tmp_path):
    pg = "postgresql://nobody@127.0.0.1:1/none"                # never reached
    wrong = run("move_to_postgres.py", sqlite_url, sqlite_url, cwd=tmp_path)
    assert wrong.returncode == 1 and "the target must be a PostgreSQL URL" in wrong.stderr
    missing = run("move_to_postgres.py", sqlite_url, pg, cwd=tmp_path)
    assert missing.returncode == 1 and "test.db: no such SQLite file" in missing.stderr
    assert not (tmp_path / "test.db").exists()                  # not created by the look
    sqlite3.connect(tmp_path / "test.db").close()
    empty = run("move_to_postgres.py", sqlite_url, pg, cwd=tmp_path)
    assert empty.returncode == 1 and "no app's migration history found" in empty.stderr


def test_examples_are_all_tested():
    scripts = {p.stem for p in EXAMPLES.glob("*.py")} - {"common"}
    assert scripts == set(EXPECTED) | {"quickstart", "move_to_postgres"}
    assert (EXAMPLES / "forecast.ipynb").is_file()
