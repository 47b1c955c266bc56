"""Deterministic rows of the forecast schema (seed 001) for the benchmarks.

Every library gets the same Python values: dicts keyed by field name, with
JSON columns as Python lists and ``created_at`` as an aware datetime.
"""
from __future__ import annotations

import datetime as dt
import random

UTC = dt.timezone.utc
CATEGORIES = 10
WEEKS = 12
MODELS_USED = (["prophet", "arima"], ["prophet"], ["arima"], ["prophet", "arima", "ets"])


def category_rows():
    """The categories the forecasts point at (the FK target)."""
    return [{"category_id": f"C{i:02d}", "category_name": f"Category {i}",
             "season_start_date": dt.date(2025, 3, 1),
             "season_end_date": dt.date(2025, 5, 24),
             "season_length_weeks": WEEKS, "description": None,
             "created_at": dt.datetime(2025, 1, 1, tzinfo=UTC)}
            for i in range(CATEGORIES)]


def forecast_id(i: int) -> str:
    return f"F{i:08d}"


def forecast_rows(n: int, seed: int = 7, start: int = 0):
    """``n`` forecast rows; ``weekly_demand_curve`` holds 12 week objects,
    week 1's ``demand_units`` uniform in [0, 1_000_000) (the JSON filter
    benchmark selects a thin slice of it)."""
    rng = random.Random(seed)
    base = dt.datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(start, start + n):
        curve = [{"week_number": w + 1, "demand_units": rng.randrange(1_000_000) if w == 0
                  else rng.randrange(50, 5000)} for w in range(WEEKS)]
        total = sum(p["demand_units"] for p in curve)
        rows.append({
            "forecast_id": forecast_id(i),
            "category": f"C{i % CATEGORIES:02d}",
            "season": "Spring 2025",
            "forecast_horizon_weeks": WEEKS,
            "total_season_demand": total,
            "weekly_demand_curve": curve,
            "peak_week": max(range(WEEKS), key=lambda w: curve[w]["demand_units"]) + 1,
            "forecasting_method": "ensemble_prophet_arima",
            "models_used": MODELS_USED[i % len(MODELS_USED)],
            "prophet_forecast": total + rng.randrange(-500, 500),
            "arima_forecast": None if i % 5 == 0 else total + rng.randrange(-500, 500),
            "created_at": base + dt.timedelta(seconds=i),
        })
    return rows
