"""EnumField, UUIDField, DateTimeTZField, CharField/TextField and the integer
fields: the same values back and the same refusals on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import enum
import re
import uuid

import peewee
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import store

UTC = dt.timezone.utc
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
PROPERTY = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def table_count(db, table):
    return db.execute_sql(f'SELECT count(*) FROM "{table}"').fetchone()[0]


# --- EnumField --------------------------------------------------------------------

class Status(enum.Enum):
    DRAFT = "draft"
    LIVE = "live"
    GONE = "it's gone"          # a quote inside the CHECK literal


class Post(store.Model):
    status = store.EnumField(Status)
    previous = store.EnumField(Status, null=True)


def pg_enum_types(db):
    return db.execute_sql("SELECT count(*) FROM pg_type WHERE typtype = 'e'").fetchone()[0]


def test_enum_round_trip_and_storage(db, tables):
    before = pg_enum_types(db) if db.features.name == "postgresql" else None
    tables(Post)
    a = Post.create(status=Status.LIVE)
    b = Post.create(status="it's gone", previous=Status.DRAFT)
    assert Post.get_by_id(a.id).status is Status.LIVE
    assert Post.get_by_id(a.id).previous is None
    assert Post.get_by_id(b.id).status is Status.GONE
    assert Post.get_by_id(b.id).previous is Status.DRAFT
    raw = db.execute_sql("SELECT status FROM post ORDER BY id").fetchall()
    assert [r[0] for r in raw] == ["live", "it's gone"]
    assert [p.id for p in Post.select().where(Post.status == Status.GONE)] == [b.id]
    assert [p.id for p in Post.select().where(Post.status.in_(["live", Status.DRAFT]))] == [a.id]
    if db.features.name == "postgresql":
        assert pg_enum_types(db) == before          # never a PostgreSQL enum type
        (kind,) = db.execute_sql(
            "SELECT data_type FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = 'post' AND column_name = 'status'"
        ).fetchone()
        assert kind == "character varying"


@pytest.mark.parametrize("bad", ["LIVE", "Live", "", "nope", 1, {"v": 1}, ["live"]])
def test_enum_invalid_value_refused_before_db(db, tables, bad):
    tables(Post)
    with pytest.raises(store.ValidationError) as info:
        Post.create(status=bad)
    assert info.value.field == "post.status"
    with pytest.raises(store.ValidationError):
        Post.insert_many([{"status": bad}]).execute()
    assert table_count(db, "post") == 0


def test_enum_other_enum_refused(db, tables):
    class Other(enum.Enum):
        LIVE = "live"
    tables(Post)
    with pytest.raises(store.ValidationError):
        Post.create(status=Other.LIVE)
    assert table_count(db, "post") == 0


def test_enum_check_in_database(db, tables):
    tables(Post)
    with pytest.raises(store.CheckViolation) as info:
        with db.atomic():
            db.execute_sql("INSERT INTO post (status) VALUES ('LIVE')")
    assert info.value.constraint == "ck_post_status_enum"
    assert info.value.table == "post"
    assert "ck_post_status_enum" in str(info.value)
    db.execute_sql("INSERT INTO post (status) VALUES ('live')")
    assert Post.get().status is Status.LIVE


def test_enum_config_errors():
    class Numbers(enum.Enum):
        ONE = 1
    with pytest.raises(store.ConfigError):
        store.EnumField(Numbers)
    with pytest.raises(store.ConfigError):
        store.EnumField("not an enum")


# --- UUIDField --------------------------------------------------------------------

class Thing(store.Model):
    id = store.UUIDField(primary_key=True)
    ref = store.UUIDField(null=True)


def test_uuid_primary_key_generated_in_python(db, tables):
    tables(Thing)
    thing = Thing()
    assert isinstance(thing.id, uuid.UUID) and thing.id.version == 4
    before = thing.id
    thing.save(force_insert=True)
    assert thing.id == before
    created = Thing.create()
    assert created.id != thing.id
    back = Thing.get_by_id(created.id)
    assert isinstance(back.id, uuid.UUID) and back.id == created.id
    assert {t.id for t in Thing.select()} == {thing.id, created.id}


def test_uuid_storage(db, tables):
    tables(Thing)
    value = uuid.UUID("12345678-9ABC-4DEF-8123-456789ABCDEF")
    Thing.create(id=value, ref=str(value).upper())
    row = db.execute_sql("SELECT id, ref FROM thing").fetchone()
    if db.features.name == "postgresql":
        (kind,) = db.execute_sql(
            "SELECT data_type FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = 'thing' AND column_name = 'id'").fetchone()
        assert kind == "uuid"
        assert row == (value, value)
    else:
        assert row == ("12345678-9abc-4def-8123-456789abcdef",) * 2
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                            row[0])
    back = Thing.get(Thing.ref == value.hex)              # any accepted spelling queries
    assert back.id == value and back.ref == value
    assert isinstance(back.ref, uuid.UUID)


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", 12, "12345678-9abc-4def-8123-456789abcdeg",
                                 b"short"])
def test_uuid_bad_value(db, tables, bad):
    tables(Thing)
    with pytest.raises(store.ValidationError) as info:
        Thing.create(ref=bad)
    assert info.value.field == "thing.ref"
    assert table_count(db, "thing") == 0


def test_uuid_property_round_trip(db, tables):
    tables(Thing)

    @PROPERTY
    @given(st.uuids())
    def check(value):
        Thing.delete().execute()
        Thing.create(id=value, ref=value)
        back = Thing.get(Thing.ref == value)
        assert back.id == value and back.ref == value

    check()


# --- DateTimeTZField ----------------------------------------------------------------

class Event(store.Model):
    at = store.DateTimeTZField(null=True)


def test_datetime_stored_utc_returned_aware(db, tables):
    tables(Event)
    local = dt.datetime(2024, 3, 10, 17, 45, 30, 123456, tzinfo=IST)
    pk = Event.create(at=local).id
    back = Event.get_by_id(pk).at
    assert back == local
    assert back.tzinfo is not None and back.utcoffset() == dt.timedelta(0)
    assert back == dt.datetime(2024, 3, 10, 12, 15, 30, 123456, tzinfo=UTC)
    assert back.microsecond == 123456
    assert Event.select().where(Event.at == local).count() == 1
    assert Event.select().where(
        Event.at == dt.datetime(2024, 3, 10, 12, 15, 30, 123456, tzinfo=UTC)).count() == 1
    if db.features.name == "sqlite":
        raw = db.execute_sql("SELECT at FROM event").fetchone()[0]
        assert raw == "2024-03-10 12:15:30.123456+00:00"
    else:
        (kind,) = db.execute_sql(
            "SELECT data_type FROM information_schema.columns WHERE table_schema ="
            " current_schema() AND table_name = 'event' AND column_name = 'at'").fetchone()
        assert kind == "timestamp with time zone"


def test_datetime_order_across_timezones(db, tables):
    tables(Event)
    base = dt.datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    zones = [dt.timezone(dt.timedelta(hours=h)) for h in (-11, -5, 0, 5, 14)]
    # local clock times that sort differently from their instants
    values = [(base + dt.timedelta(minutes=7 * i)).astimezone(zones[(i * 3) % len(zones)])
              for i in range(12)]
    values.append(dt.datetime(2024, 1, 1, 12, 0, 0, 1, tzinfo=UTC))
    for v in values:
        Event.create(at=v)
    got = [e.at for e in Event.select().order_by(Event.at)]
    assert got == sorted(values)
    assert got != sorted(values, key=lambda v: v.replace(tzinfo=None))
    later = Event.select().where(Event.at > dt.datetime(2024, 1, 1, 18, 0, tzinfo=IST))
    assert sorted(e.at for e in later) == sorted(
        v for v in values if v > dt.datetime(2024, 1, 1, 12, 30, tzinfo=UTC))


@pytest.mark.parametrize("bad", [dt.datetime(2024, 1, 1), "2024-01-01 00:00:00",
                                 "yesterday", dt.date(2024, 1, 1), 1700000000])
def test_datetime_bad_values(db, tables, bad):
    tables(Event)
    with pytest.raises(store.ValidationError) as info:
        Event.create(at=bad)
    assert info.value.field == "event.at"
    assert table_count(db, "event") == 0


def test_datetime_aware_string_accepted(db, tables):
    tables(Event)
    pk = Event.create(at="2024-06-01T08:00:00+02:00").id
    assert Event.get_by_id(pk).at == dt.datetime(2024, 6, 1, 6, 0, tzinfo=UTC)


def test_datetime_out_of_range_after_utc_conversion(db, tables):
    tables(Event)
    for bad in (dt.datetime(1, 1, 1, 0, 0, tzinfo=IST),
                dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.timezone(-dt.timedelta(hours=5)))):
        with pytest.raises(store.ValidationError):
            Event.create(at=bad)
    assert table_count(db, "event") == 0


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: dt.timezone(dt.timedelta(minutes=m)))
aware = st.builds(lambda naive, tz: naive.replace(tzinfo=tz),
                  st.datetimes(min_value=dt.datetime(1, 1, 2),
                               max_value=dt.datetime(9999, 12, 30)),
                  offsets)


def test_datetime_property_round_trip(db, tables):
    tables(Event)

    @PROPERTY
    @given(aware)
    def check(value):
        Event.delete().execute()
        pk = Event.create(at=value).id
        back = Event.get_by_id(pk).at
        assert back == value
        assert back.utcoffset() == dt.timedelta(0)
        assert back.replace(tzinfo=None) == value.astimezone(UTC).replace(tzinfo=None)
        assert Event.select().where(Event.at == value).count() == 1

    check()


# --- CharField / TextField --------------------------------------------------------------

class Note(store.Model):
    title = store.CharField(max_length=5)
    body = store.TextField(null=True)


def test_char_max_length_on_write(db, tables):
    tables(Note)
    Note.create(title="héllo")                       # 5 characters, not bytes
    Note.create(title="\U0001F600" * 5)
    with pytest.raises(store.ValidationError) as info:
        Note.create(title="toolong")
    assert info.value.field == "note.title"
    assert "max_length=5" in str(info.value)
    pk = Note.get().id
    with pytest.raises(store.ValidationError):
        Note.update(title="abcdef").where(Note.id == pk).execute()
    with pytest.raises(store.ValidationError):
        Note.insert_many([("abcdef", None)], fields=[Note.title, Note.body]).execute()
    assert sorted(n.title for n in Note.select()) == sorted(["héllo", "\U0001F600" * 5])


def test_char_max_length_in_database(db, tables):
    tables(Note)
    if db.features.name == "sqlite":
        with pytest.raises(store.CheckViolation) as info:
            db.execute_sql("INSERT INTO note (title) VALUES ('abcdef')")
        assert info.value.constraint == "ck_note_title_max_length"
    else:
        with pytest.raises(peewee.DataError):          # varchar(5) itself
            with db.atomic():
                db.execute_sql("INSERT INTO note (title) VALUES ('abcdef')")
        (length,) = db.execute_sql(
            "SELECT character_maximum_length FROM information_schema.columns WHERE "
            "table_schema = current_schema() AND table_name = 'note' AND "
            "column_name = 'title'").fetchone()
        assert length == 5
    db.execute_sql("INSERT INTO note (title) VALUES ('abcde')")
    assert table_count(db, "note") == 1


@pytest.mark.parametrize("column, value", [
    ("title", "a\x00b"), ("body", "x\x00"), ("body", "\x00"), ("title", "\x00")])
def test_nul_character_refused(db, tables, column, value):
    tables(Note)
    data = {"title": "ok", column: value}
    with pytest.raises(store.ValidationError, match="NUL") as info:
        Note.create(**data)
    assert info.value.field == f"note.{column}"
    assert table_count(db, "note") == 0


def test_text_round_trip(db, tables):
    tables(Note)
    body = "line\nnext\ttab 'quote' \"dq\" \\ ünïcødé \U0001F600 " * 200
    pk = Note.create(title="t", body=body).id
    assert Note.get_by_id(pk).body == body


# --- integers -----------------------------------------------------------------------------

class Counter(store.Model):
    n = store.IntegerField(null=True)
    s = store.SmallIntegerField(null=True)
    b = store.BigIntegerField(null=True)


@pytest.mark.parametrize("field, value", [
    ("n", 2 ** 31), ("n", -2 ** 31 - 1), ("n", 10 ** 12),
    ("s", 2 ** 15), ("s", -2 ** 15 - 1), ("s", 10 ** 5),
    ("b", 2 ** 63), ("b", -2 ** 63 - 1),
    ("n", 1.5), ("n", "12x"), ("n", float("nan")), ("n", float("inf")), ("s", [1]),
])
def test_integer_out_of_range_or_not_integer(db, tables, field, value):
    tables(Counter)
    with pytest.raises(store.ValidationError) as info:
        Counter.create(**{field: value})
    assert info.value.field == f"counter.{field}"
    assert table_count(db, "counter") == 0


def test_integer_bounds_fit(db, tables):
    tables(Counter)
    low = Counter.create(n=-2 ** 31, s=-2 ** 15, b=-2 ** 63)
    high = Counter.create(n=2 ** 31 - 1, s=2 ** 15 - 1, b=2 ** 63 - 1)
    assert (Counter.get_by_id(low.id).n, Counter.get_by_id(low.id).s,
            Counter.get_by_id(low.id).b) == (-2 ** 31, -2 ** 15, -2 ** 63)
    assert (Counter.get_by_id(high.id).n, Counter.get_by_id(high.id).s,
            Counter.get_by_id(high.id).b) == (2 ** 31 - 1, 2 ** 15 - 1, 2 ** 63 - 1)
    Counter.create(n=3.0, s="7")                     # integral values are fine
    assert Counter.select().where(Counter.n == 3, Counter.s == 7).count() == 1


def test_integer_where_with_big_numbers(db, tables):
    tables(Counter)
    for v in (1, 2 ** 31 - 1, -5):
        Counter.create(n=v, s=v if abs(v) < 2 ** 15 else None)
    assert Counter.select().where(Counter.n < 10 ** 12).count() == 3
    assert Counter.select().where(Counter.n > -10 ** 12).count() == 3
    assert Counter.select().where(Counter.n > 2 ** 31).count() == 0
    assert Counter.select().where(Counter.s < 2 ** 20).count() == 2
    assert Counter.select().where(Counter.n.between(-10 ** 10, 10 ** 10)).count() == 3


def test_integer_decimal_fraction_refused(db, tables):
    from decimal import Decimal
    tables(Counter)
    with pytest.raises(store.ValidationError):
        Counter.create(n=Decimal("1.5"))
    Counter.create(n=Decimal("2"))
    assert Counter.get().n == 2


def test_float_field_keeps_double_precision_on_both(db):
    class Reading(store.Model):
        value = store.FloatField()

        class Meta:
            table_name = "reading_precision"
            database = db
    Reading.create_table()
    Reading.create(value=1000.123456789)
    assert Reading.get().value == 1000.123456789
    assert Reading.select().where(Reading.value == 1000.123456789).count() == 1


def test_enum_check_name_option(db):
    class Sized(store.Model):
        size = store.EnumField(enum.Enum("Size", [("S", "s"), ("M", "m")]),
                               check_name="check_size")

        class Meta:
            table_name = "sized"
            database = db
    Sized.create_table()
    with pytest.raises(store.CheckViolation) as info:
        db.execute_sql("INSERT INTO sized (size) VALUES ('xl')")
    assert info.value.constraint == "ck_sized_check_size"
