"""The forecast app (seed 001) on SQLite and PostgreSQL: the seed's
verification checklist (tables, indexes, foreign keys enforced, CHECKs
enforced) read back from the live schema, defaults and JSON round trips, and
the JSON queries of ``store.apps.forecast.queries`` giving the same answers
as a Python reference on both backends."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

import store
from store.apps.forecast import (MODELS, ActualSales, Allocation, Archetype, Category,
                                 ExtractionConfidence, FashionTier, Forecast,
                                 ForecastClusterDistribution, HistoricalSales,
                                 LocationTier, Markdown, MarkdownStatus, Region,
                                 ReplenishmentStrategy, SeasonParameters, Store,
                                 StoreCluster, StoreFormat, WorkflowLog, WorkflowStatus)
from store.apps.forecast import queries
from store.introspect import read_schema

UTC = dt.timezone.utc
START = dt.date(2025, 3, 1)

# --- the seed's schema, as the checklist lists it --------------------------------------

SEED_INDEXES = {
    "historical_sales": {"idx_historical_sales_store_category": ("store_id", "category_id"),
                         "idx_historical_sales_date": ("week_start_date",)},
    "actual_sales": {"idx_actual_sales_forecast_week": ("forecast_id", "week_number")},
    "workflow_logs": {"idx_workflow_logs_workflow": ("workflow_id",)},
}

# table -> {fk name: (column, referenced table, referenced column)}
SEED_FKS = {
    "stores": {"fk_stores_cluster_id_store_clusters": ("cluster_id", "store_clusters", "cluster_id")},
    "season_parameters": {
        "fk_season_parameters_category_id_categories": ("category_id", "categories", "category_id")},
    "forecasts": {"fk_forecasts_category_id_categories": ("category_id", "categories", "category_id")},
    "forecast_cluster_distribution": {
        "fk_forecast_cluster_distribution_forecast_id_forecasts":
            ("forecast_id", "forecasts", "forecast_id"),
        "fk_forecast_cluster_distribution_cluster_id_store_clusters":
            ("cluster_id", "store_clusters", "cluster_id")},
    "allocations": {"fk_allocations_forecast_id_forecasts": ("forecast_id", "forecasts", "forecast_id")},
    "markdowns": {"fk_markdowns_forecast_id_forecasts": ("forecast_id", "forecasts", "forecast_id")},
    "historical_sales": {
        "fk_historical_sales_store_id_stores": ("store_id", "stores", "store_id"),
        "fk_historical_sales_category_id_categories": ("category_id", "categories", "category_id")},
    "actual_sales": {
        "fk_actual_sales_store_id_stores": ("store_id", "stores", "store_id"),
        "fk_actual_sales_forecast_id_forecasts": ("forecast_id", "forecasts", "forecast_id")},
}

SEED_CHECKS = {
    "categories": {"ck_categories_check_archetype"},
    "store_clusters": {"ck_store_clusters_check_fashion_tier"},
    "stores": {"ck_stores_check_location_tier", "ck_stores_check_store_format",
               "ck_stores_check_region"},
    "season_parameters": {
        "ck_season_parameters_replenishment_strategy_enum",
        "ck_season_parameters_extraction_confidence_enum",
        "ck_season_parameters_horizon_weeks", "ck_season_parameters_season_dates",
        "ck_season_parameters_dc_holdback_pct",
        "ck_season_parameters_markdown_checkpoint_week",
        "ck_season_parameters_markdown_threshold"},
    "forecasts": {"ck_forecasts_check_total_demand"},
    "forecast_cluster_distribution": {
        "ck_forecast_cluster_distribution_check_allocation_pct",
        "ck_forecast_cluster_distribution_check_total_units"},
    "allocations": {"ck_allocations_check_manufacturing_qty",
                    "ck_allocations_check_initial_allocation", "ck_allocations_check_holdback"},
    "markdowns": {"ck_markdowns_check_week_number", "ck_markdowns_check_sell_through",
                  "ck_markdowns_check_markdown_pct", "ck_markdowns_check_status"},
    "historical_sales": {"ck_historical_sales_check_units_sold"},
    "actual_sales": {"ck_actual_sales_check_week_number", "ck_actual_sales_check_units_sold"},
    "workflow_logs": {"ck_workflow_logs_check_status"},
}

JSON_COLUMNS = {"forecasts": ("weekly_demand_curve", "models_used"),
                "allocations": ("store_allocations",),
                "workflow_logs": ("input_data", "output_data")}


# --- one valid row per table; children point at the parents' rows -----------------------

def curve(*units):
    return [{"week_number": i + 1, "demand_units": u} for i, u in enumerate(units)]


BASE = {
    Category: dict(category_id="cat_1", category_name="Women's Dresses",
                   season_start_date=START, season_end_date=dt.date(2025, 5, 23),
                   season_length_weeks=12),
    StoreCluster: dict(cluster_id="fashion_forward", cluster_name="Fashion Forward",
                       fashion_tier=FashionTier.PREMIUM),
    Store: dict(store_id="S01", store_name="Fifth Avenue", cluster="fashion_forward",
                store_size_sqft=15000, location_tier=LocationTier.A, median_income=120000,
                store_format=StoreFormat.MALL, region=Region.NORTHEAST,
                avg_weekly_sales_12mo=1000.0),
    SeasonParameters: dict(parameter_id="p_1", category="cat_1", forecast_horizon_weeks=12,
                           season_start_date=START, season_end_date=dt.date(2025, 5, 23),
                           replenishment_strategy=ReplenishmentStrategy.WEEKLY,
                           dc_holdback_percentage=0.45, markdown_checkpoint_week=6,
                           markdown_threshold=0.60,
                           extraction_confidence=ExtractionConfidence.HIGH),
    Forecast: dict(forecast_id="f_1", category="cat_1", season="Spring 2025",
                   forecast_horizon_weeks=3, total_season_demand=1500,
                   weekly_demand_curve=curve(500, 600, 400), peak_week=2,
                   models_used=["prophet", "arima"]),
    ForecastClusterDistribution: dict(distribution_id="d_1", forecast="f_1",
                                      cluster="fashion_forward", allocation_percentage=0.4,
                                      total_units=600),
    Allocation: dict(allocation_id="a_1", forecast="f_1", manufacturing_qty=1800,
                     initial_allocation_total=990, holdback_total=810,
                     store_allocations=[{"store_id": "S01", "initial": 176, "holdback": 142}]),
    Markdown: dict(markdown_id="m_1", forecast="f_1", week_number=6, sell_through_pct=0.45,
                   gap_pct=0.15, recommended_markdown_pct=0.2),
    HistoricalSales: dict(sale_id="h_1", store="S01", category="cat_1",
                          week_start_date=dt.date(2024, 3, 4), units_sold=40),
    ActualSales: dict(actual_id="as_1", store="S01", forecast="f_1", week_number=1,
                      units_sold=35),
    WorkflowLog: dict(log_id="w_1", workflow_id="wf_1", agent_name="demand", action="forecast",
                      status=WorkflowStatus.STARTED),
}

_ids = itertools.count(2)


def new_row(model, **overrides):
    """Create a valid ``model`` row (fresh primary key) with ``overrides``."""
    data = dict(BASE[model])
    data[model._meta.primary_key.name] = f"{model._meta.table_name}_{next(_ids)}"
    data.update(overrides)
    return model.create(**data)


def with_parents(model):
    """``model`` and every table it references, parents first."""
    needed, todo = set(), [model]
    while todo:
        m = todo.pop()
        if m not in needed:
            needed.add(m)
            todo.extend(f.rel_model for f in m._meta.refs)
    return [m for m in MODELS if m in needed]


@pytest.fixture
def setup(tables):
    """``setup(Model, own=False)``: create ``Model``'s table and its
    parents' (with their BASE rows; ``own``: Model's BASE row too)."""
    def make(model, own=False):
        models = with_parents(model)
        tables(*models)
        for m in models if own else models[:-1]:
            m.create(**BASE[m])
        return model
    return make


@pytest.fixture
def app(tables):
    """All eleven tables, with the BASE row of each."""
    tables(*MODELS)
    for model in MODELS:
        model.create(**BASE[model])
    return MODELS


def raw_insert(db, table, columns, values):
    marks = ", ".join([db.param] * len(values))
    cols = f" ({', '.join(columns)})" if columns else ""
    db.execute_sql(f"INSERT INTO {table}{cols} VALUES ({marks})", values)


def count(db, table):
    return db.execute_sql(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


# --- 1. tables, indexes, foreign keys and checks exist -----------------------------------

def test_all_eleven_tables_with_seed_indexes_fks_and_checks(db, tables):
    tables(*MODELS)
    schema = read_schema(db)
    expected_tables = {m._meta.table_name for m in MODELS}
    assert len(expected_tables) == 11
    assert set(schema.names()) == expected_tables

    for name in expected_tables:
        table = schema.table(name)
        # exactly the seed's named indexes; foreign keys get none of their own
        assert {i.name: i.columns for i in table.indexes} == SEED_INDEXES.get(name, {}), name
        assert all(not i.unique for i in table.indexes)
        fks = {fk.name: (fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete)
               for fk in table.foreign_keys}
        assert fks == {n: ((c,), ref, (rc,), "NO ACTION")
                       for n, (c, ref, rc) in SEED_FKS.get(name, {}).items()}, name
        json_checks = {f"ck_{name}_{col}_json" for col in JSON_COLUMNS.get(name, ())}
        if db.features.name == "sqlite":          # PostgreSQL: the jsonb type refuses non-JSON
            assert {c.name for c in table.checks} == SEED_CHECKS[name] | json_checks, name
        else:
            assert {c.name for c in table.checks} == SEED_CHECKS[name], name
            for col in JSON_COLUMNS.get(name, ()):
                assert table.column(col).type == "jsonb"

    forecasts = schema.table("forecasts")
    assert forecasts.primary_key == ("forecast_id",)
    assert not forecasts.column("weekly_demand_curve").nullable
    assert not forecasts.column("models_used").nullable
    assert forecasts.column("prophet_forecast").nullable
    assert forecasts.column("created_at").nullable
    assert forecasts.column("created_at").default is not None      # server_default
    assert schema.table("workflow_logs").column("input_data").nullable
    assert not schema.table("allocations").column("store_allocations").nullable


# --- 2. foreign keys are enforced ----------------------------------------------------------

def test_seed_invalid_cluster_store_insert_fails(db, setup):
    """The seed's own check: ``INSERT INTO stores VALUES ('S99', ...,
    'invalid_cluster', ...)`` must fail; the same statement with a real
    cluster succeeds."""
    setup(Store)
    values = ["S99", "Test Store", "invalid_cluster", 5000, "A", 50000, "MALL", "WEST", 1000.0,
              "2025-10-19 12:00:00+00:00"]
    with pytest.raises(store.ForeignKeyViolation) as info:
        raw_insert(db, "stores", None, values)
    assert info.value.constraint == "fk_stores_cluster_id_store_clusters"
    assert info.value.table == "stores"
    assert count(db, "stores") == 0

    with pytest.raises(store.ForeignKeyViolation) as info:
        new_row(Store, cluster="invalid_cluster")
    assert info.value.constraint == "fk_stores_cluster_id_store_clusters"

    values[2] = BASE[StoreCluster]["cluster_id"]
    raw_insert(db, "stores", None, values)
    back = Store.get_by_id("S99")
    assert back.cluster.fashion_tier is FashionTier.PREMIUM
    assert back.created_at == dt.datetime(2025, 10, 19, 12, tzinfo=UTC)


def test_every_foreign_key_refuses_a_missing_parent(db, app):
    checked = 0
    for model in MODELS:
        for field in model._meta.refs:
            with pytest.raises(store.ForeignKeyViolation) as info:
                new_row(model, **{field.name: "missing"})
            table = model._meta.table_name
            assert info.value.table == table
            assert info.value.constraint == f"fk_{table}_{field.column_name}_" \
                                            f"{field.rel_model._meta.table_name}"
            assert info.value.constraint in SEED_FKS[table]
            new_row(model)                                   # the parent that exists: fine
            checked += 1
    assert checked == sum(len(v) for v in SEED_FKS.values())


def test_referenced_rows_cannot_be_deleted(db, app):
    """No ON DELETE in the seed ("MVP does not implement cascade deletes")."""
    with pytest.raises(store.ForeignKeyViolation) as info:   # referenced twice: either
        StoreCluster.delete_by_id(BASE[StoreCluster]["cluster_id"])
    assert info.value.constraint in {"fk_stores_cluster_id_store_clusters",
                                     "fk_forecast_cluster_distribution_cluster_id_store_clusters"}
    ForecastClusterDistribution.delete().execute()
    with pytest.raises(store.ForeignKeyViolation) as info:
        StoreCluster.delete_by_id(BASE[StoreCluster]["cluster_id"])
    assert info.value.constraint == "fk_stores_cluster_id_store_clusters"
    assert StoreCluster.select().count() == 1

    # a forecast with no children can go
    lone = new_row(Forecast)
    assert Forecast.delete_by_id(lone.forecast_id) == 1


# --- 3. CHECK constraints: bad values refused, boundary values accepted ---------------------

def later(days):
    return START + dt.timedelta(days=days)


# (model, constraint, accepted overrides, refused overrides). Each refused row breaks
# only the named CHECK: a row breaking two is reported by the first one checked, which
# is declaration order on SQLite and name order on PostgreSQL.
CHECKS = [
    (Forecast, "ck_forecasts_check_total_demand",
     [{"total_season_demand": 0}], [{"total_season_demand": -1}]),
    (ForecastClusterDistribution, "ck_forecast_cluster_distribution_check_allocation_pct",
     [{"allocation_percentage": 0.0}, {"allocation_percentage": 1.0}],
     [{"allocation_percentage": -0.001}, {"allocation_percentage": 1.001}]),
    (ForecastClusterDistribution, "ck_forecast_cluster_distribution_check_total_units",
     [{"total_units": 0}], [{"total_units": -1}]),
    (Allocation, "ck_allocations_check_manufacturing_qty",
     [{"manufacturing_qty": 0}], [{"manufacturing_qty": -1}]),
    (Allocation, "ck_allocations_check_initial_allocation",
     [{"initial_allocation_total": 0}], [{"initial_allocation_total": -1}]),
    (Allocation, "ck_allocations_check_holdback",
     [{"holdback_total": 0}], [{"holdback_total": -1}]),
    (Markdown, "ck_markdowns_check_week_number",
     [{"week_number": 1}, {"week_number": 12}], [{"week_number": 0}, {"week_number": 13}]),
    (Markdown, "ck_markdowns_check_sell_through",
     [{"sell_through_pct": 0.0}, {"sell_through_pct": 1.0}],
     [{"sell_through_pct": -0.001}, {"sell_through_pct": 1.001}]),
    (Markdown, "ck_markdowns_check_markdown_pct",
     [{"recommended_markdown_pct": 0.0}, {"recommended_markdown_pct": 0.40}],
     [{"recommended_markdown_pct": -0.001}, {"recommended_markdown_pct": 0.4000001}]),
    (HistoricalSales, "ck_historical_sales_check_units_sold",
     [{"units_sold": 0}], [{"units_sold": -1}]),
    (ActualSales, "ck_actual_sales_check_week_number",
     [{"week_number": 1}, {"week_number": 12}], [{"week_number": 0}, {"week_number": 13}]),
    (ActualSales, "ck_actual_sales_check_units_sold", [{"units_sold": 0}], [{"units_sold": -1}]),
    (SeasonParameters, "ck_season_parameters_horizon_weeks",
     [{"forecast_horizon_weeks": 1, "markdown_checkpoint_week": None}],
     [{"forecast_horizon_weeks": 0, "markdown_checkpoint_week": None}]),
    (SeasonParameters, "ck_season_parameters_season_dates",
     [{"season_start_date": START, "season_end_date": later(1)}],
     [{"season_start_date": START, "season_end_date": START},
      {"season_start_date": START, "season_end_date": later(-1)}]),
    (SeasonParameters, "ck_season_parameters_dc_holdback_pct",
     [{"dc_holdback_percentage": 0.0}, {"dc_holdback_percentage": 1.0}],
     [{"dc_holdback_percentage": -0.001}, {"dc_holdback_percentage": 1.001}]),
    (SeasonParameters, "ck_season_parameters_markdown_checkpoint_week",
     [{"markdown_checkpoint_week": None}, {"markdown_checkpoint_week": 1},
      {"forecast_horizon_weeks": 8, "markdown_checkpoint_week": 8}],
     [{"markdown_checkpoint_week": 0},
      {"forecast_horizon_weeks": 8, "markdown_checkpoint_week": 9}]),
    (SeasonParameters, "ck_season_parameters_markdown_threshold",
     [{"markdown_threshold": None}, {"markdown_threshold": 0.0}, {"markdown_threshold": 1.0}],
     [{"markdown_threshold": -0.001}, {"markdown_threshold": 1.001}]),
]


@pytest.mark.parametrize("model, constraint, good, bad", CHECKS, ids=[c[1] for c in CHECKS])
def test_check_refuses_bad_and_accepts_boundary(db, setup, model, constraint, good, bad):
    setup(model)
    table = model._meta.table_name
    assert constraint in SEED_CHECKS[table]
    for overrides in good:
        row = new_row(model, **overrides)
        back = model.get_by_id(row.get_id())
        for name, value in overrides.items():
            assert getattr(back, name) == value, (name, value)
    for overrides in bad:
        with pytest.raises(store.CheckViolation) as info:
            new_row(model, **overrides)
        assert info.value.constraint == constraint, overrides
        assert info.value.table == table
    assert model.select().count() == len(good)

    # the same rule on UPDATE of a good row
    with pytest.raises(store.CheckViolation) as info:
        model.update(bad[-1]).where(model._meta.primary_key == row.get_id()).execute()
    assert info.value.constraint == constraint
    back = model.get_by_id(row.get_id())
    assert all(getattr(back, k) == v for k, v in good[-1].items())


ENUMS = [
    (Category, "archetype", Archetype, "ck_categories_check_archetype"),
    (StoreCluster, "fashion_tier", FashionTier, "ck_store_clusters_check_fashion_tier"),
    (Store, "location_tier", LocationTier, "ck_stores_check_location_tier"),
    (Store, "store_format", StoreFormat, "ck_stores_check_store_format"),
    (Store, "region", Region, "ck_stores_check_region"),
    (Markdown, "status", MarkdownStatus, "ck_markdowns_check_status"),
    (WorkflowLog, "status", WorkflowStatus, "ck_workflow_logs_check_status"),
    (SeasonParameters, "replenishment_strategy", ReplenishmentStrategy,
     "ck_season_parameters_replenishment_strategy_enum"),
    (SeasonParameters, "extraction_confidence", ExtractionConfidence,
     "ck_season_parameters_extraction_confidence_enum"),
]


@pytest.mark.parametrize("model, column, enum_class, constraint", ENUMS,
                         ids=[e[3] for e in ENUMS])
def test_enum_check(db, setup, model, column, enum_class, constraint):
    setup(model)
    table = model._meta.table_name
    assert constraint in SEED_CHECKS[table]
    pk = model._meta.primary_key
    for member in enum_class:                   # every allowed value, as member or text
        row = new_row(model, **{column: member.value})
        assert getattr(model.get_by_id(row.get_id()), column) is member

    # the values differ from a valid one only by case: text, not case-folded
    wrong = next(iter(enum_class)).value
    wrong = wrong.lower() if wrong.lower() != wrong else wrong.upper()
    with pytest.raises(store.ValidationError) as info:   # the model refuses it first
        new_row(model, **{column: wrong})
    assert info.value.field == f"{table}.{column}"

    with pytest.raises(store.CheckViolation) as info:    # raw SQL: the database refuses it
        db.execute_sql(f"UPDATE {table} SET {column} = {db.param} WHERE {pk.column_name} = "
                       f"{db.param}", (wrong, row.get_id()))
    assert info.value.constraint == constraint
    assert info.value.table == table
    assert getattr(model.get_by_id(row.get_id()), column) is member


# --- 4. defaults, server defaults, JSON round trips -----------------------------------------

def test_defaults(db, app):
    assert "archetype" not in BASE[Category]
    assert Category.get_by_id("cat_1").archetype is Archetype.FASHION_RETAIL
    raw_insert(db, "categories", ("category_id", "category_name", "season_start_date",
                                  "season_end_date", "season_length_weeks", "archetype"),
               ("cat_raw", "Raw", "2025-03-01", "2025-05-23", 12, "CONTINUOUS"))
    assert Category.get_by_id("cat_raw").season_start_date == START

    f = Forecast.get_by_id("f_1")
    assert f.forecasting_method == "ensemble_prophet_arima"
    a = Allocation.get_by_id("a_1")
    assert a.safety_stock_percentage == 0.20
    m = Markdown.get_by_id("m_1")
    assert (m.target_sell_through_pct, m.elasticity_coefficient, m.status) == \
        (0.60, 2.0, MarkdownStatus.PENDING)
    assert m.expected_demand_lift_pct is None and m.reasoning is None
    for model in MODELS:                               # set by the model on insert, aware UTC
        created = model.get_by_id(BASE[model][model._meta.primary_key.name]).created_at
        assert created.tzinfo is not None and created.utcoffset() == dt.timedelta(0)


def test_created_at_server_default_for_raw_sql_rows(db, app):
    before = dt.datetime.now(UTC) - dt.timedelta(minutes=5)
    raw_insert(db, "workflow_logs", ("log_id", "workflow_id", "agent_name", "action", "status"),
               ("w_raw", "wf_raw", "inventory", "allocate", "completed"))
    row = WorkflowLog.get_by_id("w_raw")
    assert row.status is WorkflowStatus.COMPLETED
    assert row.input_data is None
    assert before < row.created_at < dt.datetime.now(UTC) + dt.timedelta(minutes=5)


def test_json_columns_round_trip(db, app):
    weekly = [{"week_number": w, "demand_units": u, "confidence": [u * 0.85, u * 1.15]}
              for w, u in enumerate([1320, 1100.5, 0], start=1)]
    new_row(Forecast, forecast_id="f_rt", weekly_demand_curve=weekly, models_used=[])
    got = Forecast.get_by_id("f_rt")
    assert got.weekly_demand_curve == weekly
    assert got.weekly_demand_curve[0]["demand_units"] == 1320
    assert got.models_used == []

    payload = {"parameters": {"horizon": 12, "holdback": 0.45, "strategy": None},
               "stores": ["S01", "S02"], "note": "Grüße ✓"}
    new_row(WorkflowLog, log_id="w_rt", input_data=payload, output_data=None,
            duration_seconds=1.25, status=WorkflowStatus.FAILED, error_message="timeout")
    log = WorkflowLog.get_by_id("w_rt")
    assert (log.input_data, log.output_data) == (payload, None)
    nulls = WorkflowLog.select().where(WorkflowLog.output_data.is_null())
    assert sorted(r.log_id for r in nulls) == ["w_1", "w_rt"]


# --- 5. JSON queries: same answer on both backends, numeric not textual ---------------------

# week-3 demand per forecast; text order differs from numeric order (9 vs 50 vs 100)
WEEK3 = {"f_9": 9, "f_100": 100, "f_50": 50, "f_50_5": 50.5, "f_short": None,
         "f_text": "900", "f_neg": -70, "f_big": 10 ** 12}


def _curve_with_week3(value):
    if value is None:
        return curve(1000, 1000)                         # only two weeks
    return [{"week_number": 1, "demand_units": 1000}, {"week_number": 2, "demand_units": 1000},
            {"week_number": 3, "demand_units": value}, {"week_number": 4, "demand_units": 1}]


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@pytest.fixture
def curves(db, setup):
    setup(Forecast, own=True)
    for fid, value in WEEK3.items():
        new_row(Forecast, forecast_id=fid, weekly_demand_curve=_curve_with_week3(value))
    return {"f_1": BASE[Forecast]["weekly_demand_curve"][2]["demand_units"], **WEEK3}


@pytest.mark.parametrize("threshold", [50, 10, 99.5, -100])
def test_forecasts_with_week_demand_above(curves, threshold):
    expected = sorted(f for f, v in curves.items() if _number(v) and v > threshold)
    textual = sorted(f for f, v in curves.items() if v is not None and str(v) > str(threshold))
    assert expected != textual                           # the data tells them apart
    got = [f.forecast_id for f in queries.forecasts_with_week_demand_above(3, threshold)]
    assert got == expected
    # week 1 is 1000 everywhere but f_1's 500: the index is the week, not off by one
    week1 = [f.forecast_id for f in queries.forecasts_with_week_demand_above(1, 999)]
    assert week1 == sorted(set(curves) - {"f_1"})


def test_week_demand_values(curves):
    assert queries.week_demand(3) == curves
    assert queries.week_demand(4) == {f: (None if v is None or f == "f_1" else 1)
                                      for f, v in curves.items()}
    assert set(queries.week_demand(40).values()) == {None}


def test_forecasts_using_model(db, setup):
    setup(Forecast, own=True)
    used = {"f_both": ["prophet", "arima"], "f_arima": ["arima"], "f_v2": ["prophet_v2"],
            "f_case": ["Prophet"], "f_none": [], "f_nested": [["prophet"]]}
    for fid, names in used.items():
        new_row(Forecast, forecast_id=fid, models_used=names)
    used["f_1"] = BASE[Forecast]["models_used"]
    for name in ("prophet", "arima", "Prophet", "ets"):
        expected = sorted(f for f, names in used.items() if name in names)
        got = [f.forecast_id for f in queries.forecasts_using_model(name)]
        assert got == expected, name
    assert [f.forecast_id for f in queries.forecasts_using_model("prophet")] == ["f_1", "f_both"]


def test_allocations_for_store(db, setup):
    setup(Allocation, own=True)
    entries = {"a_s1_s10": ["S1", "S10"], "a_s10": ["S10"], "a_lower": ["s1"], "a_empty": [],
               "a_s2": ["S2", "S1"]}
    for aid, ids in entries.items():
        new_row(Allocation, allocation_id=aid,
                store_allocations=[{"store_id": s, "initial": 100 + i, "holdback": 50}
                                   for i, s in enumerate(ids)])
    entries["a_1"] = [e["store_id"] for e in BASE[Allocation]["store_allocations"]]
    for store_id in ("S1", "S10", "S01", "S3"):
        expected = sorted(a for a, ids in entries.items() if store_id in ids)
        got = [a.allocation_id for a in queries.allocations_for_store(store_id)]
        assert got == expected, store_id
    assert [a.allocation_id for a in queries.allocations_for_store("S1")] == \
        ["a_s1_s10", "a_s2"]


def test_weekly_variance(db, app):
    stores = [BASE[Store]["store_id"], new_row(Store).store_id]
    sold = {(1, 0): 100, (1, 1): 20, (2, 0): 700, (5, 1): 3}     # (week, store): units
    ActualSales.delete().execute()
    for (week, s), units in sold.items():
        new_row(ActualSales, store=stores[s], week_number=week, units_sold=units)
    planned = {p["week_number"]: p["demand_units"] for p in BASE[Forecast]["weekly_demand_curve"]}
    actual = {}
    for (week, _s), units in sold.items():
        actual[week] = actual.get(week, 0) + units
    rows = queries.weekly_variance("f_1")
    assert [r.week for r in rows] == sorted(set(planned) | set(actual))
    for r in rows:
        assert (r.forecast_units, r.actual_units) == (planned.get(r.week), actual.get(r.week))
        if r.week in planned and r.week in actual:
            assert r.variance == actual[r.week] - planned[r.week]
        else:
            assert r.variance is None
    with pytest.raises(Forecast.DoesNotExist):
        queries.weekly_variance("nope")


@pytest.mark.parametrize("call, field", [
    (lambda: queries.forecasts_with_week_demand_above(0, 5), "forecasts.weekly_demand_curve"),
    (lambda: queries.forecasts_with_week_demand_above(True, 5), "forecasts.weekly_demand_curve"),
    (lambda: queries.forecasts_with_week_demand_above(3, "50"), "forecasts.weekly_demand_curve"),
    (lambda: queries.forecasts_with_week_demand_above(3, float("nan")),
     "forecasts.weekly_demand_curve"),
    (lambda: queries.week_demand(-1), "forecasts.weekly_demand_curve"),
    (lambda: queries.forecasts_using_model(["prophet"]), "forecasts.models_used"),
    (lambda: queries.allocations_for_store(1), "allocations.store_allocations"),
])
def test_query_arguments_are_checked(call, field):
    with pytest.raises(store.ValidationError) as info:
        call()
    assert info.value.field == field


def test_models_list_is_in_dependency_order():
    seen = set()
    for model in MODELS:
        assert all(f.rel_model in seen for f in model._meta.refs), model.__name__
        assert issubclass(model, store.Model) and not model._meta.abstract
        seen.add(model)
    assert len(seen) == 11
