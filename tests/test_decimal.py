"""DecimalField: exact decimals, the same digits, order, sums and rounding on
SQLite and PostgreSQL, both ``NUMERIC(p, s)`` holding the number itself, so
that SQL (arithmetic, comparisons, CHECKs, raw inserts) sees it too."""
from __future__ import annotations

from decimal import Decimal

import peewee
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import store

PROPERTY = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


class Account(store.Model):
    name = store.CharField(max_length=20, null=True)
    amount = store.DecimalField(10, 2, null=True)


class Wide(store.Model):
    big = store.DecimalField(15, 4)
    whole = store.DecimalField(5, 0, null=True)


def amounts(*values):
    return [Account.create(name=str(i), amount=v).id for i, v in enumerate(values)]


def test_scale_kept_on_read(db, tables):
    tables(Account)
    pk = Account.create(amount=Decimal("0.1")).id
    back = Account.get_by_id(pk).amount
    assert isinstance(back, Decimal)
    assert str(back) == "0.10"
    assert back.as_tuple().exponent == -2
    assert str(Account.create(amount=7).amount) == "7"       # instance keeps input
    assert str(Account.get(Account.amount == 7).amount) == "7.00"


def test_property_round_trip_10_2(db, tables):
    tables(Account)

    @PROPERTY
    @given(st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"),
                       places=2, allow_nan=False, allow_infinity=False))
    def check(value):
        Account.delete().execute()
        pk = Account.create(amount=value).id
        back = Account.get_by_id(pk).amount
        assert back == value
        assert back.as_tuple().exponent == -2
        assert Account.select().where(Account.amount == value).count() == 1

    check()


def test_property_round_trip_15_4(db, tables):
    tables(Wide)
    limit = Decimal("99999999999.9999")

    @PROPERTY
    @given(st.decimals(min_value=-limit, max_value=limit, places=4,
                       allow_nan=False, allow_infinity=False),
           st.integers(min_value=-99999, max_value=99999))
    def check(big, whole):
        Wide.delete().execute()
        pk = Wide.create(big=big, whole=whole).id
        row = Wide.get_by_id(pk)
        assert (row.big, row.whole) == (big, whole)
        assert str(row.big) == str(big.quantize(Decimal("0.0001")))
        assert str(row.whole) == str(whole)

    check()


def test_extremes_fit(db, tables):
    tables(Wide)
    for value in (Decimal("99999999999.9999"), Decimal("-99999999999.9999"),
                  Decimal("0.0001"), Decimal("0")):
        pk = Wide.create(big=value).id
        assert Wide.get_by_id(pk).big == value


def test_order_by_and_where(db, tables):
    tables(Account)
    values = ["1.50", "-3.25", "10.00", "1.49", "1.51", "0.00", "-0.01", "2"]
    amounts(*[Decimal(v) for v in values])
    ordered = [a.amount for a in Account.select().order_by(Account.amount)]
    assert ordered == sorted(Decimal(v) for v in values)
    assert [str(a) for a in ordered] == ["-3.25", "-0.01", "0.00", "1.49", "1.50",
                                         "1.51", "2.00", "10.00"]
    above = sorted(a.amount for a in Account.select().where(Account.amount > Decimal("1.50")))
    assert above == [Decimal("1.51"), Decimal("2"), Decimal("10")]
    assert Account.select().where(Account.amount >= Decimal("1.5")).count() == 4
    assert Account.select().where(Account.amount < 0).count() == 2
    assert Account.select().where(Account.amount == Decimal("1.50")).count() == 1
    assert Account.select().where(Account.amount.between(Decimal("1.49"),
                                                         Decimal("1.51"))).count() == 3
    assert Account.select().where(Account.amount.in_([Decimal("2"), Decimal("10")])).count() == 2
    # WHERE operands are rounded to the scale like written values, on both
    assert Account.select().where(Account.amount > Decimal("1.505")).count() == 2
    assert Account.select().where(Account.amount >= Decimal("1.495")).count() == 4
    # numbers far outside the column's range still compare
    assert Account.select().where(Account.amount < Decimal("1e20")).count() == 8
    assert Account.select().where(Account.amount > -10 ** 30).count() == 8
    assert Account.select().where(Account.amount > Decimal("1e20")).count() == 0


def test_sum_of_ten_thousand_cents_is_exact(db, tables):
    tables(Account)
    with db.atomic():
        for _ in range(10):
            Account.insert_many([{"amount": Decimal("0.01")}] * 1000).execute()
    total = Account.select(Account.amount.sum()).scalar()
    assert isinstance(total, Decimal)
    assert total == Decimal("100.00") and str(total) == "100.00"
    average = Account.select(Account.amount.avg()).scalar()
    assert isinstance(average, Decimal) and str(average) == "0.01"
    # the same with float arithmetic would not be exact
    assert sum([0.01] * 10_000) != 100.0


