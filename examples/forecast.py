"""The forecast app (seed 001): demand forecasts with weekly curves in JSON.

    python examples/forecast.py [DATABASE_URL]

Migrates the app (a temporary SQLite file by default), inserts one season of
a category with three forecasts, their allocations and three weeks of actual
sales, then runs the app's typical queries (``store.apps.forecast.queries``):
JSON paths compared as numbers, containment in JSON arrays, forecast against
actual sales. The output is the same on SQLite and PostgreSQL.
"""
import datetime as dt

import store
from common import example_database, show
from store.apps.forecast import (Allocation, Archetype, ActualSales, Category, FashionTier,
                                 Forecast, LocationTier, Region, Store, StoreCluster,
                                 StoreFormat)
from store.apps.forecast.queries import (allocations_for_store, forecasts_using_model,
                                         forecasts_with_week_demand_above, week_demand,
                                         weekly_variance)

# weekly demand of three forecasts over a 12-week season
CURVES = {
    "F-DRESS": [95, 110, 140, 180, 210, 190, 160, 130, 100, 80, 60, 45],
    "F-DENIM": [70, 75, 80, 85, 90, 90, 85, 80, 75, 70, 65, 60],
    "F-KNIT": [40, 60, 125, 150, 140, 110, 90, 60, 40, 30, 20, 15],
}
MODELS_USED = {"F-DRESS": ["prophet", "arima"], "F-DENIM": ["arima"],
               "F-KNIT": ["prophet_v2"]}


def seed():
    Category.create(category_id="WOMENS_SS26", category_name="Women's spring/summer",
                    season_start_date=dt.date(2026, 3, 2), season_end_date=dt.date(2026, 5, 24),
                    season_length_weeks=12, archetype=Archetype.FASHION_RETAIL)
    StoreCluster.create(cluster_id="PREMIUM_URBAN", cluster_name="Premium urban",
                        fashion_tier=FashionTier.PREMIUM)
    StoreCluster.create(cluster_id="MAINSTREAM", cluster_name="Mainstream suburban",
                        fashion_tier=FashionTier.MAINSTREAM)
    for store_id, name, cluster, tier, fmt, region, sqft in [
            ("S01", "Fifth Avenue", "PREMIUM_URBAN", LocationTier.A, StoreFormat.STANDALONE,
             Region.NORTHEAST, 12000),
            ("S02", "Oak Mall", "MAINSTREAM", LocationTier.B, StoreFormat.MALL,
             Region.MIDWEST, 8000),
            ("S10", "Bayside Outlet", "MAINSTREAM", LocationTier.C, StoreFormat.OUTLET,
             Region.WEST, 6500)]:
        Store.create(store_id=store_id, store_name=name, cluster=cluster,
                     store_size_sqft=sqft, location_tier=tier, median_income=72000,
                     store_format=fmt, region=region, avg_weekly_sales_12mo=5400.0)
    for forecast_id, curve in CURVES.items():
        Forecast.create(
            forecast_id=forecast_id, category="WOMENS_SS26", season="SS26",
            forecast_horizon_weeks=len(curve), total_season_demand=sum(curve),
            weekly_demand_curve=[{"week_number": i + 1, "demand_units": units}
                                 for i, units in enumerate(curve)],
            peak_week=curve.index(max(curve)) + 1, models_used=MODELS_USED[forecast_id])
    Allocation.create(allocation_id="A-DRESS", forecast="F-DRESS", manufacturing_qty=1800,
                      initial_allocation_total=1100, holdback_total=400,
                      store_allocations=[{"store_id": "S01", "initial": 600, "holdback": 200},
                                         {"store_id": "S02", "initial": 500, "holdback": 200}])
    Allocation.create(allocation_id="A-DENIM", forecast="F-DENIM", manufacturing_qty=1100,
                      initial_allocation_total=700, holdback_total=250,
                      store_allocations=[{"store_id": "S10", "initial": 700, "holdback": 250}])
    for week, (s01, s02) in enumerate([(50, 40), (62, 55), (90, 71)], start=1):
        ActualSales.create(actual_id=f"AS-{week}-S01", store="S01", forecast="F-DRESS",
                           week_number=week, units_sold=s01)
        ActualSales.create(actual_id=f"AS-{week}-S02", store="S02", forecast="F-DRESS",
                           week_number=week, units_sold=s02)


def main():
    with example_database("forecast") as db:
        with db.atomic():
            seed()
        show("forecasts", Forecast.select(Forecast.forecast_id, Forecast.season,
                                          Forecast.total_season_demand, Forecast.peak_week,
                                          Forecast.models_used)
             .order_by(Forecast.forecast_id))
        above = [f.forecast_id for f in forecasts_with_week_demand_above(week=3, units=120)]
        print(f"\nweek 3 demand above 120 units: {', '.join(above)}")
        print(f"week 3 demand per forecast: {week_demand(3)}")
        print(f"week 13 demand (past the curve): {week_demand(13)}")
        prophet = [f.forecast_id for f in forecasts_using_model("prophet")]
        print(f"forecasts made with exactly 'prophet': {', '.join(prophet)}")
        for store_id in ("S01", "S1", "S10"):
            found = [a.allocation_id for a in allocations_for_store(store_id)]
            print(f"allocations for store {store_id}: {', '.join(found) or 'none'}")
        show("F-DRESS: forecast against actual sales",
             [row._asdict() | {"variance": row.variance} for row in weekly_variance("F-DRESS")][:4])
        try:
            forecasts_with_week_demand_above(week=3, units="120")
        except store.ValidationError as exc:
            print(f"\nrefused: {exc}")


if __name__ == "__main__":
    main()
