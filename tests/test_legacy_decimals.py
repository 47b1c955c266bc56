"""Files written by store 0.1 (decimals as scaled integers on SQLite) are
refused before a wrong number is read, and converted by a migration,
exactly. PostgreSQL always had NUMERIC: there the same steps change nothing.

``data/pricing_store01.sql`` is a real store 0.1 file (pricing at
001_initial with rows), as sqlite3's ``iterdump()`` printed it."""
from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

import store
from store import legacy
from store.introspect import read_schema
from store.migrate import load_app, migrate, status
from store.migrate.ddl import ddl_for

V01_PRICING = Path(__file__).parent / "data" / "pricing_store01.sql"
# what store 0.1 wrote into that file, as the numbers they are
V01_BRAND_GROUPS = [("b0", Decimal("25.50"), Decimal("1.25")), ("b1", Decimal("5.00"), Decimal("0.50")),
                    ("b2", Decimal("500.00"), Decimal("1.50")), ("b3", Decimal("123.45"), Decimal("1.00"))]
V01_COEFFICIENTS = [("501", Decimal("1.40")), ("Big E", Decimal("3.00"))]


class Ledger(store.Model):
    amount = store.DecimalField(12, 2, null=True)
    rate = store.DecimalField(5, 3, server_default=Decimal("1.5"))


VALUES = [Decimal("9.90"), Decimal("-0.01"), Decimal("9999999999.99"), None, Decimal("0")]


def _pricing_as_v01_left_it(db, backend_url, tmp_path):
    """SQLite: the store 0.1 file. PostgreSQL: pricing at 001 with the same rows."""
    from store.apps.pricing.models import BrandGroup, ProductModel
    app = load_app("pricing")
    if not db.features.native_decimal:
        path = Path(db.database)
        db.close()
        with sqlite3.connect(path) as conn:
            conn.executescript(V01_PRICING.read_text())
        conn.close()
        db.connect()
        return app
    migrate(db, [app], to="001_initial")
    db.bind_models(app.models)
    for brand, price, sens in V01_BRAND_GROUPS:
        BrandGroup.create(brand=brand, group_name="jeans", base_price=price,
                          condition_sensitivity=sens)
    for model, coefficient in V01_COEFFICIENTS:
        ProductModel.create(brand="b0", group_name="jeans", model=model, coefficient=coefficient)
    return app


def test_v01_file_is_refused_then_converted_exactly(db, backend_url, tmp_path):
    from store.apps.pricing.models import BrandGroup, ProductModel
    app = _pricing_as_v01_left_it(db, backend_url, tmp_path)
    # 001 was edited on purpose since 0.1 (its SQLite CHECKs); the file names
    # the old checksum, so the migration counts as applied, not edited
    assert [s.state for s in status(db, [app])["pricing"]] == ["applied", "pending"]
    db.bind_models(app.models)
    if not db.features.native_decimal:
        assert db.execute_sql("SELECT base_price FROM brand_groups ORDER BY id").fetchone() == (2550,)
        with pytest.raises(store.MigrationError) as info:
            legacy.refuse_scaled_decimals(db, app.models, "pricing")
        message = str(info.value)
        assert "brand_groups.base_price" in message and "models.coefficient" in message
        assert "store migrate" in message
    migrate(db, [app])
    assert legacy.scaled_decimal_columns(db, app.models) == []
    got = [(b.brand, b.base_price, b.condition_sensitivity)
           for b in BrandGroup.select().order_by(BrandGroup.id)]
    assert got == V01_BRAND_GROUPS
    assert [str(p) for _, p, _ in got] == ["25.50", "5.00", "500.00", "123.45"]
    assert [(m.model, m.coefficient) for m in ProductModel.select().order_by(ProductModel.id)] \
        == V01_COEFFICIENTS
    # SQL sees the numbers; the seed's CHECK, written once, holds for raw SQL
    assert BrandGroup.select().where(BrandGroup.base_price * 2 > 200).count() == 2
    assert [s.state for s in status(db, [app])["pricing"]] == ["applied", "applied"]
    with pytest.raises(store.CheckViolation, match="ck_brand_groups_base_price"):
        with db.atomic():
            db.execute_sql("INSERT INTO brand_groups (brand, group_name, base_price) "
                           "VALUES ('a', 'b', 4.99)")
    db.execute_sql("INSERT INTO brand_groups (brand, group_name, base_price) VALUES ('a', 'b', 5.00)")
    assert BrandGroup.select().where(BrandGroup.base_price == Decimal("5")).count() == 2


