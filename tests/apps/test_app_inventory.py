"""The inventory app (seed 000) on SQLite and PostgreSQL: every named CHECK,
UNIQUE key, foreign key (and its ON DELETE) and enum with a good and a bad
row; the partitioned tables; loading a location without N+1 queries."""
from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal

import peewee
import pytest

import store
from store.apps import inventory
from store.apps.inventory.models import (
    MODELS, PARTITIONED, BatchStatus, Classification, Color, DensityParameter, Detection,
    Estimation, EstimationMethod, ImageContentType, Material, MovementType, PackagingCatalog,
    PackagingType, PhotoProcessingSession, PriceList, Product, ProductCategory, ProductFamily,
    ProductSize, ProductState, S3Image, SessionStatus, StockBatch, StockMovement, StorageArea,
    StorageBin, StorageBinType, StorageLocation, StorageLocationConfig, User, UserRole,
    Warehouse)
from store.fields import EnumField, JSONField, UUIDField
from store.introspect import read_schema
from store.partitions import MissingPartition, create_partitions, list_partitions

UTC = dt.timezone.utc
DAY = dt.date(2024, 3, 1)
T0 = dt.datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
TABLES = {m._meta.table_name for m in MODELS}


def raw(value):
    """A value sent as it is: skips the model's validation, so the database
    itself must refuse it."""
    return peewee.Value(value, converter=False)


# --- valid rows -------------------------------------------------------------------

class World:
    """Valid rows for every model; ``row(M)`` is a fresh valid row (unique
    codes, a fresh parent where a unique key would collide), ``make(M)``
    creates one."""

    def __init__(self):
        self.n = itertools.count(1)
        self.user = self.make(User)
        self.warehouse = self.make(Warehouse)
        self.area = self.make(StorageArea)
        self.location = self.make(StorageLocation)
        self.bin_type = self.make(StorageBinType)
        self.bin = self.make(StorageBin)
        self.other_bin = self.make(StorageBin)
        self.category = self.make(ProductCategory)
        self.family = self.make(ProductFamily)
        self.product = self.make(Product)
        self.packaging_type = self.make(PackagingType)
        self.material = self.make(Material)
        self.color = self.make(Color)
        self.packaging = self.make(PackagingCatalog)
        self.classification = self.make(Classification)
        self.density = self.make(DensityParameter)
        self.image = self.make(S3Image)
        self.session = self.make(PhotoProcessingSession)
        self.batch = self.make(StockBatch)

    def code(self, prefix="C"):
        return f"{prefix}{next(self.n)}"

    def row(self, model) -> dict:
        code = self.code()
        rows = {
            User: lambda: dict(email=f"{code.lower()}@example.com", full_name="Ana",
                               role=UserRole.WORKER),
            Warehouse: lambda: dict(code=code, name="North", geometry={
                "type": "Polygon", "coordinates": [[[0, 0], [100, 0], [100, 50], [0, 0]]]}),
            StorageArea: lambda: dict(warehouse=self.warehouse, code=code, name="Hall A"),
            StorageLocation: lambda: dict(storage_area=self.area, code=code, name="Row 1",
                                          geometry={"type": "Point", "coordinates": [3, 4]}),
            StorageBinType: lambda: dict(code=code, name="Tray", capacity=24,
                                         length_cm=Decimal("60"), width_cm=Decimal("40"),
                                         height_cm=Decimal("8.5")),
            StorageBin: lambda: dict(storage_location=self.location, code=code,
                                     storage_bin_type=self.bin_type, label="left"),
            ProductCategory: lambda: dict(code=code, name="Cacti"),
            ProductFamily: lambda: dict(category=self.category, code=code, name="Echinopsis"),
            Product: lambda: dict(family=self.family, sku=code, name="E. oxygona",
                                  state=ProductState.ACTIVE, size=ProductSize.M,
                                  attributes={"flower": "pink"}),
            PackagingType: lambda: dict(code=code, name="Pot"),
            Material: lambda: dict(code=code, name="Clay"),
            Color: lambda: dict(code=code, name="Terracotta", hex_code="#C04f1A"),
            PackagingCatalog: lambda: dict(packaging_type=self.packaging_type,
                                           material=self.material, color=self.color, sku=code,
                                           name="Pot 12", volume_liters=Decimal("0.9"),
                                           diameter_cm=Decimal("12"), height_cm=Decimal("11")),
            Classification: lambda: dict(model_version="v1", label=code, product=self.product,
                                         packaging_catalog=self.packaging,
                                         product_size=ProductSize.M, min_confidence=0.6),
            StorageLocationConfig: lambda: dict(
                storage_location=self.make(StorageLocation), product=self.product,
                packaging_catalog=self.packaging, expected_size=ProductSize.M,
                min_quantity=10, max_quantity=20),
            DensityParameter: lambda: dict(product=self.make(Product),
                                           packaging_catalog=self.packaging,
                                           storage_bin_type=self.bin_type,
                                           items_per_m2=Decimal("85.5"),
                                           avg_item_area_cm2=Decimal("110.25"),
                                           overlap_factor=0.1),
            PriceList: lambda: dict(product=self.make(Product), packaging_catalog=self.packaging,
                                    currency="EUR", unit_price=Decimal("4.95"), min_quantity=1,
                                    valid_from=DAY, valid_to=DAY + dt.timedelta(days=30)),
            S3Image: lambda: dict(bucket="photos", object_key=f"2024/03/{code}.jpg",
                                  content_type=ImageContentType.JPEG, size_bytes=2_000_000,
                                  width_px=4000, height_px=3000, sha256="ab" * 32,
                                  captured_at=T0, uploaded_by=self.user),
            PhotoProcessingSession: lambda: dict(
                image=self.image, storage_location=self.location, user=self.user,
                status=SessionStatus.COMPLETED, model_version="v1", started_at=T0,
                completed_at=T0 + dt.timedelta(minutes=2), total_detected=3,
                total_estimated=1),
            Detection: lambda: dict(captured_on=DAY, session=self.session,
                                    classification=self.classification, center_x=10.5,
                                    center_y=20.0, width=5.0, height=6.0, confidence=0.9),
            Estimation: lambda: dict(captured_on=DAY, session=self.session,
                                     storage_bin=self.bin, classification=self.classification,
                                     density_parameter=self.density,
                                     method=EstimationMethod.DENSITY, estimated_count=40,
                                     covered_area_m2=0.5, confidence=0.8),
            StockBatch: lambda: dict(batch_code=code, product=self.product,
                                     storage_bin=self.bin, packaging_catalog=self.packaging,
                                     status=BatchStatus.ACTIVE, quantity_initial=100,
                                     quantity_current=80, received_on=DAY),
            StockMovement: lambda: dict(stock_batch=self.batch,
                                        movement_type=MovementType.TRANSFER, quantity=5,
                                        from_bin=self.bin, to_bin=self.other_bin,
                                        user=self.user, session=self.session,
                                        reason="rebalance", occurred_at=T0),
        }
        return rows[model]()

    def make(self, model, **overrides):
        return model.create(**{**self.row(model), **overrides})


