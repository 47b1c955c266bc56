"""The forecast schema (seed 001): the same eleven tables, columns, CHECKs,
foreign keys and indexes store's forecast app creates, written as the seed's
SQLAlchemy + Alembic project would (``op.create_table`` with Core types).

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _created_at():
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now())


def _enum(table, column, values, name=None, **kw):
    listed = ", ".join(f"'{v}'" for v in values)
    return (sa.Column(column, sa.String(32), **kw),
            sa.CheckConstraint(f"{column} IN ({listed})",
                               name=f"ck_{table}_{name or column + '_enum'}"))


def _json(table, column, nullable=False):
    """JSONB on PostgreSQL; on SQLite JSON text checked by json_valid (as store)."""
    col = sa.Column(column, JSON, nullable=nullable)
    if op.get_bind().dialect.name == "sqlite":
        return col, sa.CheckConstraint(f"{column} IS NULL OR json_valid({column})",
                                       name=f"ck_{table}_{column}_json")
    return (col,)


def _fk(table, column, ref, ref_column):
    return (sa.Column(column, sa.Text, nullable=False),
            sa.ForeignKeyConstraint([column], [f"{ref}.{ref_column}"],
                                    name=f"fk_{table}_{column}_{ref}"))


def upgrade():
    op.create_table(
        "categories",
        sa.Column("category_id", sa.Text, primary_key=True),
        sa.Column("category_name", sa.Text, nullable=False),
        sa.Column("season_start_date", sa.Date, nullable=False),
        sa.Column("season_end_date", sa.Date, nullable=False),
        sa.Column("season_length_weeks", sa.Integer, nullable=False),
        *_enum("categories", "archetype", ["FASHION_RETAIL", "STABLE_CATALOG", "CONTINUOUS"],
               "check_archetype", nullable=False),
        sa.Column("description", sa.Text),
        _created_at())
    op.create_table(
        "store_clusters",
        sa.Column("cluster_id", sa.Text, primary_key=True),
        sa.Column("cluster_name", sa.Text, nullable=False),
        *_enum("store_clusters", "fashion_tier", ["PREMIUM", "MAINSTREAM", "VALUE"],
               "check_fashion_tier", nullable=False),
        sa.Column("description", sa.Text),
        _created_at())
    op.create_table(
        "stores",
        sa.Column("store_id", sa.Text, primary_key=True),
        sa.Column("store_name", sa.Text, nullable=False),
        *_fk("stores", "cluster_id", "store_clusters", "cluster_id"),
        sa.Column("store_size_sqft", sa.Integer, nullable=False),
        *_enum("stores", "location_tier", ["A", "B", "C"], "check_location_tier",
               nullable=False),
        sa.Column("median_income", sa.Integer, nullable=False),
        *_enum("stores", "store_format", ["MALL", "STANDALONE", "SHOPPING_CENTER", "OUTLET"],
               "check_store_format", nullable=False),
        *_enum("stores", "region", ["NORTHEAST", "SOUTHEAST", "MIDWEST", "WEST"],
               "check_region", nullable=False),
        sa.Column("avg_weekly_sales_12mo", sa.Double, nullable=False),
        _created_at())
    op.create_table(
        "season_parameters",
        sa.Column("parameter_id", sa.Text, primary_key=True),
        *_fk("season_parameters", "category_id", "categories", "category_id"),
        sa.Column("forecast_horizon_weeks", sa.Integer, nullable=False),
        sa.Column("season_start_date", sa.Date, nullable=False),
        sa.Column("season_end_date", sa.Date, nullable=False),
        *_enum("season_parameters", "replenishment_strategy", ["none", "weekly", "bi-weekly"],
               nullable=False),
        sa.Column("dc_holdback_percentage", sa.Double, nullable=False),
        sa.Column("markdown_checkpoint_week", sa.Integer),
        sa.Column("markdown_threshold", sa.Double),
        *_enum("season_parameters", "extraction_confidence", ["high", "medium", "low"],
               nullable=False),
        sa.Column("extraction_reasoning", sa.Text),
        _created_at(),
        sa.CheckConstraint("forecast_horizon_weeks >= 1", name="ck_season_parameters_horizon_weeks"),
        sa.CheckConstraint("season_end_date > season_start_date",
                           name="ck_season_parameters_season_dates"),
        sa.CheckConstraint("dc_holdback_percentage >= 0 AND dc_holdback_percentage <= 1",
                           name="ck_season_parameters_dc_holdback_pct"),
        sa.CheckConstraint("markdown_checkpoint_week IS NULL OR (markdown_checkpoint_week >= 1 "
                           "AND markdown_checkpoint_week <= forecast_horizon_weeks)",
                           name="ck_season_parameters_markdown_checkpoint_week"),
        sa.CheckConstraint("markdown_threshold IS NULL OR "
                           "(markdown_threshold >= 0 AND markdown_threshold <= 1)",
                           name="ck_season_parameters_markdown_threshold"))
    op.create_table(
        "forecasts",
        sa.Column("forecast_id", sa.Text, primary_key=True),
        *_fk("forecasts", "category_id", "categories", "category_id"),
        sa.Column("season", sa.Text, nullable=False),
        sa.Column("forecast_horizon_weeks", sa.Integer, nullable=False),
        sa.Column("total_season_demand", sa.Integer, nullable=False),
        *_json("forecasts", "weekly_demand_curve"),
        sa.Column("peak_week", sa.Integer, nullable=False),
        sa.Column("forecasting_method", sa.Text, nullable=False),
        *_json("forecasts", "models_used"),
        sa.Column("prophet_forecast", sa.Integer),
        sa.Column("arima_forecast", sa.Integer),
        _created_at(),
        sa.CheckConstraint("total_season_demand >= 0", name="ck_forecasts_check_total_demand"))
    op.create_table(
        "forecast_cluster_distribution",
        sa.Column("distribution_id", sa.Text, primary_key=True),
        *_fk("forecast_cluster_distribution", "forecast_id", "forecasts", "forecast_id"),
        *_fk("forecast_cluster_distribution", "cluster_id", "store_clusters", "cluster_id"),
        sa.Column("allocation_percentage", sa.Double, nullable=False),
        sa.Column("total_units", sa.Integer, nullable=False),
        _created_at(),
        sa.CheckConstraint("allocation_percentage >= 0 AND allocation_percentage <= 1",
                           name="ck_forecast_cluster_distribution_check_allocation_pct"),
        sa.CheckConstraint("total_units >= 0",
                           name="ck_forecast_cluster_distribution_check_total_units"))
    op.create_table(
        "allocations",
        sa.Column("allocation_id", sa.Text, primary_key=True),
        *_fk("allocations", "forecast_id", "forecasts", "forecast_id"),
        sa.Column("manufacturing_qty", sa.Integer, nullable=False),
        sa.Column("safety_stock_percentage", sa.Double, nullable=False),
        sa.Column("initial_allocation_total", sa.Integer, nullable=False),
        sa.Column("holdback_total", sa.Integer, nullable=False),
        *_json("allocations", "store_allocations"),
        _created_at(),
        sa.CheckConstraint("manufacturing_qty >= 0", name="ck_allocations_check_manufacturing_qty"),
        sa.CheckConstraint("initial_allocation_total >= 0",
                           name="ck_allocations_check_initial_allocation"),
        sa.CheckConstraint("holdback_total >= 0", name="ck_allocations_check_holdback"))
    op.create_table(
        "markdowns",
        sa.Column("markdown_id", sa.Text, primary_key=True),
        *_fk("markdowns", "forecast_id", "forecasts", "forecast_id"),
        sa.Column("week_number", sa.Integer, nullable=False),
        sa.Column("sell_through_pct", sa.Double, nullable=False),
        sa.Column("target_sell_through_pct", sa.Double, nullable=False),
        sa.Column("gap_pct", sa.Double, nullable=False),
        sa.Column("recommended_markdown_pct", sa.Double, nullable=False),
        sa.Column("elasticity_coefficient", sa.Double, nullable=False),
        sa.Column("expected_demand_lift_pct", sa.Double),
        *_enum("markdowns", "status", ["pending", "approved", "applied"], "check_status",
               nullable=False),
        sa.Column("reasoning", sa.Text),
        _created_at(),
        sa.CheckConstraint("week_number >= 1 AND week_number <= 12",
                           name="ck_markdowns_check_week_number"),
        sa.CheckConstraint("sell_through_pct >= 0 AND sell_through_pct <= 1",
                           name="ck_markdowns_check_sell_through"),
        sa.CheckConstraint("recommended_markdown_pct >= 0 AND recommended_markdown_pct <= 0.40",
                           name="ck_markdowns_check_markdown_pct"))
    op.create_table(
        "historical_sales",
        sa.Column("sale_id", sa.Text, primary_key=True),
        *_fk("historical_sales", "store_id", "stores", "store_id"),
        *_fk("historical_sales", "category_id", "categories", "category_id"),
        sa.Column("week_start_date", sa.Date, nullable=False),
        sa.Column("units_sold", sa.Integer, nullable=False),
        _created_at(),
        sa.CheckConstraint("units_sold >= 0", name="ck_historical_sales_check_units_sold"))
    op.create_table(
        "actual_sales",
        sa.Column("actual_id", sa.Text, primary_key=True),
        *_fk("actual_sales", "store_id", "stores", "store_id"),
        *_fk("actual_sales", "forecast_id", "forecasts", "forecast_id"),
        sa.Column("week_number", sa.Integer, nullable=False),
        sa.Column("units_sold", sa.Integer, nullable=False),
        _created_at(),
        sa.CheckConstraint("week_number >= 1 AND week_number <= 12",
                           name="ck_actual_sales_check_week_number"),
        sa.CheckConstraint("units_sold >= 0", name="ck_actual_sales_check_units_sold"))
    op.create_table(
        "workflow_logs",
        sa.Column("log_id", sa.Text, primary_key=True),
        sa.Column("workflow_id", sa.Text, nullable=False),
        sa.Column("agent_name", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        *_json("workflow_logs", "input_data", nullable=True),
        *_json("workflow_logs", "output_data", nullable=True),
        sa.Column("duration_seconds", sa.Double),
        *_enum("workflow_logs", "status", ["started", "completed", "failed"], "check_status",
               nullable=False),
        sa.Column("error_message", sa.Text),
        _created_at())
    op.create_index("idx_historical_sales_store_category", "historical_sales",
                    ["store_id", "category_id"])
    op.create_index("idx_historical_sales_date", "historical_sales", ["week_start_date"])
    op.create_index("idx_actual_sales_forecast_week", "actual_sales", ["forecast_id", "week_number"])
    op.create_index("idx_workflow_logs_workflow", "workflow_logs", ["workflow_id"])


def downgrade():
    for index, table in (("idx_workflow_logs_workflow", "workflow_logs"),
                         ("idx_actual_sales_forecast_week", "actual_sales"),
                         ("idx_historical_sales_date", "historical_sales"),
                         ("idx_historical_sales_store_category", "historical_sales")):
        op.drop_index(index, table_name=table)
    for table in ("workflow_logs", "actual_sales", "historical_sales", "markdowns", "allocations",
                  "forecast_cluster_distribution", "forecasts", "season_parameters", "stores",
                  "store_clusters", "categories"):
        op.drop_table(table)
