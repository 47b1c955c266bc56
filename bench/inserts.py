"""Bulk insert of the forecast rows, every library, one transaction each.

Each variant gets the same list of dicts (``bench.data``) and does what a
user of that library would write; the table is emptied (untimed) before
each run. The raw driver variants convert what the driver cannot take
(``json.dumps``, and the timestamp as ISO text on SQLite) and nothing else.
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import fast
from store.apps.forecast.models import Forecast

from . import plain_peewee, sa_schema
from .timing import Variant

BATCH = 1000          # rows per insert_many statement (the plain peewee setting)


def raw_params(rows, sqlite: bool):
    dumps = json.dumps
    return [(r["forecast_id"], r["category"], r["season"], r["forecast_horizon_weeks"],
             r["total_season_demand"], dumps(r["weekly_demand_curve"]), r["peak_week"],
             r["forecasting_method"], dumps(r["models_used"]), r["prophet_forecast"],
             r["arima_forecast"],
             r["created_at"].isoformat(sep=" ") if sqlite else r["created_at"])
            for r in rows]


def empty_table(scratch, db):
    """Untimed: no forecasts (and, on SQLite, the WAL checkpointed)."""
    if scratch.backend == "sqlite":
        db.execute_sql("DELETE FROM forecasts")
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        db.execute_sql("TRUNCATE forecasts CASCADE")


def variants(scratch, db, rows, engine, plain_db, raw):
    sqlite = scratch.backend == "sqlite"
    columns = ", ".join(f.column_name for f in Forecast._meta.sorted_fields)
    marks = ", ".join([scratch.placeholder()] * len(Forecast._meta.sorted_fields))
    insert_sql = f"INSERT INTO forecasts ({columns}) VALUES ({marks})"

    def raw_many():
        params = raw_params(rows, sqlite)
        if sqlite:
            raw.execute("BEGIN")
            raw.executemany(insert_sql, params)
            raw.execute("COMMIT")
        else:
            with raw.transaction():
                raw.cursor().executemany(insert_sql, params)

    def raw_copy():
        dumps = json.dumps
        with raw.transaction():
            with raw.cursor().copy(f"COPY forecasts ({columns}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((r["forecast_id"], r["category"], r["season"],
                                    r["forecast_horizon_weeks"], r["total_season_demand"],
                                    dumps(r["weekly_demand_curve"]), r["peak_week"],
                                    r["forecasting_method"], dumps(r["models_used"]),
                                    r["prophet_forecast"], r["arima_forecast"],
                                    r["created_at"]))

    def sa_core():
        with engine.begin() as conn:
            conn.execute(sa_schema.forecasts.insert(), rows)

    def sa_orm():
        with Session(engine) as session:
            session.execute(sa.insert(sa_schema.ForecastORM), rows)
            session.commit()

    def plain():
        with plain_db.atomic():
            for start in range(0, len(rows), BATCH):
                plain_peewee.PlainForecast.insert_many(rows[start:start + BATCH]).execute()

    def store_orm():
        with db.atomic():
            for start in range(0, len(rows), BATCH):
                Forecast.insert_many(rows[start:start + BATCH]).execute()

    def store_fast():
        fast.bulk_insert(Forecast, rows)

    def store_fast_many():
        fast.bulk_insert(Forecast, rows, copy=False)

    def prepare():
        empty_table(scratch, db)

    driver = "sqlite3" if sqlite else "psycopg 3"
    out = [Variant(f"raw driver executemany ({driver})", raw_many, prepare, role="raw")]
    if not sqlite:
        out.append(Variant("psycopg 3 COPY (raw)", raw_copy, prepare))
    out += [
        Variant("SQLAlchemy Core executemany", sa_core, prepare, role="sqlalchemy"),
        Variant("SQLAlchemy ORM bulk insert", sa_orm, prepare),
        Variant(f"plain peewee insert_many ({BATCH}/batch)", plain, prepare),
        Variant(f"store ORM path Model.insert_many ({BATCH}/batch)", store_orm, prepare),
        Variant("store.fast.bulk_insert" + ("" if sqlite else " (COPY)"), store_fast, prepare,
                role="store"),
    ]
    if not sqlite:
        out.append(Variant("store.fast.bulk_insert(copy=False) (executemany)",
                           store_fast_many, prepare))
    return out
