"""Binding models to a database walks the foreign-key graph once.

peewee's ``Model.bind(db)`` binds the model and everything reachable from it
through foreign keys; calling it for each of N linked models walked the whole
graph N times (41,200 ``set_database`` calls for 200 tables, a quarter of a
``check`` of such a project). ``db.bind_models`` binds each reachable model
once, and binds exactly what peewee's walk binds."""
from __future__ import annotations

import peewee
import pytest

import store


def chain(n):
    """n models, each with a foreign key to the one before (one component)."""
    models = []
    for i in range(n):
        attrs = {"__module__": __name__, "Meta": type("Meta", (), {"table_name": f"link_{i}"})}
        if models:
            attrs["prev"] = store.ForeignKeyField(models[-1], null=True)
        models.append(type(f"Link{i}", (store.Model,), attrs))
    return models


def test_bind_models_sets_each_model_once(db, monkeypatch):
    models = chain(60)
    calls = []
    original = peewee.Metadata.set_database

    def counting(meta, database):
        calls.append(meta.model)
        return original(meta, database)

    monkeypatch.setattr(peewee.Metadata, "set_database", counting)
    db.bind_models(models)
    assert len(calls) == len(models)
    assert all(m._meta.database is db for m in models)


@pytest.mark.parametrize("refs,backrefs", [(True, True), (True, False), (False, True),
                                           (False, False)])
def test_bind_models_binds_what_peewee_binds(db, refs, backrefs):
    models = chain(5)
    other = peewee.SqliteDatabase(":memory:")
    for m in models:
        m._meta.set_database(other)
    db.bind_models([models[2]], bind_refs=refs, bind_backrefs=backrefs)
    ours = [m._meta.database is db for m in models]
    for m in models:
        m._meta.set_database(other)
    models[2].bind(db, bind_refs=refs, bind_backrefs=backrefs)
    assert ours == [m._meta.database is db for m in models]