@pytest.fixture
def world(db, tables):
    tables(*MODELS)
    for model in PARTITIONED:
        create_partitions(db, model, DAY, 2)
    return World()


def attempt(db, action):
    """Run ``action`` in a savepoint; return the exception it raised, or None."""
    try:
        with db.atomic():
            action()
    except Exception as exc:          # noqa: BLE001 - the caller asserts on it
        return exc
    return None


# --- the catalogue of rules: named CHECKs ----------------------------------------------

def _row_checks():
    """(constraint, model, bad values): insert row(model) | bad must fail."""
    later = T0 + dt.timedelta(hours=1)
    return [
        ("ck_users_email_format", User, {"email": "nobody"}),
        ("ck_users_email_format", User, {"email": "nobody@"}),
        ("ck_warehouses_code_not_blank", Warehouse, {"code": "  "}),
        ("ck_storage_areas_code_not_blank", StorageArea, {"code": ""}),
        ("ck_storage_locations_code_not_blank", StorageLocation, {"code": " "}),
        ("ck_storage_bin_types_code_not_blank", StorageBinType, {"code": " "}),
        ("ck_storage_bin_types_capacity_positive", StorageBinType, {"capacity": 0}),
        ("ck_storage_bin_types_dimensions_positive", StorageBinType,
         {"width_cm": Decimal("0")}),
        ("ck_storage_bins_code_not_blank", StorageBin, {"code": " "}),
        ("ck_product_categories_code_not_blank", ProductCategory, {"code": " "}),
        ("ck_product_families_code_not_blank", ProductFamily, {"code": " "}),
        ("ck_products_sku_not_blank", Product, {"sku": " "}),
        ("ck_packaging_types_code_not_blank", PackagingType, {"code": " "}),
        ("ck_materials_code_not_blank", Material, {"code": " "}),
        ("ck_colors_code_not_blank", Color, {"code": " "}),
        ("ck_colors_hex_code_format", Color, {"hex_code": "#C04G1A"}),
        ("ck_colors_hex_code_format", Color, {"hex_code": "C04F1A"}),
        ("ck_packaging_catalog_sku_not_blank", PackagingCatalog, {"sku": " "}),
        ("ck_packaging_catalog_dimensions_positive", PackagingCatalog,
         {"height_cm": Decimal("-1")}),
        ("ck_classifications_min_confidence_range", Classification, {"min_confidence": 1.5}),
        ("ck_storage_location_config_min_quantity_non_negative", StorageLocationConfig,
         {"min_quantity": -1, "max_quantity": None}),
        ("ck_storage_location_config_max_quantity_non_negative", StorageLocationConfig,
         {"min_quantity": None, "max_quantity": -1}),
        ("ck_storage_location_config_quantity_range", StorageLocationConfig,
         {"min_quantity": 21, "max_quantity": 20}),
        ("ck_density_parameters_items_per_m2_positive", DensityParameter,
         {"items_per_m2": Decimal("0")}),
        ("ck_density_parameters_avg_item_area_cm2_positive", DensityParameter,
         {"avg_item_area_cm2": Decimal("-0.01")}),
        ("ck_density_parameters_overlap_factor_range", DensityParameter,
         {"overlap_factor": 1.0}),
        ("ck_price_list_unit_price_non_negative", PriceList, {"unit_price": Decimal("-0.01")}),
        ("ck_price_list_min_quantity_positive", PriceList, {"min_quantity": 0}),
        ("ck_price_list_valid_range", PriceList, {"valid_to": DAY}),
        ("ck_price_list_currency_iso", PriceList, {"currency": "eur"}),
        ("ck_price_list_currency_iso", PriceList, {"currency": "E1R"}),
        ("ck_s3_images_size_bytes_positive", S3Image, {"size_bytes": 0}),
        ("ck_s3_images_dimensions_positive", S3Image, {"height_px": 0}),
        ("ck_s3_images_sha256_length", S3Image, {"sha256": "ab"}),
        ("ck_photo_processing_sessions_total_detected_non_negative", PhotoProcessingSession,
         {"total_detected": -1}),
        ("ck_photo_processing_sessions_total_estimated_non_negative", PhotoProcessingSession,
         {"total_estimated": -1}),
        ("ck_photo_processing_sessions_completed_after_started", PhotoProcessingSession,
         {"started_at": later, "completed_at": T0}),
        ("ck_photo_processing_sessions_completed_has_time", PhotoProcessingSession,
         {"completed_at": None}),
        ("ck_photo_processing_sessions_failed_has_error", PhotoProcessingSession,
         {"status": SessionStatus.FAILED, "error_message": None}),
        ("ck_detections_center_non_negative", Detection, {"center_y": -0.5}),
        ("ck_detections_size_positive", Detection, {"width": 0.0}),
        ("ck_detections_confidence_range", Detection, {"confidence": 1.01}),
        ("ck_estimations_estimated_count_non_negative", Estimation, {"estimated_count": -1}),
        ("ck_estimations_covered_area_m2_non_negative", Estimation, {"covered_area_m2": -0.5}),
        ("ck_estimations_confidence_range", Estimation, {"confidence": -0.1}),
        ("ck_estimations_density_has_parameter", Estimation, {"density_parameter": None}),
        ("ck_stock_batches_quantity_initial_non_negative", StockBatch, {"quantity_initial": -1}),
        ("ck_stock_batches_quantity_current_non_negative", StockBatch, {"quantity_current": -1}),
        ("ck_stock_batches_depleted_is_empty", StockBatch,
         {"status": BatchStatus.DEPLETED, "quantity_current": 3}),
        ("ck_stock_movements_quantity_positive", StockMovement, {"quantity": 0}),
        ("ck_stock_movements_inbound_bins", StockMovement,
         {"movement_type": MovementType.RECEIPT}),                      # from_bin set
        ("ck_stock_movements_inbound_bins", StockMovement,
         {"movement_type": MovementType.ADJUSTMENT_IN, "from_bin": None, "to_bin": None}),
        ("ck_stock_movements_outbound_bins", StockMovement,
         {"movement_type": MovementType.SALE}),                         # to_bin set
        ("ck_stock_movements_outbound_bins", StockMovement,
         {"movement_type": MovementType.LOSS, "from_bin": None, "to_bin": None}),
        ("ck_stock_movements_transfer_bins", StockMovement, {"to_bin": None}),
        ("ck_stock_movements_transfer_bins", StockMovement, {"to_bin": "same"}),
    ]


