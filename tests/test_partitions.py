"""store.partitions: daily range partitions on PostgreSQL, a plain indexed
table on SQLite; the same model code and queries give the same rows."""
from __future__ import annotations

import datetime as dt

import peewee
import pytest

import store
from store.introspect import read_schema
from store.partitions import (MissingPartition, Partition, PartitionedModel,
                              create_partitions, drop_partitions_before, list_partitions,
                              partition_name)

D0 = dt.date(2024, 1, 30)
DAYS = [D0 + dt.timedelta(days=i) for i in range(4)]      # crosses a month end


class Reading(PartitionedModel):
    taken_on = store.DateField()
    sensor = store.CharField(max_length=20)
    value = store.DoubleField()

    class Meta:
        partition_key = "taken_on"
        checks = [store.Check("value_non_negative", "value >= 0")]
        indexes = ((("sensor",), False),)


def native(db) -> bool:
    return db.features.name == "postgresql"


def attempt(db, action):
    try:
        with db.atomic():
            action()
    except Exception as exc:          # noqa: BLE001 - the caller asserts on it
        return exc
    return None


def rows_for(day_values):
    return [{"taken_on": day, "sensor": f"s{i % 4}", "value": float(v)}
            for i, (day, v) in enumerate(day_values)]


def sample():
    return rows_for((DAYS[i % 3], i) for i in range(12))


def located(db, table):
    """{id: the table that physically holds the row}."""
    if not native(db):
        return {i: table for (i,) in db.execute_sql(f'SELECT id FROM "{table}"')}
    return dict(db.execute_sql(f'SELECT id, tableoid::regclass::text FROM "{table}"'))


# --- the table -----------------------------------------------------------------------

def test_table_shape_per_backend(db, tables):
    tables(Reading)
    table = read_schema(db, tables=["reading"]).table("reading")
    indexes = {i.name: i.columns for i in table.indexes}
    assert indexes["ix_reading_sensor"] == ("sensor",)
    assert table.check("ck_reading_value_non_negative") is not None
    if native(db):
        assert table.primary_key == ("id", "taken_on")
        strategy, key = db.execute_sql(
            "SELECT p.partstrat, a.attname FROM pg_partitioned_table p "
            "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
            "WHERE p.partrelid = to_regclass('reading')").fetchone()
        assert (strategy, key) == ("r", "taken_on")
        assert "ix_reading_taken_on" not in indexes
    else:
        assert table.primary_key == ("id",)
        assert indexes["ix_reading_taken_on"] == ("taken_on",)
    assert table.column("id").autoincrement


def test_drop_table_takes_partitions_and_key_index(db, tables):
    tables(Reading)
    create_partitions(db, Reading, D0, 2)
    db.drop_tables([Reading])
    left = read_schema(db).names()
    assert not [name for name in left if name.startswith("reading")]


# --- managing partitions ------------------------------------------------------------------

def test_create_list_and_drop_partitions(db, tables):
    tables(Reading)
    created = create_partitions(db, Reading, D0, 3)
    again = create_partitions(db, Reading, D0, 4)
    if not native(db):       # SQLite: documented no-ops
        assert created == again == list_partitions(db, Reading) == []
        assert drop_partitions_before(db, Reading, DAYS[3]) == []
        return
    assert created == ["reading_p20240130", "reading_p20240131", "reading_p20240201"]
    assert again == ["reading_p20240202"]                   # only the missing one
    listed = list_partitions(db, Reading)
    assert listed == [Partition(partition_name(Reading, d), d, d + dt.timedelta(days=1))
                      for d in DAYS]
    Reading.insert_many(sample()).execute()
    assert drop_partitions_before(db, Reading, DAYS[2]) == ["reading_p20240130",
                                                            "reading_p20240131"]
    assert [p.start for p in list_partitions(db, Reading)] == DAYS[2:]
    assert sorted({r.taken_on for r in Reading.select()}) == [DAYS[2]]
    assert drop_partitions_before(db, Reading, DAYS[2]) == []


def test_default_partition_made_by_hand_is_listed_last_and_kept(db, tables):
    tables(Reading)
    create_partitions(db, Reading, D0, 1)
    if native(db):
        db.execute_sql('CREATE TABLE "reading_default" PARTITION OF "reading" DEFAULT')
    listed = list_partitions(db, Reading)
    if not native(db):
        assert listed == []
        return
    assert listed[-1] == Partition("reading_default", None, None)
    assert drop_partitions_before(db, Reading, dt.date(2030, 1, 1)) == ["reading_p20240130"]
    assert list_partitions(db, Reading) == [Partition("reading_default", None, None)]


