"""Every migration of every seed app, on both backends: up, down and
up again one step at a time, and at head the schema is exactly what the
models create; the committed state agrees with the models (nothing left for
``create --auto``)."""
from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest

from store.project import SEED_APPS
from store.introspect import read_schema
from store.migrate import StoreRouter, autogen, load_apps

ROOT = Path(__file__).resolve().parents[1]
APPS = list(SEED_APPS)


def test_apps_are_configured():
    assert APPS, "store.project.SEED_APPS lists no app"


def _app(name, db):
    (app,) = load_apps([name], root=ROOT / "migrations")
    if app.namespace and db.features.name == "postgresql":
        # a schema of its own for this test (the test database is shared)
        app = dataclasses.replace(app, namespace=f"{app.namespace}_{uuid.uuid4().hex[:8]}")
    return app


def _scoped_schema(router):
    return read_schema(router.database, exclude={router.app.history_table})


@pytest.mark.parametrize("name", APPS)
def test_every_migration_round_trips_and_head_matches_models(db, name, request):
    app = _app(name, db)
    assert not autogen.check(app), f"{name}: models changed without a migration"
    try:
        with StoreRouter(db, app) as router:
            names = router.todo
            assert names, f"{name}: no migrations"
            schemas = [_scoped_schema(router)]
            for migration in names:
                router.run(migration)
                after = _scoped_schema(router)
                router.rollback(1)
                assert _scoped_schema(router) == schemas[-1], f"{migration} down"
                router.run(migration)
                assert _scoped_schema(router) == after, f"{migration} up again"
                schemas.append(after)
            head = schemas[-1]
            backend = {"sqlite": None} if db.features.name == "sqlite" else \
                {"postgresql": request.getfixturevalue("pg_database")}
            with autogen.Scratch(*next(iter(backend.items()))) as scratch:
                autogen._apply_models(scratch, app.models)
                wanted = read_schema(scratch)
            assert autogen.compare_live(head, wanted, db, app.namespace) == []
            router.rollback(None)
            assert _scoped_schema(router).tables == {}
    finally:
        if app.namespace and db.features.name == "postgresql":
            db.execute_sql(f'DROP SCHEMA IF EXISTS "{app.namespace}" CASCADE')