# good rows that sit at the edge of a rule (each must be accepted)
def _edge_rows(w):
    return [
        (StorageBinType, {"capacity": None, "length_cm": None, "width_cm": None,
                          "height_cm": None}),
        (Color, {"hex_code": None}),
        (StorageLocationConfig, {"min_quantity": 0, "max_quantity": 0}),
        (DensityParameter, {"overlap_factor": 0.0, "avg_item_area_cm2": None}),
        (PriceList, {"unit_price": Decimal("0"), "valid_to": None}),
        (S3Image, {"width_px": None, "height_px": None, "sha256": None}),
        (PhotoProcessingSession, {"status": SessionStatus.FAILED, "error_message": "timeout",
                                  "completed_at": None}),
        (Detection, {"center_x": 0.0, "confidence": 1.0}),
        (Estimation, {"method": EstimationMethod.MANUAL, "density_parameter": None,
                      "confidence": None, "estimated_count": 0}),
        (StockBatch, {"status": BatchStatus.DEPLETED, "quantity_current": 0}),
        (StockMovement, {"movement_type": MovementType.RECEIPT, "from_bin": None}),
        (StockMovement, {"movement_type": MovementType.ADJUSTMENT_OUT, "to_bin": None}),
    ]


GEO_MODELS = (Warehouse, StorageArea, StorageLocation)