def test_partition_names_fit_postgres_identifiers():
    class AReadingModelWithAVeryLongNameThatNeedsShorteningForPartitions(PartitionedModel):
        taken_on = store.DateField()

        class Meta:
            partition_key = "taken_on"

    name = partition_name(AReadingModelWithAVeryLongNameThatNeedsShorteningForPartitions,
                          dt.date(2024, 12, 31))
    assert len(name) <= 63 and name.endswith("_p20241231")
    assert partition_name(Reading, dt.date(5, 6, 7)) == "reading_p00050607"


def test_bad_arguments_and_models_are_refused(db, tables):
    tables(Reading)
    for bad in (dict(start="2024-01-01", days=1), dict(start=dt.datetime(2024, 1, 1), days=1),
                dict(start=D0, days=-1), dict(start=D0, days=1.5), dict(start=D0, days=True)):
        with pytest.raises(store.ConfigError):
            create_partitions(db, Reading, **bad)
    with pytest.raises(store.ConfigError):
        drop_partitions_before(db, Reading, "2024-01-01")

    class NoKey(PartitionedModel):
        taken_on = store.DateField()

    class WrongKey(PartitionedModel):
        taken_at = store.DateTimeTZField()

        class Meta:
            partition_key = "taken_at"

    class NullKey(PartitionedModel):
        taken_on = store.DateField(null=True)

        class Meta:
            partition_key = "taken_on"

    for model, words in ((NoKey, "Meta.partition_key"), (WrongKey, "DateField"),
                         (NullKey, "NOT NULL")):
        db.bind_models([model])
        with pytest.raises(store.ConfigError) as info:
            db.create_tables([model])
        assert words in str(info.value) and model.__name__ in str(info.value)
        with pytest.raises(store.ConfigError):
            create_partitions(db, model, D0, 1)

    class Missing(PartitionedModel):
        taken_on = store.DateField()

        class Meta:
            partition_key = "taken_on"

    db.bind_models([Missing])
    if native(db):
        with pytest.raises(store.ConfigError, match="does not exist"):
            create_partitions(db, Missing, D0, 1)
    else:
        assert create_partitions(db, Missing, D0, 1) == []


# --- writes and reads ---------------------------------------------------------------------

def test_inserts_route_to_the_partition_of_their_day(db, tables):
    tables(Reading)
    create_partitions(db, Reading, D0, 3)
    Reading.insert_many(sample()).execute()
    single = Reading.create(taken_on=DAYS[1], sensor="x", value=1.5)
    where = located(db, "reading")
    assert len(where) == 13
    for row in Reading.select():
        expected = partition_name(Reading, row.taken_on) if native(db) else "reading"
        assert where[row.id] == expected
    assert where[single.id] == (f"reading_p{DAYS[1]:%Y%m%d}" if native(db) else "reading")