def test_sum_and_avg(db, tables):
    tables(Account)
    assert str(Account.select(Account.amount.sum()).scalar()) == "0.00"
    assert Account.select(Account.amount.avg()).scalar() is None
    amounts(Decimal("1.10"), Decimal("2.20"), Decimal("-0.05"), None)
    total = Account.select(Account.amount.sum()).scalar()
    assert str(total) == "3.25"
    average = Account.select(Account.amount.avg()).scalar()
    assert isinstance(average, Decimal)
    assert str(average) == "1.08"             # 3.25 / 3 = 1.0833.. -> 1.08
    grouped = (Account.select(Account.name, Account.amount.sum().alias("s"))
               .group_by(Account.name).order_by(Account.name))
    assert [(r.name, r.s) for r in grouped] == [
        ("0", Decimal("1.10")), ("1", Decimal("2.20")), ("2", Decimal("-0.05")),
        ("3", Decimal("0.00"))]                 # sum() is 0 when no value


def test_avg_rounds_half_away_from_zero(db, tables):
    tables(Account)
    amounts(Decimal("0.01"), Decimal("0.02"))           # avg 0.015 -> 0.02
    assert str(Account.select(Account.amount.avg()).scalar()) == "0.02"
    Account.delete().execute()
    amounts(Decimal("-0.01"), Decimal("-0.02"))         # -0.015 -> -0.02
    assert str(Account.select(Account.amount.avg()).scalar()) == "-0.02"


@pytest.mark.parametrize("given_value, stored", [
    (Decimal("0.125"), "0.13"), (Decimal("-0.125"), "-0.13"),
    (Decimal("0.135"), "0.14"), (Decimal("2.675"), "2.68"),
    (Decimal("0.124999"), "0.12"), (Decimal("-0.005"), "-0.01"),
    (0.125, "0.13"), (-0.125, "-0.13"), (2.675, "2.68"),      # floats by their repr
    ("1.005", "1.01"), (3, "3.00"),
])
def test_rounding_half_away_from_zero(db, tables, given_value, stored):
    tables(Account)
    pk = Account.create(amount=given_value).id
    assert str(Account.get_by_id(pk).amount) == stored
    if db.features.name == "postgresql":
        # PostgreSQL's own NUMERIC rounding agrees with what store wrote
        (native,) = db.execute_sql("SELECT CAST(%s AS NUMERIC(10, 2))",
                                   (str(given_value),)).fetchone()
        assert str(native) == stored


@pytest.mark.parametrize("bad", [
    Decimal("100000000.00"), Decimal("-100000000"), Decimal("99999999.995"),
    10 ** 9, 1e300,
    Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), float("nan"), float("-inf"),
    "abc", "", "1,5", [1], object(),
])
def test_bad_values_raise_validation_error(db, tables, bad):
    tables(Account)
    with pytest.raises(store.ValidationError) as info:
        Account.create(amount=bad)
    assert info.value.field == "account.amount"
    with pytest.raises(store.ValidationError):
        Account.insert_many([{"amount": bad}]).execute()
    pk = Account.create(amount=Decimal("1")).id
    with pytest.raises(store.ValidationError):
        Account.update(amount=bad).where(Account.id == pk).execute()
    assert [a.amount for a in Account.select()] == [Decimal("1.00")]


def test_largest_value_fits(db, tables):
    tables(Account)
    pk = Account.create(amount=Decimal("99999999.99")).id
    assert str(Account.get_by_id(pk).amount) == "99999999.99"
    pk = Account.create(amount=Decimal("-99999999.994")).id      # rounds to fit
    assert str(Account.get_by_id(pk).amount) == "-99999999.99"


@pytest.mark.parametrize("kwargs", [
    {"max_digits": 16}, {"max_digits": 18}, {"max_digits": 38, "decimal_places": 2},
    {"max_digits": 0}, {"max_digits": True},
    {"max_digits": 5, "decimal_places": 6}, {"max_digits": 10, "decimal_places": -1},
    {"max_digits": 10.0},
])
def test_precision_limits_are_config_errors(kwargs):
    with pytest.raises(store.ConfigError):
        store.DecimalField(**kwargs)


def test_max_digits_15_is_allowed():
    field = store.DecimalField(15, 6)
    assert (field.max_digits, field.decimal_places) == (15, 6)
    assert store.fields.MAX_DIGITS == 15