def test_every_named_check_good_and_bad(db, world):
    failures = []
    for name, model, bad in _row_checks():
        good = world.row(model)
        error = attempt(db, lambda: model.create(**good))
        if error is not None:
            failures.append(f"{name}: good row refused: {error!r}")
        row = {**world.row(model), **bad}
        if row.get("to_bin") == "same":
            row["to_bin"] = row["from_bin"]
        error = attempt(db, lambda: model.create(**row))
        if not (isinstance(error, store.CheckViolation) and error.constraint == name
                and error.table == model._meta.table_name):
            failures.append(f"{name}: bad row {bad} gave {error!r}")
    for model, edge in _edge_rows(world):
        error = attempt(db, lambda: model.create(**{**world.row(model), **edge}))
        if error is not None:
            failures.append(f"{model.__name__} edge row {edge} refused: {error!r}")
    assert not failures, "\n".join(failures)


def test_bounding_box_checks_on_every_geo_table(db, world):
    for model in GEO_MODELS:
        table = model._meta.table_name
        good = world.make(model, geometry={"type": "LineString",
                                           "coordinates": [[5, -1], [2, 7.5]]})
        stored = model.get_by_id(good.id)
        assert (stored.min_x, stored.min_y, stored.max_x, stored.max_y) == (2, -1, 5, 7.5)
        error = attempt(db, lambda: model.update(min_x=None).where(model.id == good.id)
                        .execute())
        assert isinstance(error, store.CheckViolation), error
        assert error.constraint == f"ck_{table}_bbox_filled"
        error = attempt(db, lambda: model.update(min_x=good.max_x + 1)
                        .where(model.id == good.id).execute())
        assert isinstance(error, store.CheckViolation), error
        assert error.constraint == f"ck_{table}_bbox_order"
        bare = world.make(model, geometry=None)
        assert (bare.min_x, bare.min_y, bare.max_x, bare.max_y) == (None,) * 4


# --- field-level CHECKs: enums, lengths, JSON, UUID -------------------------------------

def _fields(kind):
    return [(model, field) for model in MODELS for field in model._meta.sorted_fields
            if isinstance(field, kind)]


def _char_fields():
    return [(model, field) for model in MODELS for field in model._meta.sorted_fields
            if isinstance(field, store.CharField) and not isinstance(field, EnumField)
            and field.max_length]


def _consistent(field, member) -> dict:
    """Values that make ``member`` a valid choice under the other CHECKs."""
    if field is StockMovement.movement_type:
        from store.apps.inventory.enums import INBOUND, OUTBOUND
        if member in INBOUND:
            return {"from_bin": None}
        if member in OUTBOUND:
            return {"to_bin": None}
    if field is PhotoProcessingSession.status and member is SessionStatus.FAILED:
        return {"error_message": "model crashed"}
    if field is StockBatch.status and member is BatchStatus.DEPLETED:
        return {"quantity_current": 0}
    return {}


def test_every_enum_good_and_bad(db, world):
    failures = []
    for model, field in _fields(EnumField):
        table = model._meta.table_name
        qualified = f"{table}.{field.column_name}"
        for member in field.enum_class:
            row = {**world.row(model), field.name: member, **_consistent(field, member)}
            error = attempt(db, lambda: model.create(**row))
            if error is not None:
                failures.append(f"{qualified}={member.value!r} refused: {error!r}")
        with pytest.raises(store.ValidationError) as info:
            model.create(**{**world.row(model), field.name: "bogus"})
        if info.value.field != qualified:
            failures.append(f"{qualified}: ValidationError names {info.value.field}")
        obj = world.make(model)
        pk = model._meta.primary_key
        error = attempt(db, lambda: model.update({field: raw("bogus")})
                        .where(pk == getattr(obj, pk.name)).execute())
        if not (isinstance(error, store.CheckViolation)
                and error.constraint == f"ck_{table}_{field.column_name}_enum"
                and error.table == table):
            failures.append(f"{qualified}: raw bad value gave {error!r}")
    assert not failures, "\n".join(failures)


