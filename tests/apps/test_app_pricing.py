"""The pricing app (seed 002) on SQLite and PostgreSQL: range CHECKs at every
boundary, the composite UNIQUEs, exact decimals, JSON array defaults, the
seed's indexes, its repositories (transactions owned by the caller, double
upsert), and on PostgreSQL the app's schema compared with the seed's DDL."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

import store
from store.apps.pricing import MODELS, BrandGroup, ProductModel
from store.apps.pricing.repositories import BrandGroupRepository, ModelRepository
from store.introspect import read_schema

UTC = dt.timezone.utc


@pytest.fixture
def pricing(db, tables):
    tables(*MODELS)
    return db


def brand_group(**values):
    row = {"brand": "Levi's", "group_name": "jeans", "base_price": Decimal("25")}
    row.update(values)
    return row


def product_model(**values):
    row = {"brand": "Levi's", "group_name": "jeans", "model": "501"}
    row.update(values)
    return row


# --- schema: the seed's names on both backends -----------------------------------

def test_models_and_the_seeds_indexes_in_the_live_schema(pricing):
    assert [m._meta.table_name for m in MODELS] == ["brand_groups", "models"]
    schema = read_schema(pricing, tables=["brand_groups", "models"])
    indexes = {t: {i.name: (i.columns, i.unique) for i in schema.table(t).indexes}
               for t in ("brand_groups", "models")}
    assert indexes["brand_groups"] == {
        "uq_brand_groups_brand_group": (("brand", "group_name"), True),
        "idx_brand_groups_brand": (("brand",), False),
        "idx_brand_groups_group": (("group_name",), False),
        "idx_brand_groups_created_at": (("created_at DESC",), False),
    }
    assert indexes["models"] == {
        "uq_models_brand_group_model": (("brand", "group_name", "model"), True),
        "idx_models_brand": (("brand",), False),
        "idx_models_group": (("group_name",), False),
        "idx_models_brand_group": (("brand", "group_name"), False),
        "idx_models_created_at": (("created_at DESC",), False),
    }
    stamps = ["created_at", "updated_at"]
    for table, columns, defaults in (
            ("brand_groups",
             ["id", "brand", "group_name", "base_price", "expected_origins",
              "expected_decades", "expected_trends", "condition_sensitivity"] + stamps,
             ["expected_origins", "expected_decades", "expected_trends",
              "condition_sensitivity"] + stamps),
            ("models",
             ["id", "brand", "group_name", "model", "coefficient", "expected_features"]
             + stamps,
             ["coefficient", "expected_features"] + stamps)):
        t = schema.table(table)
        assert [c.name for c in t.columns] == columns
        assert not any(c.nullable for c in t.columns)           # NOT NULL everywhere
        assert t.primary_key == ("id",) and t.column("id").autoincrement
        assert [c.name for c in t.columns if c.default is not None] == defaults
    checks = {c.name for t in ("brand_groups", "models") for c in schema.table(t).checks}
    assert {"ck_brand_groups_base_price", "ck_brand_groups_sensitivity",
            "ck_models_coefficient"} <= checks


# --- range CHECKs: every boundary, good and bad, on both backends -----------------

RANGES = [
    # model, row maker, column, good values, bad values, constraint
    (BrandGroup, brand_group, "base_price",
     ["5.00", "5", "500.00", "4.995", "250.5"], ["4.99", "4.994", "500.01", "0", "-5"],
     "ck_brand_groups_base_price"),
    (BrandGroup, brand_group, "condition_sensitivity",
     ["0.50", "1.50", "1", "0.495"], ["0.49", "1.51", "1.505", "0"],
     "ck_brand_groups_sensitivity"),
    (ProductModel, product_model, "coefficient",
     ["0.50", "3.00", "1.4", "2.5"], ["0.49", "3.01", "0", "-1"],
     "ck_models_coefficient"),
]


@pytest.mark.parametrize("model,row,column,good,bad,constraint", RANGES,
                         ids=[r[2] for r in RANGES])
def test_range_checks_accept_the_bounds_and_refuse_beyond(pricing, model, row, column,
                                                          good, bad, constraint):
    for n, text in enumerate(good):
        # values are rounded half away from zero to 2 places, then checked
        kept = model.create(**row(**{column: Decimal(text), "group_name": f"g{n}"}))
        stored = getattr(model.get_by_id(kept.id), column)
        assert stored == Decimal(text).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    for n, text in enumerate(bad):
        with pytest.raises(store.CheckViolation) as exc:
            model.create(**row(**{column: Decimal(text), "group_name": f"b{n}"}))
        assert (exc.value.table, exc.value.constraint) == (model._meta.table_name, constraint)
    assert model.select().count() == len(good)


def test_range_checks_bind_raw_sql_too(pricing):
    # the database enforces the seed's ranges, not only the ORM path
    field = BrandGroup.base_price
    backend = pricing.features.name
    insert = ("INSERT INTO brand_groups (brand, group_name, base_price) "
              "VALUES ('raw', '{g}', {v})")
    pricing.execute_sql(insert.format(g="ok", v=field.literal_on(backend, Decimal("500"))))
    with pytest.raises(store.CheckViolation) as exc:
        pricing.execute_sql(insert.format(g="bad", v=field.literal_on(backend, Decimal("500.01"))))
    assert exc.value.constraint == "ck_brand_groups_base_price"
    assert BrandGroup.get(BrandGroup.brand == "raw").base_price == Decimal("500.00")


def test_too_many_digits_name_the_field(pricing):
    cases = [(BrandGroup, brand_group(base_price=Decimal("100000000")), "brand_groups.base_price"),
             (BrandGroup, brand_group(condition_sensitivity=Decimal("10")),
              "brand_groups.condition_sensitivity"),
             (ProductModel, product_model(coefficient=Decimal("100")), "models.coefficient")]
    for model, row, field in cases:
        with pytest.raises(store.ValidationError) as exc:
            model.create(**row)
        assert exc.value.field == field
    with pytest.raises(store.CheckViolation):        # fits DECIMAL(10,2), not the range
        BrandGroup.create(**brand_group(group_name="x", base_price=Decimal("99999999.99")))


# --- UNIQUEs --------------------------------------------------------------------

def test_brand_group_unique(pricing):
    BrandGroup.create(**brand_group())
    BrandGroup.create(**brand_group(group_name="jackets"))       # other group: fine
    BrandGroup.create(**brand_group(brand="levi's"))              # case-sensitive on both
    with pytest.raises(store.UniqueViolation) as exc:
        BrandGroup.create(**brand_group(base_price=Decimal("30")))
    assert (exc.value.table, exc.value.constraint) == ("brand_groups",
                                                       "uq_brand_groups_brand_group")
    assert BrandGroup.select().count() == 3


def test_models_unique(pricing):
    ProductModel.create(**product_model())
    ProductModel.create(**product_model(model="Big E"))
    ProductModel.create(**product_model(group_name="jackets"))
    with pytest.raises(store.UniqueViolation) as exc:
        ProductModel.create(**product_model(coefficient=Decimal("2")))
    assert (exc.value.table, exc.value.constraint) == ("models", "uq_models_brand_group_model")
    assert ProductModel.select().count() == 3


# --- decimals, JSON, timestamps ---------------------------------------------------

def test_decimals_round_trip_quantized(pricing):
    prices = [Decimal("25"), Decimal("19.99"), 19.99, "5.5", Decimal("499.999")]
    for n, price in enumerate(prices):
        BrandGroup.create(**brand_group(group_name=f"g{n}", base_price=price,
                                        condition_sensitivity=Decimal("1.2")))
    read = [(str(b.base_price), str(b.condition_sensitivity))
            for b in BrandGroup.select().order_by(BrandGroup.id)]
    assert read == [(str(Decimal(str(p)).quantize(Decimal("0.01"), "ROUND_HALF_UP")), "1.20")
                    for p in prices]
    total = sum(Decimal(p) for p, _ in read)
    assert BrandGroup.select(BrandGroup.base_price.sum()).scalar() == total
    first = ProductModel.create(**product_model())
    assert str(ProductModel.get_by_id(first.id).coefficient) == "1.00"     # the default
    assert str(BrandGroup.get().condition_sensitivity) == "1.20"


def test_json_arrays_default_to_empty_on_the_orm_and_the_sql_path(pricing):
    orm = BrandGroup.create(**brand_group())
    pricing.execute_sql("INSERT INTO brand_groups (brand, group_name, base_price) "
                        f"VALUES ('raw', 'jeans', "
                        f"{BrandGroup.base_price.literal_on(pricing.features.name, 25)})")
    pricing.execute_sql("INSERT INTO models (brand, group_name, model) "
                        "VALUES ('raw', 'jeans', '501')")
    raw = BrandGroup.get(BrandGroup.brand == "raw")
    for row in (BrandGroup.get_by_id(orm.id), raw):
        assert (row.expected_origins, row.expected_decades, row.expected_trends) == ([], [], [])
        assert row.condition_sensitivity == Decimal("1.00")
    raw_model = ProductModel.get()
    assert raw_model.expected_features == [] and str(raw_model.coefficient) == "1.00"
    assert raw.created_at.tzinfo is not None and raw.updated_at.tzinfo is not None
    assert abs(raw.created_at - orm.created_at) < dt.timedelta(minutes=1)
    # the ORM and the DEFAULT store the same text/jsonb
    stored = pricing.execute_sql("SELECT expected_origins, condition_sensitivity "
                                 "FROM brand_groups ORDER BY id").fetchall()
    assert stored[0] == stored[1]


def test_json_arrays_round_trip_and_are_not_null(pricing):
    made = BrandGroup.create(**brand_group(expected_origins=["USA", "Mexico"],
                                           expected_decades=["1990s"],
                                           expected_trends=["vintage", "y2k"]))
    again = BrandGroup.get_by_id(made.id)
    assert again.expected_origins == ["USA", "Mexico"]
    assert (again.expected_decades, again.expected_trends) == (["1990s"], ["vintage", "y2k"])
    with pytest.raises(store.NotNullViolation) as exc:
        BrandGroup.create(**brand_group(group_name="x", expected_trends=None))
    assert (exc.value.table, exc.value.column) == ("brand_groups", "expected_trends")
    with pytest.raises(store.ValidationError) as exc:
        ProductModel.create(**product_model(expected_features=[float("nan")]))
    assert exc.value.field == "models.expected_features"


def test_timestamps_are_aware_and_updated_at_follows_saves(pricing):
    with pytest.raises(store.ValidationError) as exc:
        BrandGroup.create(**brand_group(created_at=dt.datetime(2024, 1, 1)))   # naive
    assert exc.value.field == "brand_groups.created_at"
    made = BrandGroup.create(**brand_group())
    before = BrandGroup.get_by_id(made.id)
    made.base_price = Decimal("30")
    made.save()
    after = BrandGroup.get_by_id(made.id)
    assert after.created_at == before.created_at and after.updated_at > before.updated_at
    assert after.updated_at.utcoffset() == dt.timedelta(0)


def test_repr_like_the_seed(pricing):
    bg = BrandGroup.create(**brand_group(brand="Nike", base_price=Decimal("25")))
    assert repr(BrandGroup.get_by_id(bg.id)) == \
        "<BrandGroup(brand='Nike', group='jeans', base_price=25.00)>"
    pm = ProductModel.create(**product_model(brand="Nike", coefficient=Decimal("1.4")))
    assert repr(ProductModel.get_by_id(pm.id)) == \
        "<Model(brand='Nike', group='jeans', model='501', coeff=1.40)>"


# --- repositories -------------------------------------------------------------------

def test_brand_group_repository(pricing):
    repo = BrandGroupRepository(pricing)
    made = repo.create(BrandGroup(**brand_group()))          # the seed's call
    assert isinstance(made.id, int)
    assert repo.find_by_brand_and_group("Levi's", "jeans").id == made.id
    assert repo.find_by_brand_and_group("Levi's", "shirts") is None
    assert repo.find_by_brand_and_group("LEVI'S", "jeans") is None
    t0 = dt.datetime(2025, 1, 1, tzinfo=UTC)
    for n in range(5):
        repo.create(**brand_group(group_name=f"g{n}", created_at=t0 + dt.timedelta(days=n % 3)))
    rows = list(BrandGroup.select())
    newest_first = [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)]
    pages = [repo.get_all(page=p, per_page=2) for p in (1, 2, 3, 4)]
    assert [r.id for p in pages for r in p] == newest_first
    assert [len(p) for p in pages] == [2, 2, 2, 0]
    assert repo.count() == 6 and repo.count(brand="Levi's", group_name="g1") == 1


def test_model_repository(pricing):
    repo = ModelRepository(pricing)
    for name in ("Big E", "501", "505"):
        repo.create(**product_model(model=name))
    repo.create(**product_model(group_name="jackets", model="Trucker"))
    found = repo.find_by_brand_group_model("Levi's", "jeans", "505")
    assert found is not None and found.model == "505"
    assert repo.find_by_brand_group_model("Levi's", "jeans", "517") is None
    listed = repo.find_by_brand_and_group("Levi's", "jeans")
    assert [m.model for m in listed] == sorted(["Big E", "501", "505"])
    assert repo.find_by_brand_and_group("Levi's", "shirts") == []
    assert repo.count() == 4
    assert [m.id for m in repo.get_all(per_page=2)] == \
        [m.id for m in sorted(ProductModel.select(), key=lambda m: (m.created_at, m.id),
                              reverse=True)][:2]


def test_repositories_leave_the_transaction_to_the_caller(pricing):
    groups, models = BrandGroupRepository(pricing), ModelRepository(pricing)
    with pricing.atomic() as txn:
        bg = groups.create(**brand_group())
        pm = models.create(**product_model())
        assert groups.get(bg.id) is not None and models.count() == 1
        txn.rollback()
    assert groups.get(bg.id) is None and models.get(pm.id) is None
    with pricing.atomic():
        groups.create(**brand_group())
        with pytest.raises(store.CheckViolation) as exc:   # refused, transaction usable
            groups.create(**brand_group(group_name="x", base_price=Decimal("1")))
        assert exc.value.constraint == "ck_brand_groups_base_price"
        models.create(**product_model())
    assert (groups.count(), models.count()) == (1, 1)


def test_double_upsert_is_idempotent(pricing):
    groups, models = BrandGroupRepository(pricing), ModelRepository(pricing)
    bg_rows = [brand_group(expected_origins=["USA", "Mexico"],
                           condition_sensitivity=Decimal("1")),
               brand_group(group_name="jackets", base_price=Decimal("40.5"),
                           expected_origins=[], condition_sensitivity=Decimal("0.8"))]
    pm_rows = [product_model(coefficient=Decimal("1.4"), expected_features=[]),
               product_model(model="Big E", coefficient=Decimal("2.5"),
                             expected_features=["selvedge", "chain_stitching"])]

    def state():
        return ([(b.id, b.brand, b.group_name, b.base_price, b.expected_origins,
                  b.condition_sensitivity, b.updated_at) for b in groups.find_all(order_by="id")],
                [(m.id, m.model, m.coefficient, m.expected_features, m.updated_at)
                 for m in models.find_all(order_by="id")])

    assert (groups.upsert(bg_rows), models.upsert(pm_rows)) == (2, 2)
    first = state()
    assert (groups.upsert(bg_rows), models.upsert(pm_rows)) == (0, 0)
    assert state() == first and (groups.count(), models.count()) == (2, 2)
    assert first[0][1][3] == Decimal("40.50") and first[1][1][3] == ["selvedge",
                                                                     "chain_stitching"]
    # a regenerated price updates in place: same id, new value
    assert groups.upsert([dict(bg_rows[1], base_price=Decimal("42"))]) == 1
    again = groups.find_by_brand_and_group("Levi's", "jackets")
    assert (again.id, again.base_price) == (first[0][1][0], Decimal("42.00"))
    with pytest.raises(store.CheckViolation):
        models.upsert([product_model(model="Fake", coefficient=Decimal("9"))])
    assert models.count() == 2


# --- PostgreSQL: the app's schema against the seed's DDL ---------------------------

SEED_DDL = """
CREATE TABLE public.brand_groups (
    id SERIAL PRIMARY KEY,
    brand VARCHAR(100) NOT NULL,
    group_name VARCHAR(50) NOT NULL,
    base_price DECIMAL(10,2) NOT NULL CHECK (base_price >= 5.00 AND base_price <= 500.00),
    expected_origins JSONB DEFAULT '[]'::jsonb NOT NULL,
    expected_decades JSONB DEFAULT '[]'::jsonb NOT NULL,
    expected_trends JSONB DEFAULT '[]'::jsonb NOT NULL,
    condition_sensitivity DECIMAL(3,2) NOT NULL DEFAULT 1.0 CHECK (condition_sensitivity >= 0.5 AND condition_sensitivity <= 1.5),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,

    CONSTRAINT uq_brand_groups_brand_group UNIQUE (brand, group_name)
);

