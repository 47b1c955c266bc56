"""Pieces shared by the inventory models."""
from __future__ import annotations

import store


def code_not_blank() -> store.Check:
    """``ck_<table>_code_not_blank``: a business code is not empty or blank."""
    return store.Check("code_not_blank", "length(trim(code)) > 0")


def between_0_and_1(column: str) -> store.Check:
    """``ck_<table>_<column>_range``: a probability-like value in [0, 1]."""
    return store.Check(f"{column}_range", f"{column} >= 0 AND {column} <= 1")


def non_negative(column: str) -> store.Check:
    """``ck_<table>_<column>_non_negative``."""
    return store.Check(f"{column}_non_negative", f"{column} >= 0")


def positive(column: str) -> store.Check:
    """``ck_<table>_<column>_positive``."""
    return store.Check(f"{column}_positive", f"{column} > 0")


class Lookup(store.TimestampedModel):
    """A small reference table: a unique business ``code``, a ``name`` and a
    free ``description``. Subclasses list ``code_not_blank()`` in their
    ``Meta.checks`` (a subclass's Meta.checks replaces its base's)."""

    code = store.CharField(max_length=30, unique=True)
    name = store.CharField(max_length=200)
    description = store.TextField(null=True)

    class Meta:
        abstract = True