def test_enum_members_read_back_as_members(db, world):
    product = Product.get_by_id(world.product.id)
    assert product.state is ProductState.ACTIVE and product.size is ProductSize.M
    assert Product.select().where(Product.state == ProductState.ACTIVE).count() \
        == Product.select().count()


def _longest(field) -> str:
    """A value of exactly max_length characters that passes the other rules."""
    n = field.max_length
    special = {"email": "a" * (n - 5) + "@x.io", "hex_code": "#ABCDEF", "currency": "USD",
               "sha256": "f" * n}
    return special.get(field.name, "z" * n)


def test_every_max_length_good_and_bad(db, world):
    failures = []
    sqlite = db.features.name == "sqlite"
    for model, field in _char_fields():
        table = model._meta.table_name
        qualified = f"{table}.{field.column_name}"
        longest = _longest(field)
        assert len(longest) == field.max_length
        error = attempt(db, lambda: model.create(**{**world.row(model), field.name: longest}))
        if error is not None:
            failures.append(f"{qualified}: {field.max_length} characters refused: {error!r}")
        with pytest.raises(store.ValidationError) as info:
            model.create(**{**world.row(model), field.name: longest + "z"})
        if info.value.field != qualified:
            failures.append(f"{qualified}: ValidationError names {info.value.field}")
        obj = world.make(model)
        pk = model._meta.primary_key
        error = attempt(db, lambda: model.update({field: raw(longest + "z")})
                        .where(pk == getattr(obj, pk.name)).execute())
        if sqlite:
            ok = (isinstance(error, store.CheckViolation)
                  and error.constraint == f"ck_{table}_{field.column_name}_max_length")
        else:   # VARCHAR(n) refuses it before the CHECK (documented in README)
            ok = isinstance(error, peewee.DataError)
        if not ok:
            failures.append(f"{qualified}: raw over-long value gave {error!r}")
    assert not failures, "\n".join(failures)


def test_json_and_uuid_columns_refuse_raw_garbage(db, world):
    sqlite = db.features.name == "sqlite"
    for model, field in _fields(JSONField) + _fields(UUIDField):
        obj = world.make(model)
        pk = model._meta.primary_key
        error = attempt(db, lambda: model.update({field: raw("{not json")})
                        .where(pk == getattr(obj, pk.name)).execute())
        suffix = "json" if isinstance(field, JSONField) else "uuid"
        if sqlite:
            assert isinstance(error, store.CheckViolation), (field, error)
            assert error.constraint == f"ck_{model._meta.table_name}_{field.column_name}_{suffix}"
        else:   # jsonb / uuid types refuse it (documented in README)
            assert isinstance(error, peewee.DataError), (field, error)


# --- UNIQUE keys ------------------------------------------------------------------------

def _unique_cases():
    """(index name, model, columns copied from the first row into the second)."""
    return [
        ("uq_users_email", User, ["email"]),
        ("uq_warehouses_code", Warehouse, ["code"]),
        ("uq_storage_areas_warehouse_id_code", StorageArea, ["warehouse", "code"]),
        ("uq_storage_locations_storage_area_id_code", StorageLocation,
         ["storage_area", "code"]),
        ("uq_storage_bin_types_code", StorageBinType, ["code"]),
        ("uq_storage_bins_storage_location_id_code", StorageBin, ["storage_location", "code"]),
        ("uq_product_categories_code", ProductCategory, ["code"]),
        ("uq_product_families_category_id_code", ProductFamily, ["category", "code"]),
        ("uq_products_sku", Product, ["sku"]),
        ("uq_packaging_types_code", PackagingType, ["code"]),
        ("uq_materials_code", Material, ["code"]),
        ("uq_colors_code", Color, ["code"]),
        ("uq_packaging_catalog_sku", PackagingCatalog, ["sku"]),
        ("uq_classifications_model_version_label", Classification, ["model_version", "label"]),
        ("uq_storage_location_config_storage_location_id_active", StorageLocationConfig,
         ["storage_location"]),
        (DensityParameter._meta.fields_to_index()[-1]._name, DensityParameter,
         ["product", "packaging_catalog", "storage_bin_type"]),
        (PriceList._meta.fields_to_index()[-1]._name, PriceList,
         ["product", "packaging_catalog", "currency", "min_quantity", "valid_from"]),
        ("uq_s3_images_bucket_object_key", S3Image, ["bucket", "object_key"]),
        ("s3_images_pkey", S3Image, ["image_id"]),
        ("uq_stock_batches_batch_code", StockBatch, ["batch_code"]),
        ("detections_pkey", Detection, ["id", "captured_on"]),
        ("estimations_pkey", Estimation, ["id", "captured_on"]),
    ]