def test_one_day_query_touches_one_partition(db, tables):
    tables(Reading)
    create_partitions(db, Reading, D0, 4)
    Reading.insert_many(sample()).execute()
    query = Reading.select().where(Reading.taken_on == DAYS[1])
    sql, params = query.sql()
    if native(db):
        plan = "\n".join(r[0] for r in db.execute_sql("EXPLAIN " + sql, params))
        scanned = {name for name in (partition_name(Reading, d) for d in DAYS) if name in plan}
        assert scanned == {partition_name(Reading, DAYS[1])}, plan
    else:
        plan = " ".join(str(r[-1]) for r in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
        assert "USING INDEX ix_reading_taken_on" in plan, plan
    assert sorted(r.value for r in query) == [1.0, 4.0, 7.0, 10.0]


def test_day_without_partition(db, tables):
    """PostgreSQL refuses it with MissingPartition and writes nothing;
    SQLite has no partitions and accepts it (documented difference)."""
    tables(Reading)
    create_partitions(db, Reading, D0, 1)
    late = dt.date(2024, 2, 29)
    kept = Reading.create(taken_on=D0, sensor="a", value=1)
    actions = {
        "create": lambda: Reading.create(taken_on=late, sensor="a", value=1),
        "insert_many": lambda: Reading.insert_many(
            rows_for([(D0, 2), (late, 3)])).execute(),
        "update": lambda: Reading.update(taken_on=late).where(Reading.id == kept.id).execute(),
    }
    for label, action in actions.items():
        error = attempt(db, action)
        if native(db):
            assert isinstance(error, MissingPartition), (label, error)
            assert isinstance(error, store.ConstraintViolation)
            assert isinstance(error, peewee.IntegrityError)
            assert (error.kind, error.table, error.column, error.day) == \
                ("partition", "reading", "taken_on", late)
            assert "reading" in str(error) and "2024-02-29" in str(error)
            assert error.__cause__ is not None
        else:
            assert error is None, (label, error)
    by_day = sorted((r.taken_on, r.value) for r in Reading.select())
    if native(db):
        assert by_day == [(D0, 1.0)]                        # nothing half-written
    else:                                                   # all three went through
        assert by_day == [(D0, 2.0), (late, 1.0), (late, 1.0), (late, 3.0)]


def test_constraint_errors_name_the_table_not_the_partition(db, tables):
    tables(Reading)
    create_partitions(db, Reading, D0, 2)
    first = Reading.create(taken_on=D0, sensor="a", value=1)
    error = attempt(db, lambda: Reading.create(taken_on=DAYS[1], sensor="a", value=-1))
    assert isinstance(error, store.CheckViolation)
    assert (error.table, error.constraint) == ("reading", "ck_reading_value_non_negative")
    error = attempt(db, lambda: Reading.insert(id=first.id, taken_on=D0, sensor="b",
                                               value=2).execute())
    assert isinstance(error, store.UniqueViolation)
    assert (error.table, error.constraint) == ("reading", "reading_pkey")
    error = attempt(db, lambda: Reading.update(value=-5).where(Reading.id == first.id)
                    .execute())
    assert (type(error), error.table, error.constraint) == \
        (store.CheckViolation, "reading", "ck_reading_value_non_negative")
    assert Reading.get_by_id(first.id).value == 1


def test_orm_identity_is_the_id(db, tables):
    tables(Reading)
    create_partitions(db, Reading, D0, 3)
    reading = Reading.create(taken_on=D0, sensor="a", value=1)
    other = Reading.create(taken_on=D0, sensor="b", value=2)
    assert reading.id != other.id
    again = Reading.get_by_id(reading.id)
    again.value, again.taken_on = 9.5, DAYS[2]             # moves to another day
    again.save()
    assert located(db, "reading")[reading.id] == \
        (partition_name(Reading, DAYS[2]) if native(db) else "reading")
    assert (Reading.get_by_id(reading.id).value, Reading.get_by_id(reading.id).taken_on) == \
        (9.5, DAYS[2])
    assert Reading.get_by_id(other.id).value == 2
    again.delete_instance()
    assert [r.id for r in Reading.select()] == [other.id]


def _scenario(database):
    """The same model code and queries; returns what they read."""
    database.bind_models([Reading])
    database.create_tables([Reading])
    create_partitions(database, Reading, D0, 4)
    Reading.insert_many(sample()).execute()
    Reading.update(value=Reading.value * 2).where(Reading.taken_on == DAYS[2]).execute()
    Reading.delete().where(Reading.sensor == "s2").execute()
    one_day = [(r.taken_on, r.sensor, r.value) for r in
               Reading.select().where(Reading.taken_on == DAYS[1]).order_by(Reading.id)]
    per_day = list(Reading.select(Reading.taken_on, peewee.fn.COUNT(Reading.id),
                                  peewee.fn.SUM(Reading.value))
                   .group_by(Reading.taken_on).order_by(Reading.taken_on).tuples())
    span = [r.value for r in Reading.select().where(
        Reading.taken_on.between(DAYS[0], DAYS[1])).order_by(Reading.value)]
    return one_day, per_day, span


def test_same_model_code_gives_the_same_rows_on_both(db, request):
    other_url = (request.getfixturevalue("pg_url") if db.features.name == "sqlite"
                 else request.getfixturevalue("sqlite_url"))
    here = _scenario(db)
    other = store.connect(other_url)
    try:
        there = _scenario(other)
    finally:
        other.close()
        Reading.bind(db)
    assert here == there
    one_day, per_day, span = here
    assert [day for day, *_ in per_day] == DAYS[:3]
    assert one_day and all(day == DAYS[1] for day, *_ in one_day)
    assert span == sorted(span) and len(span) == 6