def test_column_types(db, tables):
    tables(Account)
    if db.features.name == "postgresql":
        row = db.execute_sql(
            "SELECT data_type, numeric_precision, numeric_scale FROM "
            "information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = 'account' AND column_name = 'amount'").fetchone()
        assert row == ("numeric", 10, 2)
    else:
        (kind,) = db.execute_sql(
            "SELECT type FROM pragma_table_info('account') WHERE name = 'amount'").fetchone()
        assert kind.upper().replace(" ", "") == "NUMERIC(10,2)"   # NUMERIC affinity
    Account.create(amount=Decimal("12.34"))
    (raw,) = db.execute_sql("SELECT amount FROM account").fetchone()
    assert float(raw) == 12.34                # the number itself, for any SQL client


# --- SQL sees the number (issue: scaled integers made every SQL wrong) -----------

class Priced(store.Model):
    price = store.DecimalField(10, 2)

    class Meta:
        # written once, in the seed's own words, for both backends
        checks = [store.Check("ck_priced_price", "price >= 5.00 AND price <= 500.00")]


def test_sql_arithmetic_and_comparison_see_the_number(db, tables):
    tables(Account)
    amounts(Decimal("9.90"), Decimal("60.00"))
    doubled = sorted(Decimal(repr(v)) if isinstance(v, float) else v for (v,) in
                     db.execute_sql("SELECT amount * 2 FROM account").fetchall())
    assert doubled == [Decimal("19.80"), Decimal("120.00")]
    assert Account.select().where(Account.amount * 2 > 100).count() == 1
    assert Decimal(str(Account.select(Account.amount * 2)
                       .where(Account.amount < 10).scalar())) == Decimal("19.8")
    assert Account.select().where(Account.amount + 0.1 > 10).count() == 1


def test_raw_insert_reads_back_exact(db, tables):
    tables(Account)
    db.execute_sql("INSERT INTO account (name, amount) VALUES ('raw', 5.00)")
    db.execute_sql("INSERT INTO account (name, amount) VALUES ('raw2', 1234.5)")
    assert sorted(a.amount for a in Account.select()) == [Decimal("5.00"), Decimal("1234.50")]
    assert [str(a.amount) for a in Account.select().order_by(Account.amount)] == \
        ["5.00", "1234.50"]


def test_one_check_text_serves_both_backends(db, tables):
    tables(Priced)
    Priced.create(price=Decimal("5.00"))
    Priced.create(price=Decimal("500.00"))
    db.execute_sql("INSERT INTO priced (price) VALUES (5.00)")      # raw, the seed's bound
    for bad in (Decimal("4.99"), Decimal("500.01")):
        with pytest.raises(store.CheckViolation) as info:
            with db.atomic():
                Priced.create(price=bad)
        assert info.value.constraint == "ck_priced_price"
    with pytest.raises(store.CheckViolation):
        with db.atomic():
            db.execute_sql("INSERT INTO priced (price) VALUES (4.99)")
    assert Priced.select().count() == 3


def test_sum_having_compares_the_number(db, tables):
    tables(Account)
    Account.create(name="a", amount=Decimal("60.00"))
    Account.create(name="a", amount=Decimal("50.00"))
    Account.create(name="b", amount=Decimal("99.99"))
    rich = (Account.select(Account.name).group_by(Account.name)
            .having(Account.amount.sum() > 100).order_by(Account.name))
    assert [r.name for r in rich] == ["a"]
    assert [r.name for r in Account.select(Account.name).group_by(Account.name)
            .having(Account.amount.avg() < 60)] == ["a"]


class Big(store.Model):
    amount = store.DecimalField(15, 2)


def test_sum_of_fifteen_digit_values_is_exact(db, tables):
    tables(Big)
    Big.insert_many([{"amount": Decimal("899999999999.99")}] * 10).execute()
    Big.create(amount=Decimal("-0.01"))
    total = Big.select(Big.amount.sum()).scalar()
    assert str(total) == "8999999999999.89"
    assert str(Big.select(Big.amount.avg()).scalar()) == "818181818181.81"


def test_sum_beyond_exact_range_is_refused_on_sqlite_only(db, tables):
    """Documented difference: SQLite has no exact type for a sum of more than
    2**53 units of the last place; store refuses it there (never rounds)."""
    tables(Big)
    Big.insert_many([{"amount": Decimal("9999999999999.99")}] * 10).execute()
    if db.features.native_decimal:
        assert str(Big.select(Big.amount.sum()).scalar()) == "99999999999999.90"
    else:
        with pytest.raises(peewee.OperationalError, match="integer overflow"):
            Big.select(Big.amount.sum()).scalar()