def test_every_unique_key_good_and_bad(db, world):
    failures = []
    for name, model, columns in _unique_cases():
        first = world.make(model)
        second = world.row(model)
        error = attempt(db, lambda: model.create(**second))
        if error is not None:
            failures.append(f"{name}: a distinct row was refused: {error!r}")
        dup = {**world.row(model), **{c: getattr(first, c) for c in columns}}
        error = attempt(db, lambda: model.insert(**dup).execute())
        if not (isinstance(error, store.UniqueViolation) and error.constraint == name
                and error.table == model._meta.table_name):
            failures.append(f"{name}: duplicate gave {error!r}")
    assert not failures, "\n".join(failures)


def test_one_active_config_per_location_inactive_ones_are_history(db, world):
    active = world.make(StorageLocationConfig)
    for _ in range(2):
        world.make(StorageLocationConfig, storage_location=active.storage_location,
                   is_active=False)
    with pytest.raises(store.UniqueViolation) as info:
        world.make(StorageLocationConfig, storage_location=active.storage_location)
    assert info.value.constraint == "uq_storage_location_config_storage_location_id_active"
    StorageLocationConfig.update(is_active=False).where(
        StorageLocationConfig.id == active.id).execute()
    world.make(StorageLocationConfig, storage_location=active.storage_location)
    assert StorageLocationConfig.select().where(
        StorageLocationConfig.storage_location == active.storage_location).count() == 4


# --- foreign keys -------------------------------------------------------------------------

def _foreign_keys():
    return [(model, field) for model in MODELS for field in model._meta.sorted_fields
            if isinstance(field, peewee.ForeignKeyField)]


def _dangling(field):
    return uuid.uuid4() if isinstance(field.rel_field, UUIDField) else 2 ** 31 - 1


def test_every_foreign_key_good_and_bad(db, world):
    failures = []
    for model, field in _foreign_keys():
        table = model._meta.table_name
        error = attempt(db, lambda: world.make(model))
        if error is not None:
            failures.append(f"{field.constraint_name}: good row refused: {error!r}")
        row = {**world.row(model), field.name: _dangling(field)}
        error = attempt(db, lambda: model.create(**row))
        if not (isinstance(error, store.ForeignKeyViolation)
                and error.constraint == field.constraint_name and error.table == table):
            failures.append(f"{field.constraint_name}: dangling reference gave {error!r}")
    assert not failures, "\n".join(failures)


def test_every_on_delete_rule(db, world):
    """Delete a parent referenced by one fresh child: RESTRICT refuses with
    the FK's name, CASCADE takes the child along, SET NULL clears it."""
    failures, seen = [], set()
    for model, field in _foreign_keys():
        rule = (field.on_delete or "NO ACTION").upper()
        seen.add(rule)
        parent = world.make(field.rel_model)
        child = world.make(model, **{field.name: parent})
        pk = model._meta.primary_key
        key = getattr(child, pk.name)
        error = attempt(db, lambda: parent.delete_instance())
        survivor = model.get_or_none(pk == key)
        if rule == "RESTRICT":
            ok = (isinstance(error, store.ForeignKeyViolation)
                  and error.constraint == field.constraint_name
                  and error.table == model._meta.table_name and survivor is not None)
        elif rule == "CASCADE":
            ok = error is None and survivor is None
        elif rule == "SET NULL":
            ok = error is None and survivor is not None \
                and survivor.__data__[field.name] is None
        else:
            ok = False
        if not ok:
            failures.append(f"{field.constraint_name} ({rule}): error={error!r}, "
                            f"child left={survivor is not None}")
    assert seen == {"RESTRICT", "CASCADE", "SET NULL"}
    assert not failures, "\n".join(failures)


# --- every named constraint has a case; the live schema has them all ---------------------

def _declared_names(backend):
    names = set()
    for model in MODELS:
        for name, spec in model._meta.store_checks:
            if spec.for_backend(backend):
                names.add(name)
        names |= {i._name for i in model._meta.fields_to_index() if i._unique}
        names |= {f.constraint_name for f in model._meta.sorted_fields
                  if isinstance(f, peewee.ForeignKeyField)}
    return names