CREATE INDEX idx_brand_groups_brand ON public.brand_groups(brand);
CREATE INDEX idx_brand_groups_group ON public.brand_groups(group_name);
CREATE INDEX idx_brand_groups_created_at ON public.brand_groups(created_at DESC);

CREATE TABLE public.models (
    id SERIAL PRIMARY KEY,
    brand VARCHAR(100) NOT NULL,
    group_name VARCHAR(50) NOT NULL,
    model VARCHAR(100) NOT NULL,
    coefficient DECIMAL(4,2) NOT NULL DEFAULT 1.0 CHECK (coefficient >= 0.5 AND coefficient <= 3.0),
    expected_features JSONB DEFAULT '[]'::jsonb NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,

    CONSTRAINT uq_models_brand_group_model UNIQUE (brand, group_name, model)
);

CREATE INDEX idx_models_brand ON public.models(brand);
CREATE INDEX idx_models_group ON public.models(group_name);
CREATE INDEX idx_models_brand_group ON public.models(brand, group_name);
CREATE INDEX idx_models_created_at ON public.models(created_at DESC);
"""

# Deliberate differences between the app and the seed's DDL, per table.
# 1. The seed's DEFAULT 1.0 is kept as written by PostgreSQL; store renders a
#    DecimalField's server_default at the column's scale (1.00 on both
#    backends). The same value: both read back Decimal('1.00').
DEFAULT_SCALE = {("brand_groups", "condition_sensitivity"): ("1.0", "1.00"),
                 ("models", "coefficient"): ("1.0", "1.00")}
# 2. store's CharField declares ck_<table>_<col>_max_length on every VARCHAR
#    (SQLite does not enforce VARCHAR(n); both backends carry the same CHECK).
EXTRA_CHECKS = {"brand_groups": {"ck_brand_groups_brand_max_length": "length(brand::text) <= 100",
                                 "ck_brand_groups_group_name_max_length":
                                     "length(group_name::text) <= 50"},
                "models": {"ck_models_brand_max_length": "length(brand::text) <= 100",
                           "ck_models_group_name_max_length": "length(group_name::text) <= 50",
                           "ck_models_model_max_length": "length(model::text) <= 100"}}
# 3. CHECK names: the seed's CHECKs are unnamed (PostgreSQL names them
#    <table>_<column>_check); the app names them (the seed's SQLAlchemy names).
#    They are compared by expression, and the name mapping is asserted.
CHECK_NAMES = {"brand_groups": {"brand_groups_base_price_check": "ck_brand_groups_base_price",
                                "brand_groups_condition_sensitivity_check":
                                    "ck_brand_groups_sensitivity"},
               "models": {"models_coefficient_check": "ck_models_coefficient"}}


def test_app_schema_matches_the_seeds_ddl(pricing):
    if pricing.features.name != "postgresql":
        pytest.skip("the seed's DDL is PostgreSQL SQL (SERIAL, JSONB, '[]'::jsonb, "
                    "schema-qualified names) and cannot run on SQLite; the SQLite "
                    "schema is checked by the other tests of this file")
    seed_schema = "seed_" + uuid.uuid4().hex[:10]
    pricing.execute_sql(f'CREATE SCHEMA "{seed_schema}"')
    try:
        pricing.execute_sql(SEED_DDL.replace("public.", f'"{seed_schema}".'))
        seed = read_schema(pricing, schema=seed_schema)
        app = read_schema(pricing, tables=["brand_groups", "models"])   # the test's schema
        assert seed.names() == app.names() == ["brand_groups", "models"]
        for name in seed.names():
            s, a = seed.table(name), app.table(name)
            # columns: name, order, type, nullability, default, key
            assert [c.name for c in s.columns] == [c.name for c in a.columns]
            for sc, ac in zip(s.columns, a.columns):
                assert (sc.type, sc.nullable, sc.primary_key, sc.autoincrement) == \
                    (ac.type, ac.nullable, ac.primary_key, ac.autoincrement), sc.name
                defaults = DEFAULT_SCALE.get((name, sc.name), (sc.default, sc.default))
                assert (sc.default, ac.default) == defaults, sc.name
            assert s.primary_key == a.primary_key == ("id",)
            # UNIQUEs and indexes: same names, columns (DESC included), method
            assert s.indexes == a.indexes
            # CHECKs: the seed's by expression, plus store's max_length ones
            seed_checks = {c.sql: c.name for c in s.checks}
            app_checks = {c.sql: c.name for c in a.checks}
            extra = EXTRA_CHECKS[name]
            assert {n: sql for sql, n in app_checks.items() if n in extra} == extra
            assert {sql: n for sql, n in app_checks.items() if n not in extra}.keys() \
                == seed_checks.keys()
            assert {seed_checks[sql]: app_checks[sql] for sql in seed_checks} == \
                CHECK_NAMES[name]
            assert s.foreign_keys == a.foreign_keys == () and s.triggers == a.triggers == ()
        # 4. The seed's UNIQUE is a table constraint; the app's a unique index
        #    (peewee's form; store reports UniqueViolation by its name on both
        #    backends). read_schema sees both as the same unique index above;
        #    ON CONFLICT (brand, group_name) uses either.
        kinds = dict(pricing.execute_sql(
            "SELECT n.nspname, count(*) FROM pg_constraint c JOIN pg_namespace n "
            "ON n.oid = c.connamespace WHERE c.contype = 'u' AND c.conname IN "
            "('uq_brand_groups_brand_group', 'uq_models_brand_group_model') "
            "AND n.nspname IN (%s, current_schema()) GROUP BY n.nspname",
            (seed_schema,)).fetchall())
        assert kinds == {seed_schema: 2}
    finally:
        pricing.execute_sql(f'DROP SCHEMA "{seed_schema}" CASCADE')
