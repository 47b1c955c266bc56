"""The forecast tables the benchmarks touch, as SQLAlchemy Core tables and
ORM classes (the comparison's SQLAlchemy side). The tables themselves are
created by store; these only describe them. Column keys are store's field
names (``category`` for the ``category_id`` column) so every library gets
the same input dicts."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase

metadata = sa.MetaData()
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

categories = sa.Table(
    "categories", metadata,
    sa.Column("category_id", sa.Text, primary_key=True),
)

forecasts = sa.Table(
    "forecasts", metadata,
    sa.Column("forecast_id", sa.Text, primary_key=True),
    sa.Column("category_id", sa.Text, sa.ForeignKey("categories.category_id"),
              key="category", nullable=False),
    sa.Column("season", sa.Text, nullable=False),
    sa.Column("forecast_horizon_weeks", sa.Integer, nullable=False),
    sa.Column("total_season_demand", sa.Integer, nullable=False),
    sa.Column("weekly_demand_curve", JSON, nullable=False),
    sa.Column("peak_week", sa.Integer, nullable=False),
    sa.Column("forecasting_method", sa.Text, nullable=False),
    sa.Column("models_used", JSON, nullable=False),
    sa.Column("prophet_forecast", sa.Integer),
    sa.Column("arima_forecast", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)


class Base(DeclarativeBase):
    metadata = metadata


class ForecastORM(Base):
    __table__ = forecasts


def engine(url: str):
    """An engine on ``url`` whose SQLite connections get store's pragmas."""
    eng = sa.create_engine(url)
    if url.startswith("sqlite"):
        @sa.event.listens_for(eng, "connect")
        def _pragmas(conn, _record):
            for pragma in ("PRAGMA foreign_keys = on", "PRAGMA synchronous = normal",
                           "PRAGMA busy_timeout = 10000"):
                conn.execute(pragma)
    return eng
