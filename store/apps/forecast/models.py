"""The eleven tables of the ``forecast`` app (seed 001), as store models.

Column names, nullability, Python defaults, CHECK rules, foreign keys and
the four named indexes are the seed's; the per-backend storage of each field
is store's (see ``store.fields``):

* ``String`` ids and names -> ``TextField`` (TEXT on both: the seed gives no
  length, so none is invented); ``Float`` -> ``DoubleField`` (8-byte REAL on
  SQLite, ``double precision`` on PostgreSQL, as SQLAlchemy's ``Float``);
  ``JSON`` -> ``JSONField`` (JSONB / TEXT with ``ck_<table>_<col>_json`` on
  SQLite); ``DateTime`` -> ``DateTimeTZField`` (aware, UTC).
* Enumerated columns are ``EnumField`` text with one CHECK, named after the
  seed's CHECK (``check_archetype`` -> ``ck_categories_check_archetype``).
* Seed CHECK names are kept as the rule part of the project's name:
  ``ck_<table>_<seed name>``, e.g. ``ck_markdowns_check_status`` and
  ``ck_workflow_logs_check_status`` (the seed reuses ``check_status``,
  ``check_week_number`` and ``check_units_sold`` on two tables each).
"""
from __future__ import annotations

import enum

from store import (Check, DateField, DateTimeTZField, DoubleField, EnumField,
                   ForeignKeyField, IntegerField, JSONField, Model, NOW, TextField,
                   utcnow)

__all__ = [
    "Archetype", "FashionTier", "LocationTier", "StoreFormat", "Region",
    "ReplenishmentStrategy", "ExtractionConfidence", "MarkdownStatus",
    "WorkflowStatus",
    "Category", "StoreCluster", "Store", "SeasonParameters", "Forecast",
    "ForecastClusterDistribution", "Allocation", "Markdown", "HistoricalSales",
    "ActualSales", "WorkflowLog", "MODELS",
]


# --- enumerations (text + named CHECK on both backends) --------------------------

class Archetype(enum.Enum):
    FASHION_RETAIL = "FASHION_RETAIL"
    STABLE_CATALOG = "STABLE_CATALOG"
    CONTINUOUS = "CONTINUOUS"


class FashionTier(enum.Enum):
    PREMIUM = "PREMIUM"
    MAINSTREAM = "MAINSTREAM"
    VALUE = "VALUE"


class LocationTier(enum.Enum):
    A = "A"
    B = "B"
    C = "C"


class StoreFormat(enum.Enum):
    MALL = "MALL"
    STANDALONE = "STANDALONE"
    SHOPPING_CENTER = "SHOPPING_CENTER"
    OUTLET = "OUTLET"


class Region(enum.Enum):
    NORTHEAST = "NORTHEAST"
    SOUTHEAST = "SOUTHEAST"
    MIDWEST = "MIDWEST"
    WEST = "WEST"


class ReplenishmentStrategy(enum.Enum):
    NONE = "none"
    WEEKLY = "weekly"
    BI_WEEKLY = "bi-weekly"


