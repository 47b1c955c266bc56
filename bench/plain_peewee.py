"""The forecasts table as a plain peewee model (``peewee.Model``, peewee's own
fields, no store validation or context): "plain peewee" in the comparison."""
from __future__ import annotations

import peewee


class PlainForecast(peewee.Model):
    forecast_id = peewee.TextField(primary_key=True)
    category = peewee.TextField(column_name="category_id")
    season = peewee.TextField()
    forecast_horizon_weeks = peewee.IntegerField()
    total_season_demand = peewee.IntegerField()
    weekly_demand_curve = peewee.JSONField()
    peak_week = peewee.IntegerField()
    forecasting_method = peewee.TextField()
    models_used = peewee.JSONField()
    prophet_forecast = peewee.IntegerField(null=True)
    arima_forecast = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "forecasts"


def database(scratch):
    """A plain peewee database on the scratch database (store's pragmas on SQLite)."""
    if scratch.backend == "sqlite":
        db = peewee.SqliteDatabase(scratch.path, pragmas={
            "journal_mode": "wal", "synchronous": "normal", "foreign_keys": 1,
            "busy_timeout": 10000})
    else:
        db = peewee.PostgresqlDatabase(scratch.url, prefer_psycopg3=True)
    db.bind([PlainForecast])
    db.connect()
    return db
