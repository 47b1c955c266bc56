"""Typical queries of the forecast app, reading inside its JSON columns.

Each gives the same rows in the same order on SQLite and PostgreSQL:

* numbers inside JSON compare numerically on both (store's ``JSONField``
  paths; SQLite alone would compare JSON text, where ``'9' > '50'``), and only
  JSON numbers match: a demand stored as the string ``"900"`` never does;
* containment (``models_used``, ``store_allocations``) is whole-element
  equality on both (JSONB ``@>`` on PostgreSQL, peewee's equivalent function
  on SQLite): ``"prophet"`` does not match ``"prophet_v2"``, ``"S1"`` does
  not match ``"S10"``, and case matters;
* a week past the end of a curve is absent (no match, ``None`` when read).

Arguments are checked before any SQL is built: a bad one raises
``store.ValidationError`` naming the column it would be compared with.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from peewee import fn

from store import ValidationError

from .models import ActualSales, Allocation, Forecast

__all__ = ["forecasts_with_week_demand_above", "week_demand", "forecasts_using_model",
           "allocations_for_store", "WeekVariance", "weekly_variance"]


def _week_index(week) -> int:
    """Position in ``weekly_demand_curve`` of ``week`` (1-based)."""
    if isinstance(week, bool) or not isinstance(week, int) or week < 1:
        raise ValidationError("forecasts.weekly_demand_curve",
                              f"week must be an integer >= 1, got {week!r}", week)
    return week - 1


def _demand_path(week):
    return Forecast.weekly_demand_curve[_week_index(week)]["demand_units"]


def forecasts_with_week_demand_above(week: int, units):
    """Forecasts whose demand in ``week`` (1-based) is greater than ``units``,
    ordered by ``forecast_id``. ``units`` must be a number (an ``int`` or a
    finite ``float``): a string would compare as text."""
    if isinstance(units, bool) or not isinstance(units, (int, float)) \
            or (isinstance(units, float) and not math.isfinite(units)):
        raise ValidationError("forecasts.weekly_demand_curve",
                              f"units must be a finite number, got {units!r}", units)
    return (Forecast.select()
            .where(_demand_path(week) > units)
            .order_by(Forecast.forecast_id))


def week_demand(week: int) -> dict:
    """``{forecast_id: demand_units of week}`` for every forecast; the value
    is the JSON value as Python reads it (``int``/``float``, or whatever else
    is stored) and ``None`` when the curve has no such week."""
    query = (Forecast.select(Forecast.forecast_id, _demand_path(week).alias("units"))
             .order_by(Forecast.forecast_id))
    return {row.forecast_id: row.units for row in query}


def forecasts_using_model(name: str):
    """Forecasts whose ``models_used`` array holds exactly ``name``, ordered
    by ``forecast_id``."""
    if not isinstance(name, str):
        raise ValidationError("forecasts.models_used",
                              f"model name must be a string, got {name!r}", name)
    return (Forecast.select()
            .where(Forecast.models_used.contains([name]))
            .order_by(Forecast.forecast_id))


def allocations_for_store(store_id: str):
    """Allocations with an entry for ``store_id`` in ``store_allocations``,
    ordered by ``allocation_id``."""
    if not isinstance(store_id, str):
        raise ValidationError("allocations.store_allocations",
                              f"store_id must be a string, got {store_id!r}", store_id)
    return (Allocation.select()
            .where(Allocation.store_allocations.contains([{"store_id": store_id}]))
            .order_by(Allocation.allocation_id))


class WeekVariance(NamedTuple):
    week: int
    forecast_units: object      # the curve's demand_units (None if absent)
    actual_units: int | None    # units sold that week over all stores; None: none reported

    @property
    def variance(self):
        """``actual - forecast`` when both are known, else ``None``."""
        if self.actual_units is None or not isinstance(self.forecast_units, (int, float)):
            return None
        return self.actual_units - self.forecast_units


def weekly_variance(forecast_id: str) -> list[WeekVariance]:
    """Forecast against actual sales, week by week, for one forecast: the
    curve's weeks, plus any week with sales but no curve entry, in week
    order. Actuals are summed in SQL per week (``idx_actual_sales_forecast_week``)."""
    forecast = Forecast.get_or_none(Forecast.forecast_id == forecast_id)
    if forecast is None:
        raise Forecast.DoesNotExist(f"no forecast {forecast_id!r}")
    planned = {}
    for position, point in enumerate(forecast.weekly_demand_curve):
        week = point.get("week_number", position + 1) if isinstance(point, dict) else position + 1
        planned[week] = point.get("demand_units") if isinstance(point, dict) else None
    actual = dict(ActualSales
                  .select(ActualSales.week_number, fn.SUM(ActualSales.units_sold))
                  .where(ActualSales.forecast == forecast_id)
                  .group_by(ActualSales.week_number)
                  .tuples())
    return [WeekVariance(week, planned.get(week),
                         int(actual[week]) if week in actual else None)
            for week in sorted(set(planned) | set(actual))]
