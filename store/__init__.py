"""store: one set of Peewee models on SQLite (default) or PostgreSQL, by URL.

    import store

    db = store.connect()                       # URL: argument > DATABASE_URL >
                                               # setup.cfg [store] > sqlite:///store.db
    db = store.connect("postgresql://me@localhost/app", models=[Forecast])

    with store.open("sqlite:///notes.db", models=[Note]) as db:
        Note.create(text="hello")

The public API is what this module exports; everything else may change.
"""
from __future__ import annotations

from contextlib import contextmanager

from .errors import (AppendOnlyViolation, CheckViolation, ConfigError, ConstraintViolation,
                     ForeignKeyViolation, MigrationError, NotNullViolation,
                     StoreError, UniqueViolation, ValidationError)
from .fields import (AutoField, BigAutoField, BigIntegerField, BooleanField,
                     CharField, CompositeKey, DateField, DateTimeTZField,
                     DecimalField, DoubleField, EnumField, FloatField,
                     ForeignKeyField, IntegerField, JSONField,
                     SmallIntegerField, TextField, UUIDField, NOW, utcnow)
from .model import Check, Model, TimestampedModel
from .repository import MultipleRowsFound, Repository
from .url import DatabaseURL, parse_url

__all__ = [
    "connect", "open", "features", "parse_url", "DatabaseURL",
    "Model", "TimestampedModel", "Check", "Repository", "MultipleRowsFound",
    "AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField",
    "CompositeKey", "DateField", "DateTimeTZField", "DecimalField", "DoubleField",
    "EnumField", "FloatField", "ForeignKeyField", "IntegerField", "JSONField",
    "SmallIntegerField", "TextField", "UUIDField", "NOW", "utcnow",
    "StoreError", "ConfigError", "ValidationError", "MigrationError",
    "ConstraintViolation", "CheckViolation", "UniqueViolation",
    "ForeignKeyViolation", "NotNullViolation", "AppendOnlyViolation",
]


def connect(url: str | None = None, *, models=(), apps=(), **options):
    """Open the database for ``url`` and return a connected peewee Database.

    The URL comes from, in order: ``url``, ``DATABASE_URL``, ``setup.cfg``
    ``[store] database_url``, then ``sqlite:///store.db``. ``models`` are
    bound to the returned database (re-binding from another database is
    fine); ``apps`` (names such as ``"dental"``) bind every model of those
    apps, each in its namespace. Extra keyword options go to the peewee
    Database class.
    """
    from .config import resolve_url
    from .database import open_database

    resolved, _source = resolve_url(url)
    db = open_database(resolved, **options)
    db.connect(reuse_if_open=True)
    if models:
        db.bind_models(models)
    if apps:
        from .migrate.apps import load_apps
        from .namespaces import bind_app
        for app in load_apps(list(apps)):
            bind_app(db, app)
    return db


@contextmanager
def open(url: str | None = None, *, models=(), apps=(), **options):  # noqa: A001 - public name
    """``with store.open(url, models=[...]) as db:`` -- connect, bind, and on
    exit close the connection and re-bind the models to what they had before."""
    previous = {m: m._meta.database for m in models}
    db = connect(url, models=models, apps=apps, **options)
    try:
        yield db
    finally:
        if not db.is_closed():
            db.close()
        for model, old in previous.items():
            model.bind(old)


def features(db):
    """What the backend of ``db`` can do (a ``store.database.Features``)."""
    return db.features