def _covered_names(backend):
    covered = {name for name, _, _ in _row_checks()}
    covered |= {f"ck_{m._meta.table_name}_{c}" for m in GEO_MODELS
                for c in ("bbox_filled", "bbox_order")}
    covered |= {f"ck_{m._meta.table_name}_{f.column_name}_enum" for m, f in _fields(EnumField)}
    covered |= {f"ck_{m._meta.table_name}_{f.column_name}_max_length" for m, f in _char_fields()}
    if backend == "sqlite":
        covered |= {f"ck_{m._meta.table_name}_{f.column_name}_json"
                    for m, f in _fields(JSONField)}
        covered |= {f"ck_{m._meta.table_name}_{f.column_name}_uuid"
                    for m, f in _fields(UUIDField)}
    covered |= {name for name, _, _ in _unique_cases()}
    covered |= {f.constraint_name for _, f in _foreign_keys()}
    return covered


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_declared_constraint_has_a_case(backend):
    declared = _declared_names(backend)
    covered = _covered_names(backend)
    assert declared - covered == set()
    assert covered - declared - {"s3_images_pkey", "detections_pkey", "estimations_pkey"} \
        == set()


def test_live_schema_carries_every_name(db, world):
    backend = db.features.name
    schema = read_schema(db, tables=TABLES)
    assert set(schema.names()) == TABLES
    live = set()
    for table in schema.tables.values():
        live |= {c.name for c in table.checks} | {f.name for f in table.foreign_keys}
        live |= {i.name for i in table.indexes if i.unique}
    assert live == _declared_names(backend)


# --- keys, defaults, money ---------------------------------------------------------------

def test_image_key_is_made_in_python_not_the_database(db, world):
    image = S3Image(**world.row(S3Image))
    key = image.image_id
    assert isinstance(key, uuid.UUID) and key.version == 4
    image.save()
    assert S3Image.get_by_id(key).object_key == image.object_key
    column = read_schema(db, tables=["s3_images"]).table("s3_images").column("image_id")
    assert column.primary_key and column.default is None and not column.autoincrement
    with pytest.raises(store.ValidationError) as info:
        S3Image.create(**{**world.row(S3Image), "image_id": "not-a-uuid"})
    assert info.value.field == "s3_images.image_id"


def test_price_is_exact_money(db, world):
    prices = [Decimal("0.10"), Decimal("0.20"), Decimal("1234567890.99")]
    rows = [world.make(PriceList, unit_price=p) for p in prices]
    ids = [r.id for r in rows]
    total = (PriceList.select(PriceList.unit_price.sum())
             .where(PriceList.id.in_(ids)).scalar())
    assert total == sum(prices) and isinstance(total, Decimal)
    assert PriceList.get_by_id(ids[0]).unit_price == Decimal("0.10")
    cheapest = (PriceList.select().where(PriceList.id.in_(ids))
                .order_by(PriceList.unit_price).first())
    assert cheapest.id == ids[0]
    with pytest.raises(store.ValidationError) as info:
        world.make(PriceList, unit_price=Decimal("12345678901.00"))
    assert info.value.field == "price_list.unit_price"


def test_defaults_of_a_minimal_row(db, world):
    product = Product.create(family=world.family, sku="MIN-1", name="Bare")
    again = Product.get_by_id(product.id)
    assert again.state is ProductState.ACTIVE and again.size is None
    assert again.attributes == {}
    batch = StockBatch.create(batch_code="B-MIN", product=product, storage_bin=world.bin,
                              quantity_initial=1, quantity_current=1)
    assert StockBatch.get_by_id(batch.id).status is BatchStatus.ACTIVE
    user = User.create(email="min@example.com", full_name="M")
    assert User.get_by_id(user.id).role is UserRole.VIEWER and user.is_active is True


# --- partitioned tables --------------------------------------------------------------------

def test_partitioned_tables_route_by_day_and_refuse_days_without_partition(db, world):
    native = db.features.name == "postgresql"
    for model in PARTITIONED:
        table = model._meta.table_name
        assert [p.start for p in list_partitions(db, model)] == \
            ([DAY, DAY + dt.timedelta(days=1)] if native else [])
        next_day = world.make(model, captured_on=DAY + dt.timedelta(days=1))
        if native:
            where = db.execute_sql(f'SELECT tableoid::regclass::text FROM "{table}" '
                                   f"WHERE id = %s", (next_day.id,)).fetchone()[0]
            assert where == f"{table}_p20240302"
        far = DAY + dt.timedelta(days=40)
        error = attempt(db, lambda: world.make(model, captured_on=far))
        if native:
            assert isinstance(error, MissingPartition), error
            assert (error.table, error.column, error.day) == (table, "captured_on", far)
            assert table in str(error) and far.isoformat() in str(error)
            assert model.select().where(model.captured_on == far).count() == 0
        else:     # no partitions on SQLite: every day is accepted (documented)
            assert error is None
            assert model.select().where(model.captured_on == far).count() == 1


