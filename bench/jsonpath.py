"""The forecast app's JSON path filter (``queries.forecasts_with_week_demand_above``:
week 1's ``demand_units`` above a threshold, about 100 matching rows) over
``--json-rows`` forecasts, without and with an index on that JSON path
declared the store way (``Model.index(field[0]["demand_units"].index_key(), name=...)``).

The index is created (and, on PostgreSQL, the table analysed) untimed before
a "with index" run and dropped before a "without" run. EXPLAIN of the query
is recorded for both. The indexed query is also timed read by
``store.fast.fetch`` (the same instances, built by the cached reader instead
of peewee's per-row machinery). Times are per query, all warm (the table is in the
OS cache after the first scan): a "without" run is one query (a full scan,
~1 s); a "with index" run is ``LOOPS`` queries in a row (a few ms each, so
one alone would be mostly timer and scheduler noise) when EXPLAIN shows
the index in use, else one.

On SQLite store's query binds the JSON path as a parameter (``->> ?``), and
SQLite cannot match a bound parameter against an index expression. More
variants show what the change proposed for ``store.fields`` gives: the same
filter with the path written into the SQL (``->> '$[0]."demand_units"'``)
and an index on that same ``->>`` expression; and that filter with a
selectivity hint (``likelihood(..., 0.001)``), without which SQLite (no
STAT4 statistics in Python's build) prefers walking the primary key in
``ORDER BY forecast_id`` order over the index and a sort.
"""
from __future__ import annotations

import peewee
from peewee import SQL, fn

from store import fast
from store.apps.forecast import queries
from store.apps.forecast.models import Forecast

from . import data
from .timing import Variant

INDEX = "ix_forecasts_week1_demand"
PROPOSED_INDEX = "ix_forecasts_week1_demand_text"
CHUNK = 100_000
LOOPS = 10


def threshold(total: int) -> int:
    """Week-1 demand is uniform in [0, 1,000,000): about 100 rows lie above."""
    return int(1_000_000 * (1 - min(1.0, 100 / total)))


def load(db, total: int):
    """``total`` forecasts through store.fast, in chunks (bounded memory)."""
    db.execute_sql("DELETE FROM forecasts")
    for start in range(0, total, CHUNK):
        fast.bulk_insert(Forecast, data.forecast_rows(min(CHUNK, total - start),
                                                      seed=start + 1, start=start))


def store_index():
    return Forecast.index(Forecast.weekly_demand_curve[0]["demand_units"].index_key(),
                          name=INDEX)


_PATH = SQL("'$[0].\"demand_units\"'")


def _inline_text():
    return peewee.Expression(Forecast.weekly_demand_curve, "->>", _PATH)


def proposed_query(limit: int, hint: bool = False):
    """store's filter on SQLite with the path inlined (the proposed change),
    optionally with the planner told the comparison is selective."""
    is_number = fn.json_type(Forecast.weekly_demand_curve, _PATH).in_(["integer", "real"])
    above = _inline_text() > limit
    if hint:
        above = fn.likelihood(above, SQL("0.001"))
    return Forecast.select().where(is_number & above).order_by(Forecast.forecast_id)


def explain(db, query) -> str:
    sql, params = query.sql()
    prefix = "EXPLAIN QUERY PLAN " if db.features.name == "sqlite" else "EXPLAIN "
    rows = db.execute_sql(prefix + sql, params).fetchall()
    return "\n".join(str(r[-1]) for r in rows)


def variants(scratch, db, total: int, plans: dict):
    """The variants; ``plans`` gets the EXPLAIN text of each (filled in by
    the untimed ``prepare`` of each run)."""
    sqlite = scratch.backend == "sqlite"
    limit = threshold(total)
    schema = Forecast._schema

    present = set()                      # the bench's indexes now in the table

    def use_index(name, make):
        """Only ``name`` (or none) of the bench's indexes exists afterwards."""
        for other in present - {name}:
            db.execute_sql(f'DROP INDEX IF EXISTS "{other}"')
            present.discard(other)
        if name is not None and name not in present:
            db.execute(schema._create_index(make(), True))
            present.add(name)
            if not sqlite:
                db.execute_sql("ANALYZE forecasts")

    def variant(name, query, index, make, label, role, fetch=list):
        """A run is ``LOOPS`` queries when EXPLAIN shows an index in use,
        else one (a full scan is long enough to time alone)."""
        v = Variant(name, None, None, role=role)

        def prepare():
            use_index(index, make)
            plans[label] = explain(db, query())
            v.loops = LOOPS if index is not None and index in plans[label] else 1

        def run():
            for _ in range(v.loops):
                assert fetch(query()), "the JSON filter matched nothing"
        v.run, v.prepare = run, prepare
        return v

    def store_query():
        return queries.forecasts_with_week_demand_above(1, limit)

    def proposed():
        return proposed_query(limit)

    def hinted():
        return proposed_query(limit, hint=True)

    def proposed_index():
        return Forecast.index(_inline_text(), name=PROPOSED_INDEX)

    out = [
        variant("store query, no JSON-path index", store_query, None, None, "no index", "raw"),
        variant(f"store query, JSON-path index {INDEX}", store_query, INDEX, store_index,
                "index", "store"),
        variant("store query read by store.fast.fetch, JSON-path index", store_query, INDEX,
                store_index, "index", "store-fetch", fetch=fast.fetch),
    ]
    if sqlite:
        out += [
            variant("proposed: path inlined, no index", proposed, None, None,
                    "proposed, no index", "proposed-raw"),
            variant(f"proposed: path inlined, index {PROPOSED_INDEX} (->>)", proposed,
                    PROPOSED_INDEX, proposed_index, "proposed, index", "proposed"),
            variant("proposed: path inlined + likelihood hint, index (->>)", hinted,
                    PROPOSED_INDEX, proposed_index, "proposed + hint, index", "proposed-hint"),
        ]
    return out
