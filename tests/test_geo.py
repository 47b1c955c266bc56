"""store.geo: GeoJSON with an indexed bounding box; ``within`` gives the
same rows on SQLite and PostgreSQL and is answered from the index on both."""
from __future__ import annotations

import math

import peewee
import pytest

import store
from store.geo import BBOX_COLUMNS, GeoModel, Rect, bounding_box, within
from store.introspect import read_schema


class Spot(GeoModel):
    name = store.CharField(max_length=20, unique=True)


class Zone(GeoModel):
    code = store.CharField(max_length=10)

    class Meta:
        checks = [store.Check("code_upper", "upper(code) = code")]
        indexes = ((("code",), True),)


def point(x, y):
    return {"type": "Point", "coordinates": [x, y]}


def square(x, y, size):
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size],
                                                [x, y + size], [x, y]]]}


def box(obj):
    return tuple(getattr(obj, c) for c in BBOX_COLUMNS)


def stored_box(model, pk):
    return box(model.get_by_id(pk))


def attempt(db, action):
    try:
        with db.atomic():
            action()
    except Exception as exc:          # noqa: BLE001 - the caller asserts on it
        return exc
    return None


# --- bounding boxes --------------------------------------------------------------------

@pytest.mark.parametrize("geometry, expected", [
    (point(3, -4), (3, -4, 3, -4)),
    ({"type": "Point", "coordinates": [1.5, 2, 99]}, (1.5, 2, 1.5, 2)),        # z ignored
    ({"type": "MultiPoint", "coordinates": [[1, 5], [-2, 3]]}, (-2, 3, 1, 5)),
    ({"type": "LineString", "coordinates": [[0, 0], [4, -1]]}, (0, -1, 4, 0)),
    ({"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[5, 5], [6, -6]]]},
     (0, -6, 6, 5)),
    (square(10, 20, 5), (10, 20, 15, 25)),
    ({"type": "MultiPolygon", "coordinates": [square(0, 0, 1)["coordinates"],
                                              square(-3, 7, 2)["coordinates"]]},
     (-3, 0, 1, 9)),
    (None, None),
])
def test_bounding_box_of_each_geojson_type(geometry, expected):
    assert bounding_box(geometry) == (Rect(*expected) if expected else None)


BAD_GEOMETRIES = [
    ([1, 2], "dict"),
    ({"type": "Circle", "coordinates": [0, 0]}, "Circle"),
    ({"type": "Point"}, "coordinates"),
    ({"type": "Point", "coordinates": [1]}, "position"),
    ({"type": "Point", "coordinates": [1, "2"]}, "finite numbers"),
    ({"type": "Point", "coordinates": [1, math.nan]}, "finite numbers"),
    ({"type": "Point", "coordinates": [True, 2]}, "finite numbers"),
    ({"type": "LineString", "coordinates": [[0, 0]]}, "at least 2"),
    ({"type": "MultiPoint", "coordinates": []}, "non-empty"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "ring"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "ring"),
    ({"type": "Polygon", "coordinates": [[0, 0], [1, 0], [1, 1], [0, 0]]}, "position"),
]


def test_bad_geometry_is_refused_before_the_database(db, tables):
    tables(Spot)
    for geometry, words in BAD_GEOMETRIES:
        with pytest.raises(store.ValidationError) as info:
            Spot.create(name="bad", geometry=geometry)
        assert info.value.field == "spot.geometry"
        assert words in info.value.reason, (geometry, info.value.reason)
    spot = Spot.create(name="ok", geometry=point(1, 1))
    for write in (lambda: Spot.insert(name="bad", geometry=BAD_GEOMETRIES[1][0]),
                  lambda: Spot.insert_many([{"name": "bad", "geometry": [1]}]),
                  lambda: Spot.update(geometry={"type": "Line"})):
        with pytest.raises(store.ValidationError):
            write()
    assert [(s.name, box(s)) for s in Spot.select()] == [("ok", (1, 1, 1, 1))]
    assert spot.id is not None


# --- the box follows the geometry on every write path ----------------------------------

def test_box_is_written_by_every_write_path(db, tables):
    tables(Spot)
    created = Spot.create(name="create", geometry=square(0, 0, 2))
    assert box(created) == (0, 0, 2, 2) == stored_box(Spot, created.id)

    created.geometry = point(7, 8)
    created.save()
    assert box(created) == (7, 8, 7, 8) == stored_box(Spot, created.id)

    created.geometry = square(1, 1, 1)
    created.save(only=[Spot.geometry])
    assert stored_box(Spot, created.id) == (1, 1, 2, 2)

    pk = Spot.insert(name="insert", geometry=point(-1, -2), min_x=500).execute()
    assert stored_box(Spot, pk) == (-1, -2, -1, -2)          # given box overwritten

    Spot.insert_many([{"name": "many-dict", "geometry": square(5, 5, 1)},
                      {Spot.name: "many-field", Spot.geometry: point(0, 9)}]).execute()
    Spot.insert_many([("tuple", point(4, 4))], fields=[Spot.name, Spot.geometry]).execute()
    by_name = {s.name: box(s) for s in Spot.select()}
    assert by_name["many-dict"] == (5, 5, 6, 6)
    assert by_name["many-field"] == (0, 9, 0, 9)
    assert by_name["tuple"] == (4, 4, 4, 4)

    Spot.update(geometry=square(2, 3, 4)).where(Spot.name == "insert").execute()
    assert stored_box(Spot, pk) == (2, 3, 6, 7)
    Spot.update({Spot.geometry: None}).where(Spot.name == "insert").execute()
    assert stored_box(Spot, pk) == (None, None, None, None)
    Spot.update(name="renamed").where(Spot.id == pk).execute()     # no geometry: box kept
    bare = Spot.create(name="bare")
    assert box(bare) == (None,) * 4 == stored_box(Spot, bare.id)


def test_box_checks_refuse_raw_inconsistent_rows(db, tables):
    tables(Spot)
    spot = Spot.create(name="a", geometry=square(0, 0, 3))
    error = attempt(db, lambda: Spot.update(max_y=None).where(Spot.id == spot.id).execute())
    assert isinstance(error, store.CheckViolation)
    assert (error.table, error.constraint) == ("spot", "ck_spot_bbox_filled")
    error = attempt(db, lambda: Spot.update(min_y=10).where(Spot.id == spot.id).execute())
    assert isinstance(error, store.CheckViolation)
    assert error.constraint == "ck_spot_bbox_order"
    error = attempt(db, lambda: Spot.insert(name="raw", min_x=1, min_y=1, max_x=2,
                                            max_y=2).execute())
    assert isinstance(error, store.CheckViolation)               # a box without a geometry
    assert error.constraint == "ck_spot_bbox_filled"
    assert stored_box(Spot, spot.id) == (0, 0, 3, 3)


def test_subclass_keeps_its_own_checks_and_indexes(db, tables):
    tables(Zone)
    table = read_schema(db, tables=["zone"]).table("zone")
    checks = {c.name for c in table.checks}
    assert {"ck_zone_code_upper", "ck_zone_bbox_filled", "ck_zone_bbox_order"} <= checks
    indexes = {i.name: i.columns for i in table.indexes}
    assert indexes["uq_zone_code"] == ("code",)
    assert indexes["ix_zone_min_x_min_y_max_x_max_y"] == BBOX_COLUMNS
    error = attempt(db, lambda: Zone.create(code="low", geometry=point(0, 0)))
    assert isinstance(error, store.CheckViolation) and error.constraint == "ck_zone_code_upper"
    Zone.create(code="UP", geometry=point(0, 0))
    error = attempt(db, lambda: Zone.create(code="UP"))
    assert isinstance(error, store.UniqueViolation) and error.constraint == "uq_zone_code"


# --- within -----------------------------------------------------------------------------

LAYOUT = {
    "inside-point": point(2, 2),
    "corner-point": point(0, 0),                      # on the boundary: inside
    "edge-square": square(8, 8, 2),                   # touches (10, 10): inside
    "inside-square": square(3, 3, 1),
    "straddling": square(9, 9, 2),                    # partly outside
    "outside-point": point(11, 5),
    "below": point(5, -0.001),
    "line-inside": {"type": "LineString", "coordinates": [[1, 9], [9, 1]]},
    "line-out": {"type": "LineString", "coordinates": [[1, 1], [12, 1]]},
    "nowhere": None,
}
RECT = (0, 0, 10, 10)


def expected_within(rect):
    r = Rect(*rect)
    out = set()
    for name, geometry in LAYOUT.items():
        b = bounding_box(geometry)
        if b and r.min_x <= b.min_x and b.max_x <= r.max_x \
                and r.min_y <= b.min_y and b.max_y <= r.max_y:
            out.add(name)
    return out


def fill(database):
    database.bind_models([Spot])
    database.create_tables([Spot])
    Spot.insert_many([{"name": n, "geometry": g} for n, g in LAYOUT.items()]).execute()


def test_within_gives_the_rows_inside_the_rectangle(db, tables):
    tables(Spot)
    fill(db)
    for rect in (RECT, (0, 0, 2, 2), (-1, -1, 12, 12), (8.5, 8.5, 9, 9), Rect(3, 3, 4, 4)):
        found = {s.name for s in within(Spot, rect)}
        assert found == expected_within(rect), rect
    assert {s.name for s in within(Spot, RECT)} == {
        "inside-point", "corner-point", "edge-square", "inside-square", "line-inside"}
    narrowed = within(Spot, RECT, Spot.select(Spot.name).where(Spot.name.startswith("inside")))
    assert sorted(s.name for s in narrowed.order_by(Spot.name)) == ["inside-point",
                                                                    "inside-square"]
    assert within(Spot, RECT).count() == 5


def test_within_same_rows_on_both_backends(db, tables, request):
    other_url = (request.getfixturevalue("pg_url") if db.features.name == "sqlite"
                 else request.getfixturevalue("sqlite_url"))
    results = []
    for database in (db, store.connect(other_url)):
        try:
            fill(database)
            results.append([[s.name for s in within(Spot, rect).order_by(Spot.name)]
                            for rect in (RECT, (0, 0, 2, 2), (-1, -1, 12, 12))])
        finally:
            if database is not db:
                database.close()
                Spot.bind(db)
    assert results[0] == results[1]
    assert results[0][0] == sorted(expected_within(RECT))


def test_within_is_answered_from_the_box_index(db, tables):
    tables(Spot)
    fill(db)
    sql, params = within(Spot, RECT).sql()
    if db.features.name == "postgresql":
        with db.atomic():
            db.execute_sql("SET LOCAL enable_seqscan = off")
            plan = "\n".join(r[0] for r in db.execute_sql("EXPLAIN " + sql, params))
    else:
        plan = " ".join(str(r[-1]) for r in db.execute_sql("EXPLAIN QUERY PLAN " + sql,
                                                           params))
        assert plan.startswith("SEARCH") and "SCAN" not in plan, plan
    assert "ix_spot_min_x_min_y_max_x_max_y" in plan, plan


@pytest.mark.parametrize("rect", [(0, 0, 1), (1, 0, 0, 1), (0, 1, 1, 0), (0, 0, "1", 1),
                                  (0, 0, math.inf, 1), None])
def test_bad_rectangle_is_refused(rect):
    with pytest.raises(ValueError):
        within(Spot, rect)


def test_expression_geometry_is_left_to_the_checks(db, tables):
    """A geometry given as an SQL expression cannot be read in Python: no box
    is computed, and the CHECKs judge the row."""
    tables(Spot)
    Spot.insert(name="null", geometry=peewee.SQL("NULL")).execute()
    assert stored_box(Spot, Spot.get(Spot.name == "null").id) == (None,) * 4
    text = peewee.Value('{"type": "Point", "coordinates": [1, 1]}', converter=False)
    error = attempt(db, lambda: Spot.insert(name="text", geometry=text).execute())
    assert isinstance(error, store.CheckViolation), error
    assert error.constraint == "ck_spot_bbox_filled"
