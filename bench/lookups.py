"""10,000 primary-key lookups and 10,000 single-row updates of forecasts.

Lookups: distinct random keys (no library gets a cache hit: SQLAlchemy's
identity map starts empty each run). "raw driver" is ``execute`` +
``fetchone``: the driver's own row (psycopg decodes JSONB itself; sqlite3
returns JSON as text, so "raw + json.loads" shows the same on SQLite).
Updates: ``total_season_demand`` and the JSON ``models_used`` of one row per
statement, all 10,000 in one transaction per run.
"""
from __future__ import annotations

import json
import random

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import fast
from store.apps.forecast.models import Forecast

from . import data, plain_peewee, sa_schema
from .timing import Variant

MODELS_USED = ["prophet", "arima", "ets"]


def keys(total_rows: int, count: int, seed: int = 11):
    rng = random.Random(seed)
    return [data.forecast_id(i) for i in rng.sample(range(total_rows), min(count, total_rows))]


def lookup_variants(scratch, db, ids, engine, plain_db, raw):
    sqlite = scratch.backend == "sqlite"
    columns = ", ".join(f.column_name for f in Forecast._meta.sorted_fields)
    sql = f"SELECT {columns} FROM forecasts WHERE forecast_id = {scratch.placeholder()}"
    json_columns = [i for i, f in enumerate(Forecast._meta.sorted_fields)
                    if f.name in ("weekly_demand_curve", "models_used")]

    def raw_fetch():
        cursor = raw.cursor()
        for key in ids:
            cursor.execute(sql, (key,))
            cursor.fetchone()

    def raw_decoded():
        cursor = raw.cursor()
        loads = json.loads
        for key in ids:
            cursor.execute(sql, (key,))
            row = cursor.fetchone()
            for i in json_columns:
                loads(row[i])

    def sa_get():
        with Session(engine) as session:
            for key in ids:
                session.get(sa_schema.ForecastORM, key)

    def plain():
        for key in ids:
            plain_peewee.PlainForecast.get_by_id(key)

    def store_orm():
        for key in ids:
            Forecast.get_by_id(key)

    def store_fast():
        for key in ids:
            fast.get_by_pk(Forecast, key)

    out = [Variant("raw driver execute + fetchone", raw_fetch, role="raw")]
    if sqlite:
        out.append(Variant("raw driver + json.loads of the JSON columns", raw_decoded))
    out += [
        Variant("SQLAlchemy ORM session.get", sa_get, role="sqlalchemy"),
        Variant("plain peewee get_by_id", plain),
        Variant("store ORM path Model.get_by_id", store_orm),
        Variant("store.fast.get_by_pk", store_fast, role="store"),
    ]
    return out


def update_variants(scratch, db, ids, engine, plain_db, raw):
    sqlite = scratch.backend == "sqlite"
    mark = scratch.placeholder()
    sql = (f"UPDATE forecasts SET total_season_demand = {mark}, models_used = {mark} "
           f"WHERE forecast_id = {mark}")
    stmt = sa_schema.forecasts.update().where(
        sa_schema.forecasts.c.forecast_id == sa.bindparam("pk"))

    def raw_update():
        dumps = json.dumps
        if sqlite:
            raw.execute("BEGIN")
            for n, key in enumerate(ids):
                raw.execute(sql, (n, dumps(MODELS_USED), key))
            raw.execute("COMMIT")
        else:
            with raw.transaction():
                cursor = raw.cursor()
                for n, key in enumerate(ids):
                    cursor.execute(sql, (n, dumps(MODELS_USED), key))

    def sa_core():
        with engine.begin() as conn:
            for n, key in enumerate(ids):
                conn.execute(stmt, {"total_season_demand": n, "models_used": MODELS_USED,
                                    "pk": key})

    def plain():
        model = plain_peewee.PlainForecast
        with plain_db.atomic():
            for n, key in enumerate(ids):
                model.update(total_season_demand=n, models_used=MODELS_USED) \
                    .where(model.forecast_id == key).execute()

    def store_orm():
        with db.atomic():
            for n, key in enumerate(ids):
                Forecast.update(total_season_demand=n, models_used=MODELS_USED) \
                    .where(Forecast.forecast_id == key).execute()

    def store_fast():
        with db.atomic():
            for n, key in enumerate(ids):
                fast.update_by_pk(Forecast, key, total_season_demand=n, models_used=MODELS_USED)

    def checkpoint():
        if sqlite:
            db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    return [
        Variant("raw driver execute", raw_update, checkpoint, role="raw"),
        Variant("SQLAlchemy Core update (one statement object)", sa_core, checkpoint,
                role="sqlalchemy"),
        Variant("plain peewee Model.update().where(pk)", plain, checkpoint),
        Variant("store ORM path Model.update().where(pk)", store_orm, checkpoint),
        Variant("store.fast.update_by_pk", store_fast, checkpoint, role="store"),
    ]