def test_session_delete_cascades_into_partitions(db, world):
    session = world.make(PhotoProcessingSession)
    for offset in (0, 1):
        world.make(Detection, session=session, captured_on=DAY + dt.timedelta(days=offset))
        world.make(Estimation, session=session, captured_on=DAY + dt.timedelta(days=offset))
    assert session.detections.count() == 2
    session.delete_instance()
    assert Detection.select().where(Detection.session == session.id).count() == 0
    assert Estimation.select().where(Estimation.session == session.id).count() == 0


# --- loading a location without N+1 --------------------------------------------------------

class QueryCounter:
    def __init__(self, db):
        self.db, self.sql = db, []

    def __enter__(self):
        self.db.query_hooks.append(self._hook)
        return self

    def __exit__(self, *exc):
        self.db.query_hooks.remove(self._hook)

    def _hook(self, event):
        self.sql.append(event.sql)


def _stocked_location(world, bins, batches_per_bin):
    location = world.make(StorageLocation)
    made = {}
    for b in range(bins):
        storage_bin = world.make(StorageBin, storage_location=location, code=f"B{b:02d}")
        made[storage_bin.id] = []
        for k in range(batches_per_bin):
            batch = world.make(StockBatch, storage_bin=storage_bin,
                               created_at=T0 + dt.timedelta(hours=k))
            made[storage_bin.id].append(batch.id)
    return location, made


def test_load_location_bins_and_latest_batches_in_three_queries(db, world):
    assert hasattr(db, "query_hooks")
    location, made = _stocked_location(world, bins=6, batches_per_bin=4)
    other, _ = _stocked_location(world, bins=2, batches_per_bin=2)   # must not leak in
    with QueryCounter(db) as counter:
        loaded = inventory.load_location(location.id, latest=3)
        summary = [(b.code, b.storage_bin_type.code, [x.id for x in b.batches],
                    [x.storage_bin.id for x in b.batches]) for b in loaded.bins]
    assert len(counter.sql) == 3, counter.sql
    assert loaded.id == location.id
    assert [code for code, *_ in summary] == [f"B{b:02d}" for b in range(6)]
    for (code, type_code, batch_ids, owners), bin_ in zip(summary, loaded.bins):
        assert type_code == world.bin_type.code
        assert batch_ids == list(reversed(made[bin_.id]))[:3]      # newest first
        assert owners == [bin_.id] * 3


def test_query_count_does_not_grow_with_bins(db, world):
    small, _ = _stocked_location(world, bins=1, batches_per_bin=1)
    large, _ = _stocked_location(world, bins=12, batches_per_bin=3)
    counts = []
    for location in (small, large):
        with QueryCounter(db) as counter:
            loaded = inventory.load_location(location.id)
            sum(len(b.batches) for b in loaded.bins)
        counts.append(len(counter.sql))
    assert counts == [3, 3]
    with QueryCounter(db) as counter:
        every = inventory.load_locations()
        total = sum(len(b.batches) for loc in every for b in loc.bins)
    assert len(counter.sql) == 3 and total == StockBatch.select().count()
    with pytest.raises(StorageLocation.DoesNotExist):
        inventory.load_location(10 ** 6)
    with pytest.raises(ValueError):
        inventory.load_location(small.id, latest=0)


# --- the app as a whole -----------------------------------------------------------------------

def test_models_are_in_dependency_order_and_named_as_the_seed():
    seen = set()
    for model in MODELS:
        for field in model._meta.sorted_fields:
            if isinstance(field, peewee.ForeignKeyField) and field.rel_model is not model:
                assert field.rel_model in seen, (model, field)
        seen.add(model)
    assert TABLES == {
        "warehouses", "storage_areas", "storage_locations", "storage_bins",
        "storage_bin_types", "stock_movements", "stock_batches", "s3_images",
        "photo_processing_sessions", "detections", "estimations", "product_categories",
        "product_families", "products", "packaging_types", "materials", "colors",
        "packaging_catalog", "storage_location_config", "density_parameters",
        "classifications", "price_list", "users"}
    assert inventory.__doc__ and "seed 000" in inventory.__doc__
    assert all(m._meta.schema is None for m in MODELS)