def test_connect_refuses_a_v01_file_until_migrated(db, backend_url, tmp_path):
    """store.connect(apps=...) never hands out models that would read 2550
    as 2550.00."""
    _pricing_as_v01_left_it(db, backend_url, tmp_path)
    native = db.features.native_decimal
    db.close()
    if native:
        store.connect(backend_url, apps=["pricing"]).close()
    else:
        with pytest.raises(store.MigrationError, match="scaled integers"):
            store.connect(backend_url, apps=["pricing"])
    again = store.connect(backend_url, apps=["pricing"], migrate=True)    # converts
    from store.apps.pricing.models import BrandGroup
    assert BrandGroup.select(BrandGroup.base_price.sum()).scalar() == Decimal("653.95")
    again.close()


def _make_v01_table(db):
    """A user's own table as store 0.1 wrote it on SQLite (INTEGER(p, s), the
    number times 10**s, a scaled DEFAULT); the same model's table on PostgreSQL."""
    if db.features.native_decimal:
        db.bind_models([Ledger])
        db.create_tables([Ledger])
        Ledger.insert_many([{"amount": v, "rate": Decimal("0.125")} for v in VALUES]).execute()
        return
    db.execute_sql('CREATE TABLE "ledger" ("id" INTEGER NOT NULL PRIMARY KEY, '
                   '"amount" INTEGER(12, 2), "rate" INTEGER(5, 3) NOT NULL DEFAULT 1500)')
    for v in VALUES:
        db.execute_sql('INSERT INTO "ledger" ("amount", "rate") VALUES (?, 125)',
                       (None if v is None else int(v.scaleb(2)),))
    db.bind_models([Ledger])


def test_a_users_table_is_found_and_upgraded_exactly(db):
    _make_v01_table(db)
    found = legacy.scaled_decimal_columns(db, [Ledger])
    assert found == ([] if db.features.native_decimal else ["ledger.amount", "ledger.rate"])
    ddl = ddl_for(db)
    with db.atomic():
        ddl.upgrade_decimal_storage("ledger", "amount", Ledger.amount)
        ddl.upgrade_decimal_storage("ledger", "rate", Ledger.rate)
    assert legacy.scaled_decimal_columns(db, [Ledger]) == []
    legacy.refuse_scaled_decimals(db, [Ledger], "books")
    rows = list(Ledger.select().order_by(Ledger.id))
    assert [r.amount for r in rows] == VALUES
    assert [str(r.amount) for r in rows if r.amount is not None] == \
        ["9.90", "-0.01", "9999999999.99", "0.00"]
    assert {r.rate for r in rows} == {Decimal("0.125")}
    # the column's DEFAULT is the number too, for raw SQL
    db.execute_sql('INSERT INTO "ledger" ("amount") VALUES (1.5)')
    assert Ledger.select(Ledger.rate).order_by(Ledger.id.desc()).scalar() == Decimal("1.500")
    assert Ledger.select().where(Ledger.amount * 2 > 19).count() == 2
    schema = read_schema(db)
    with db.atomic():                      # converted already: nothing to do
        ddl.upgrade_decimal_storage("ledger", "amount", Ledger.amount)
    assert read_schema(db) == schema
    assert [r.amount for r in Ledger.select().order_by(Ledger.id)] == VALUES + [Decimal("1.50")]


def test_a_plain_integer_column_is_not_taken_for_store_01(db):
    """Only store 0.1's INTEGER(p, s) is the old form: an integer column that
    the models now declare a decimal (its migration not yet run) is not."""
    db.execute_sql('CREATE TABLE "ledger" ("id" INTEGER NOT NULL PRIMARY KEY, '
                   '"amount" INTEGER, "rate" INTEGER NOT NULL DEFAULT 1)')
    db.bind_models([Ledger])
    assert legacy.scaled_decimal_columns(db, [Ledger]) == []
