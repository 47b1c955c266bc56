"""examples/forecast.ipynb runs headless on both backends, twice in the same
kernel (re-running every cell, as one does in Jupyter), with the database
URL given through DATABASE_URL: no error, a query shown as an HTML table, a
DataFrame, a figure, and one open connection after the second run."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "forecast.ipynb"


def pg_connections(db, name, expect):
    """Open connections named ``name``, waiting (up to 2 s) for ``expect``:
    a closed one can linger a moment in pg_stat_activity."""
    deadline = time.monotonic() + 2
    while True:
        count = db.execute_sql("SELECT count(*) FROM pg_stat_activity "
                               "WHERE application_name = %s", (name,)).fetchone()[0]
        if count == expect or time.monotonic() > deadline:
            return count
        time.sleep(0.01)


def outputs(cell, kind):
    return [o["data"][kind] for o in cell.outputs if kind in o.get("data", {})]


def text(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")


def test_forecast_notebook_runs_twice_in_one_kernel(db, backend_url, tmp_path, monkeypatch):
    name = "store_nb_" + uuid.uuid4().hex[:8]
    url = backend_url
    if db.features.name == "postgresql":
        url += ("&" if "?" in url else "?") + f"application_name={name}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("MPLBACKEND", "Agg")                  # headless: no display needed
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel():
        for run in (1, 2):
            for index, cell in enumerate(nb.cells):
                if cell is code[-1]:                          # db.close(): after the 2nd run
                    continue
                client.execute_cell(cell, index)
            if db.features.name == "postgresql":
                open_now = pg_connections(db, name, expect=1)
                assert open_now == 1, f"run {run}: {open_now} connections open"
        client.execute_cell(code[-1], nb.cells.index(code[-1]))

    errors = [o for c in code for o in c.outputs if o["output_type"] == "error"]
    assert errors == []
    assert outputs(code[0], "text/plain")[0].startswith(
        "<SqliteStore" if db.features.name == "sqlite" else "<PostgresStore")
    assert text(code[1]) == "4 forecasts inserted\n"
    table = outputs(code[2], "text/html")[0]                  # a bare query: an HTML table
    assert table.startswith('<table class="store-table"><caption>forecasts — 4 rows')
    assert "<td>NB-PARKA</td>" in table and "[&quot;prophet&quot;, &quot;arima&quot;]" in table
    assert "NB-PARKA    |         6 |          400\n(1 row)" in outputs(code[3], "text/plain")[0]
    assert "weekly_demand_curve    object" in outputs(code[4], "text/plain")[0]
    figure = outputs(code[6], "image/png") or outputs(code[6], "text/plain")
    assert figure and (outputs(code[6], "image/png") or "1 Axes" in figure[0])
    assert text(code[7]) == ("NB-PARKA: 878 sold in weeks 1-4 against 756 forecast (+122 units)\n"
                             "peak weeks: {'NB-FLEECE': 5, 'NB-PARKA': 6, 'NB-PUFFER': 9, "
                             "'NB-TRENCH': 3}\n")
    if db.features.name == "postgresql":
        assert pg_connections(db, name, expect=0) == 0
    # the second run replaced the demo rows instead of adding to them
    assert db.execute_sql("SELECT count(*) FROM forecasts").fetchone()[0] == 4
    assert db.execute_sql("SELECT count(*) FROM actual_sales").fetchone()[0] == 12