class ExtractionConfidence(enum.Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class MarkdownStatus(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    APPLIED = "applied"


class WorkflowStatus(enum.Enum):
    STARTED = "started"
    COMPLETED = "completed"
    FAILED = "failed"


def created_at():
    """The seed's ``created_at = Column(DateTime, server_default=func.now())``:
    nullable, the database's time for rows written by raw SQL, the app's
    time (``store.utcnow``) for rows written through the model."""
    return DateTimeTZField(null=True, default=utcnow, server_default=NOW)


def _fk(model, backref, **kwargs):
    """A NOT NULL foreign key without an index of its own: the seed defers
    FK indexes to post-MVP and names the indexes it wants (peewee would add
    ``ix_<table>_<col>`` to every FK otherwise). No ON DELETE action: the
    seed's MVP does not cascade, so a referenced row cannot be deleted."""
    return ForeignKeyField(model, backref=backref, index=False, **kwargs)


def _index(model, name, *fields):
    """Add the seed's named index on ``fields`` of ``model``."""
    model.add_index(model.index(*fields, name=name))


# --- master data -------------------------------------------------------------------

class Category(Model):
    category_id = TextField(primary_key=True)
    category_name = TextField()
    season_start_date = DateField()
    season_end_date = DateField()
    season_length_weeks = IntegerField()
    archetype = EnumField(Archetype, default=Archetype.FASHION_RETAIL,
                              check_name="check_archetype")
    description = TextField(null=True)
    created_at = created_at()

    class Meta:
        table_name = "categories"


class StoreCluster(Model):
    cluster_id = TextField(primary_key=True)
    cluster_name = TextField()
    fashion_tier = EnumField(FashionTier, check_name="check_fashion_tier")
    description = TextField(null=True)
    created_at = created_at()

    class Meta:
        table_name = "store_clusters"


class Store(Model):
    store_id = TextField(primary_key=True)
    store_name = TextField()
    cluster = _fk(StoreCluster, "stores")                      # column cluster_id
    store_size_sqft = IntegerField()
    location_tier = EnumField(LocationTier, check_name="check_location_tier")
    median_income = IntegerField()
    store_format = EnumField(StoreFormat, check_name="check_store_format")
    region = EnumField(Region, check_name="check_region")
    avg_weekly_sales_12mo = DoubleField()
    created_at = created_at()

    class Meta:
        table_name = "stores"


class SeasonParameters(Model):
    """The planning parameters of one season of a category (designed here:
    the seed names the table but gives no columns). CHECK names follow the
    project convention, the seed giving none."""

    parameter_id = TextField(primary_key=True)
    category = _fk(Category, "season_parameters")              # column category_id
    forecast_horizon_weeks = IntegerField()
    season_start_date = DateField()
    season_end_date = DateField()
    replenishment_strategy = EnumField(ReplenishmentStrategy)
    dc_holdback_percentage = DoubleField()
    markdown_checkpoint_week = IntegerField(null=True)
    markdown_threshold = DoubleField(null=True)
    extraction_confidence = EnumField(ExtractionConfidence)
    extraction_reasoning = TextField(null=True)
    created_at = created_at()

    class Meta:
        table_name = "season_parameters"
        checks = [
            Check("horizon_weeks", "forecast_horizon_weeks >= 1"),
            Check("season_dates", "season_end_date > season_start_date"),
            Check("dc_holdback_pct",
                        "dc_holdback_percentage >= 0 AND dc_holdback_percentage <= 1"),
            Check("markdown_checkpoint_week",
                        "markdown_checkpoint_week IS NULL OR (markdown_checkpoint_week >= 1 "
                        "AND markdown_checkpoint_week <= forecast_horizon_weeks)"),
            Check("markdown_threshold",
                        "markdown_threshold IS NULL OR "
                        "(markdown_threshold >= 0 AND markdown_threshold <= 1)"),
        ]


# --- forecasts and what is derived from them ----------------------------------------

class Forecast(Model):
    """``weekly_demand_curve`` is a JSON array ordered by week, element ``i``
    being week ``i + 1``: ``[{"week_number": 1, "demand_units": 500}, ...]``;
    ``models_used`` a JSON array of names: ``["prophet", "arima"]``."""

    forecast_id = TextField(primary_key=True)
    category = _fk(Category, "forecasts")                      # column category_id
    season = TextField()
    forecast_horizon_weeks = IntegerField()
    total_season_demand = IntegerField()
    weekly_demand_curve = JSONField()
    peak_week = IntegerField()
    forecasting_method = TextField(default="ensemble_prophet_arima")
    models_used = JSONField()
    prophet_forecast = IntegerField(null=True)
    arima_forecast = IntegerField(null=True)
    created_at = created_at()

    class Meta:
        table_name = "forecasts"
        checks = [Check("check_total_demand", "total_season_demand >= 0")]


class ForecastClusterDistribution(Model):
    distribution_id = TextField(primary_key=True)
    forecast = _fk(Forecast, "cluster_distribution")           # column forecast_id
    cluster = _fk(StoreCluster, "forecast_distributions")      # column cluster_id
    allocation_percentage = DoubleField()
    total_units = IntegerField()
    created_at = created_at()

    class Meta:
        table_name = "forecast_cluster_distribution"
        checks = [
            Check("check_allocation_pct",
                        "allocation_percentage >= 0 AND allocation_percentage <= 1"),
            Check("check_total_units", "total_units >= 0"),
        ]


class Allocation(Model):
    """``store_allocations`` is a JSON array of per-store objects:
    ``[{"store_id": "S01", "initial": 176, "holdback": 142}, ...]``."""

    allocation_id = TextField(primary_key=True)
    forecast = _fk(Forecast, "allocations")                    # column forecast_id
    manufacturing_qty = IntegerField()
    safety_stock_percentage = DoubleField(default=0.20)
    initial_allocation_total = IntegerField()
    holdback_total = IntegerField()
    store_allocations = JSONField()
    created_at = created_at()

    class Meta:
        table_name = "allocations"
        checks = [
            Check("check_manufacturing_qty", "manufacturing_qty >= 0"),
            Check("check_initial_allocation", "initial_allocation_total >= 0"),
            Check("check_holdback", "holdback_total >= 0"),
        ]


class Markdown(Model):
    markdown_id = TextField(primary_key=True)
    forecast = _fk(Forecast, "markdowns")                      # column forecast_id
    week_number = IntegerField()
    sell_through_pct = DoubleField()
    target_sell_through_pct = DoubleField(default=0.60)
    gap_pct = DoubleField()
    recommended_markdown_pct = DoubleField()
    elasticity_coefficient = DoubleField(default=2.0)
    expected_demand_lift_pct = DoubleField(null=True)
    status = EnumField(MarkdownStatus, default=MarkdownStatus.PENDING,
                           check_name="check_status")
    reasoning = TextField(null=True)
    created_at = created_at()

    class Meta:
        table_name = "markdowns"
        checks = [
            Check("check_week_number", "week_number >= 1 AND week_number <= 12"),
            Check("check_sell_through",
                        "sell_through_pct >= 0 AND sell_through_pct <= 1"),
            Check("check_markdown_pct",
                        "recommended_markdown_pct >= 0 AND recommended_markdown_pct <= 0.40"),
        ]


# --- sales and the workflow log -----------------------------------------------------

class HistoricalSales(Model):
    sale_id = TextField(primary_key=True)
    store = _fk(Store, "historical_sales")                     # column store_id
    category = _fk(Category, "historical_sales")               # column category_id
    week_start_date = DateField()
    units_sold = IntegerField()
    created_at = created_at()

    class Meta:
        table_name = "historical_sales"
        checks = [Check("check_units_sold", "units_sold >= 0")]


class ActualSales(Model):
    actual_id = TextField(primary_key=True)
    store = _fk(Store, "actual_sales")                         # column store_id
    forecast = _fk(Forecast, "actual_sales")                   # column forecast_id
    week_number = IntegerField()
    units_sold = IntegerField()
    created_at = created_at()

    class Meta:
        table_name = "actual_sales"
        checks = [
            Check("check_week_number", "week_number >= 1 AND week_number <= 12"),
            Check("check_units_sold", "units_sold >= 0"),
        ]


class WorkflowLog(Model):
    log_id = TextField(primary_key=True)
    workflow_id = TextField()
    agent_name = TextField()
    action = TextField()
    input_data = JSONField(null=True)
    output_data = JSONField(null=True)
    duration_seconds = DoubleField(null=True)
    status = EnumField(WorkflowStatus, check_name="check_status")
    error_message = TextField(null=True)
    created_at = created_at()

    class Meta:
        table_name = "workflow_logs"


_index(HistoricalSales, "idx_historical_sales_store_category",
       HistoricalSales.store, HistoricalSales.category)
_index(HistoricalSales, "idx_historical_sales_date", HistoricalSales.week_start_date)
_index(ActualSales, "idx_actual_sales_forecast_week",
       ActualSales.forecast, ActualSales.week_number)
_index(WorkflowLog, "idx_workflow_logs_workflow", WorkflowLog.workflow_id)

#: Every table, parents before children.
MODELS = [Category, StoreCluster, Store, SeasonParameters, Forecast,
          ForecastClusterDistribution, Allocation, Markdown, HistoricalSales,
          ActualSales, WorkflowLog]
