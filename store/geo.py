"""Portable geometry: GeoJSON plus an indexed bounding box, the same on
SQLite and PostgreSQL, no extension needed.

A model that subclasses ``GeoModel`` gets

* ``geometry``: a GeoJSON geometry object (``Point``, ``MultiPoint``,
  ``LineString``, ``MultiLineString``, ``Polygon``, ``MultiPolygon``) in a
  ``JSONField`` (JSONB on PostgreSQL, checked JSON text on SQLite), or None;
* ``min_x``, ``min_y``, ``max_x``, ``max_y``: its bounding box (double
  precision), computed from the GeoJSON on every write through the model
  (``save``, ``create``, ``insert``, ``insert_many``, ``update``); values
  given for them are overwritten;
* an index ``ix_<table>_min_x_min_y_max_x_max_y`` on the box, and two named
  CHECKs: ``ck_<table>_bbox_filled`` (the box is set exactly when there is a
  geometry) and ``ck_<table>_bbox_order`` (min <= max).

Coordinates are planar numbers in any one frame per table (a floor plan in
metres, or longitude/latitude); nothing is projected. A malformed geometry
(unknown type, wrong nesting, a non-number or non-finite coordinate, a
polygon ring that is not closed or has fewer than 4 positions) raises
``ValidationError`` naming ``<table>.geometry`` before the database is
touched. Raw SQL that writes ``geometry`` must write the box too (the CHECKs
refuse a geometry without a box, not a wrong box).

``within(Model, rect)`` selects the rows whose geometry lies inside the
rectangle (boundary included). Because the rectangle is axis-aligned, a
geometry lies inside it exactly when its bounding box does, so the box test
is the whole answer, identical on both backends, and it is answered from the
box index on both (a range scan on ``min_x``, the other bounds checked in
the index).

PostGIS is not used: a real geometry column would be an optional addition
where the extension is installed; the default path needs none.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import peewee

from .fields import DoubleField, JSONField
from .model import Check, Model

__all__ = ["GeoModel", "Rect", "bounding_box", "within", "BBOX_COLUMNS"]

BBOX_COLUMNS = ("min_x", "min_y", "max_x", "max_y")

# GeoJSON type -> how deep positions are nested in "coordinates"
_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2,
          "Polygon": 2, "MultiPolygon": 3}


class Rect(NamedTuple):
    """An axis-aligned rectangle; ``min_* <= max_*``."""
    min_x: float
    min_y: float
    max_x: float
    max_y: float


def _position(value):
    if not isinstance(value, (list, tuple)) or not 2 <= len(value) <= 3:
        raise ValueError(f"a position is [x, y] or [x, y, z], got {value!r}")
    for number in value:
        if isinstance(number, bool) or not isinstance(number, (int, float)) \
                or not math.isfinite(number):
            raise ValueError(f"coordinates must be finite numbers, got {number!r}")
    return float(value[0]), float(value[1])


def _positions(coords, depth: int, kind: str):
    """Yield every (x, y) of ``coords`` nested ``depth`` deep, checking shape."""
    if depth == 0:
        yield _position(coords)
        return
    if not isinstance(coords, (list, tuple)) or not coords:
        raise ValueError(f"{kind} coordinates must be a non-empty list")
    ring_level = {"Polygon": 1, "MultiPolygon": 1}.get(kind)
    line_level = {"LineString": 1, "MultiLineString": 1}.get(kind)
    if depth == ring_level:
        points = [_position(p) for p in coords]
        if len(points) < 4 or points[0] != points[-1]:
            raise ValueError("a polygon ring needs at least 4 positions and "
                             "must end where it starts")
        yield from points
        return
    if depth == line_level and len(coords) < 2:
        raise ValueError("a line needs at least 2 positions")
    for item in coords:
        yield from _positions(item, depth - 1, kind)


def bounding_box(geometry) -> Rect | None:
    """The bounding box of a GeoJSON geometry (None for None); ValueError
    saying what is wrong for anything else."""
    if geometry is None:
        return None
    if not isinstance(geometry, dict):
        raise ValueError(f"a GeoJSON geometry object is a dict, got "
                         f"{type(geometry).__name__}")
    kind = geometry.get("type")
    if kind not in _DEPTH:
        raise ValueError(f"GeoJSON type {kind!r} is not one of {', '.join(_DEPTH)}")
    if "coordinates" not in geometry:
        raise ValueError(f"{kind} has no 'coordinates'")
    xs, ys = [], []
    for x, y in _positions(geometry["coordinates"], _DEPTH[kind], kind):
        xs.append(x)
        ys.append(y)
    return Rect(min(xs), min(ys), max(xs), max(ys))


_BBOX_INDEX = (BBOX_COLUMNS, False)
_BBOX_CHECKS = (
    Check("bbox_filled",
          "(geometry IS NULL AND min_x IS NULL AND min_y IS NULL AND max_x IS NULL "
          "AND max_y IS NULL) OR (geometry IS NOT NULL AND min_x IS NOT NULL AND "
          "min_y IS NOT NULL AND max_x IS NOT NULL AND max_y IS NOT NULL)"),
    Check("bbox_order", "min_x <= max_x AND min_y <= max_y"),
)


class GeoModel(Model):
    """Abstract base: ``geometry`` (GeoJSON) and its indexed bounding box.
    See the module docstring. A subclass's own ``Meta.checks`` and
    ``Meta.indexes`` are kept; the box CHECKs and index are added to them."""

    geometry = JSONField(null=True)
    min_x = DoubleField(null=True)
    min_y = DoubleField(null=True)
    max_x = DoubleField(null=True)
    max_y = DoubleField(null=True)

    class Meta:
        abstract = True

    @classmethod
    def validate_model(cls):
        super().validate_model()
        meta = cls._meta
        checks = list(getattr(meta, "checks", None) or ())
        names = {c.name for c in checks}
        meta.checks = checks + [c for c in _BBOX_CHECKS if c.name not in names]
        indexes = list(meta.indexes or ())
        if _BBOX_INDEX not in indexes:
            meta.indexes = indexes + [_BBOX_INDEX]

    # -- the box follows the geometry on every write ------------------------------
    @classmethod
    def _box_values(cls, geometry) -> dict:
        try:
            box = bounding_box(geometry)
        except ValueError as exc:
            raise cls.geometry.invalid(str(exc), geometry) from None
        return dict(zip(BBOX_COLUMNS, box or (None,) * 4))

    @classmethod
    def _with_box(cls, data: dict) -> dict:
        """``data`` (keyed by field or name) with the box of its geometry."""
        for key, value in data.items():
            if key is cls.geometry or (isinstance(key, str) and key == "geometry"):
                if isinstance(value, peewee.Node):
                    return data                 # an SQL expression: not ours to read
                by_name = isinstance(key, str)
                box = cls._box_values(value)
                out = {k: v for k, v in data.items()
                       if (k if isinstance(k, str) else getattr(k, "name", None))
                       not in BBOX_COLUMNS}
                for name, number in box.items():
                    out[name if by_name else cls._meta.fields[name]] = number
                return out
        return data

    @classmethod
    def insert(cls, __data=None, **insert):
        data = cls._normalize_data(__data, insert)
        if isinstance(data, dict):
            data = cls._with_box(data)
        return super().insert(data)

    @classmethod
    def insert_many(cls, rows, fields=None):
        if isinstance(rows, peewee.Node):
            return super().insert_many(rows, fields)
        rows = list(rows)
        if fields is not None or any(not isinstance(r, dict) for r in rows):
            names = fields if fields is not None else [
                f.name for f in (cls._meta.sorted_fields[1:] if cls._meta.auto_increment
                                 else cls._meta.sorted_fields)]
            names = [f if isinstance(f, str) else f.name for f in names]
            rows = [r if isinstance(r, dict) else dict(zip(names, r)) for r in rows]
        return super().insert_many([cls._with_box(r) for r in rows])

    @classmethod
    def update(cls, __data=None, **update):
        data = cls._normalize_data(__data, update)
        if isinstance(data, dict):
            data = cls._with_box(data)
        return super().update(data)

    def save(self, force_insert=False, only=None):
        for name, number in self._box_values(self.geometry).items():
            setattr(self, name, number)
        if only is not None:
            names = {f if isinstance(f, str) else f.name for f in only}
            if "geometry" in names:
                only = list(only) + [n for n in BBOX_COLUMNS if n not in names]
        return super().save(force_insert=force_insert, only=only)


def _rect(rect) -> Rect:
    try:
        rect = Rect(*rect)
    except TypeError:
        raise ValueError(f"a rectangle is (min_x, min_y, max_x, max_y), got {rect!r}") from None
    for number in rect:
        if isinstance(number, bool) or not isinstance(number, (int, float)) \
                or not math.isfinite(number):
            raise ValueError(f"rectangle bounds must be finite numbers, got {rect!r}")
    if rect.min_x > rect.max_x or rect.min_y > rect.max_y:
        raise ValueError(f"rectangle {tuple(rect)!r} has a min greater than its max")
    return rect


def within(model, rect, query=None):
    """Rows of ``model`` (a ``GeoModel``) whose geometry lies inside
    ``rect`` = (min_x, min_y, max_x, max_y), boundary included; rows without
    a geometry never match. Returns ``query`` (default ``model.select()``)
    narrowed by the box test, so it can be ordered, counted or filtered
    further. Same rows on SQLite and PostgreSQL, from the box index on both.
    """
    r = _rect(rect)
    query = model.select() if query is None else query
    # min_x is bounded on both sides (min_x <= max_x <= r.max_x) so the
    # index on (min_x, min_y, max_x, max_y) is scanned over a range.
    return query.where(model.min_x.between(r.min_x, r.max_x),
                       model.min_y.between(r.min_y, r.max_y),
                       model.max_x.between(r.min_x, r.max_x),
                       model.max_y.between(r.min_y, r.max_y))
