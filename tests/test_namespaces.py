"""Namespaces: two apps with the same table name side by side, and one app
migrated into several tenant namespaces with their own histories, on both
backends (a PostgreSQL schema / prefixed tables in the one SQLite file)."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import store
from store.errors import ConfigError
from store.introspect import read_schema
from store.migrate import App, StoreRouter, autogen, check_tables_disjoint
from store.migrate import migrate as migrate_apps
from store.migrate import status as migration_status
from store.namespaces import bind_app, legacy_path


class PricingModel(store.Model):
    brand = store.CharField(max_length=20)

    class Meta:
        table_name = "models"


class DentalModel(store.Model):
    name = store.CharField(max_length=20)
    version = store.IntegerField(default=1)

    class Meta:
        table_name = "models"


@pytest.fixture
def ns(db):
    """Unique namespace names; PostgreSQL schemas dropped afterwards."""
    made = []

    def make(label):
        name = f"{label}_{uuid.uuid4().hex[:8]}"
        made.append(name)
        return name
    yield make
    if db.features.name == "postgresql":
        if db.in_transaction():
            db.rollback()
        for name in made:
            db.execute_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def generated(tmp_path, name, models, namespace, db):
    app = App(name, models, tmp_path / "migrations" / name, namespace)
    backends = ({"sqlite": None} if db.features.name == "sqlite"
                else {"postgresql": db._admin})
    autogen.create(app, "initial", backends=backends)
    return app


@pytest.fixture(autouse=True)
def _admin(db, request):
    if db.features.name == "postgresql":
        db._admin = request.getfixturevalue("pg_database")


def test_same_table_name_in_two_namespaces(db, tmp_path, ns):
    pricing = generated(tmp_path, "pricing", [PricingModel], None, db)
    dental = generated(tmp_path, "dental", [DentalModel], ns("dental"), db)
    check_tables_disjoint([pricing, dental])
    migrate_apps(db, [pricing, dental])

    bind_app(db, pricing)
    bind_app(db, dental)
    PricingModel.create(brand="acme")
    DentalModel.create(name="crown", version=2)
    assert [m.brand for m in PricingModel.select()] == ["acme"]
    assert [(m.name, m.version) for m in DentalModel.select()] == [("crown", 2)]
    # two tables named "models", each with its own columns
    default = read_schema(db).table("models")
    scoped = read_schema(db, schema=dental.namespace).table("models")
    assert [c.name for c in default.columns] == ["id", "brand"]
    assert [c.name for c in scoped.columns] == ["id", "name", "version"]
    assert "dental_migrate_history" in read_schema(db, schema=dental.namespace).tables
    assert "dental_migrate_history" not in read_schema(db).tables
    if db.features.name == "sqlite":
        # one file: the namespace's tables are prefixed in it, no other file
        assert not Path(legacy_path(db, dental.namespace)).exists()
        names = {r[0] for r in db.execute_sql("SELECT name FROM sqlite_master").fetchall()}
        assert {"models", f"{dental.namespace}__models",
                f"{dental.namespace}__dental_migrate_history"} <= names
        assert DentalModel._meta.table_name == f"{dental.namespace}__models"
    else:
        assert (DentalModel._meta.schema, DentalModel._meta.table_name) == \
            (dental.namespace, "models")


def test_same_table_name_without_namespace_is_refused():
    one = App("pricing", [PricingModel], Path("m/pricing"))
    two = App("dental", [DentalModel], Path("m/dental"))
    with pytest.raises(ConfigError, match="apps 'pricing' and 'dental' both define table "
                                          "'models'; give one of them its own namespace"):
        check_tables_disjoint([one, two])


def test_one_app_in_several_tenant_namespaces(db, tmp_path, ns):
    base = generated(tmp_path, "pricing", [PricingModel], None, db)
    tenants = [App(base.name, base.models, base.migrations_dir, ns("user")) for _ in range(2)]
    migrate_apps(db, [base] + tenants)
    for i, tenant in enumerate(tenants):
        bind_app(db, tenant)
        PricingModel.create(brand=f"tenant{i}")
    bind_app(db, base)
    assert PricingModel.select().count() == 0                 # shared table untouched
    for i, tenant in enumerate(tenants):
        bind_app(db, tenant)
        assert [m.brand for m in PricingModel.select()] == [f"tenant{i}"]
        states = migration_status(db, [tenant])["pricing"]
        assert [(s.name, s.state) for s in states] == [("001_initial", "applied")]
    with StoreRouter(db, tenants[0]) as router:
        router.rollback(1)
    assert "models" not in read_schema(db, schema=tenants[0].namespace).tables
    assert "models" in read_schema(db, schema=tenants[1].namespace).tables
    bind_app(db, base)


def test_bad_namespace_name(db):
    with pytest.raises(ConfigError, match="namespace 'Bad-Name' must be a lower-case"):
        bind_app(db, App("x", [PricingModel], Path("m/x"), "Bad-Name"))


def test_reset_removes_an_empty_namespace(db, tmp_path, ns):
    from store.namespaces import drop_if_empty
    dental = generated(tmp_path, "dental", [DentalModel], ns("dental"), db)
    migrate_apps(db, [dental])
    assert not drop_if_empty(db, dental.namespace)          # tables still there
    with StoreRouter(db, dental) as router:
        router.rollback(None)
        router.model.drop_table()
    assert drop_if_empty(db, dental.namespace)
    if db.features.name == "postgresql":
        assert db.execute_sql("SELECT count(*) FROM pg_namespace WHERE nspname = %s",
                              (dental.namespace,)).fetchone()[0] == 0
    else:
        assert not Path(legacy_path(db, dental.namespace)).exists()
        assert db.execute_sql("SELECT count(*) FROM sqlite_master WHERE name LIKE ?",
                              (f"{dental.namespace}%",)).fetchone()[0] == 0


def test_pricing_app_in_two_tenant_namespaces(db, ns):
    """Seed 002: the shared tables beside per-tenant copies user_<id>."""
    import dataclasses
    from store.apps.pricing import BrandGroup
    from store.migrate import load_apps
    root = Path(__file__).resolve().parents[1] / "migrations"
    (pricing,) = load_apps(["pricing"], root=root)
    tenants = [dataclasses.replace(pricing, namespace=ns("user")) for _ in range(2)]
    migrate_apps(db, tenants)
    for i, tenant in enumerate(tenants):
        bind_app(db, tenant)
        BrandGroup.create(brand=f"brand{i}", group_name="g", base_price="10.00")
    for i, tenant in enumerate(tenants):
        bind_app(db, tenant)
        assert [b.brand for b in BrandGroup.select()] == [f"brand{i}"]
        history = read_schema(db, schema=tenant.namespace).tables
        assert {"brand_groups", "models", "pricing_migrate_history"} <= set(history)
    bind_app(db, pricing)
    assert "brand_groups" not in read_schema(db).tables     # the shared copy is separate


def test_constraint_errors_name_table_and_constraint_inside_a_namespace(db, tmp_path, ns):
    """The same names as in the default schema, on both backends."""
    class Owner(store.Model):
        name = store.CharField(max_length=10, unique=True)

        class Meta:
            table_name = "owners"

    class Pet(store.Model):
        owner = store.ForeignKeyField(Owner, on_delete="RESTRICT")
        legs = store.IntegerField()

        class Meta:
            table_name = "pets"
            checks = [store.Check("legs_few", "legs < 9")]

    app = generated(tmp_path, "zoo", [Owner, Pet], ns("zoo"), db)
    migrate_apps(db, [app])
    bind_app(db, app)
    owner = Owner.create(name="ann")
    Pet.create(owner=owner, legs=4)
    cases = [
        (lambda: Pet.create(owner=999, legs=4), store.ForeignKeyViolation,
         "pets", "fk_pets_owner_id_owners"),
        (lambda: owner.delete_instance(), store.ForeignKeyViolation,
         "pets", "fk_pets_owner_id_owners"),
        (lambda: Pet.create(owner=owner, legs=12), store.CheckViolation,
         "pets", "ck_pets_legs_few"),
        (lambda: Owner.create(name="ann"), store.UniqueViolation,
         "owners", "uq_owners_name"),
    ]
    for action, kind, table, constraint in cases:
        with pytest.raises(kind) as info:
            with db.atomic():
                action()
        assert (info.value.table, info.value.constraint) == (table, constraint)
    assert Pet.select().count() == 1
