"""DB015-DB023 and DB026: the product catalogue (categories > families >
products), packaging (types, materials, colours, the packaging catalogue)
and classifications, which map a label of the photo model to a product."""
from __future__ import annotations

import store

from .common import Lookup, between_0_and_1, code_not_blank
from .enums import ProductSize, ProductState


class ProductCategory(Lookup):
    """DB015."""

    class Meta:
        table_name = "product_categories"
        checks = [code_not_blank()]


class ProductFamily(store.TimestampedModel):
    """DB016. Codes are unique within their category."""
    category = store.ForeignKeyField(ProductCategory, backref="families",
                                     on_delete="RESTRICT", index=False)
    code = store.CharField(max_length=30)
    name = store.CharField(max_length=200)
    description = store.TextField(null=True)

    class Meta:
        table_name = "product_families"
        checks = [code_not_blank()]
        indexes = ((("category", "code"), True),)


class Product(store.TimestampedModel):
    """DB017 with DB018 (state) and DB019 (size)."""
    family = store.ForeignKeyField(ProductFamily, backref="products", on_delete="RESTRICT")
    sku = store.CharField(max_length=40, unique=True)
    name = store.CharField(max_length=200)
    description = store.TextField(null=True)
    state = store.EnumField(ProductState, default=ProductState.ACTIVE)
    size = store.EnumField(ProductSize, null=True)
    attributes = store.JSONField(default=dict)

    class Meta:
        table_name = "products"
        checks = [store.Check("sku_not_blank", "length(trim(sku)) > 0")]


class PackagingType(Lookup):
    """DB020 (pot, tray, box, ...)."""

    class Meta:
        table_name = "packaging_types"
        checks = [code_not_blank()]


class Material(Lookup):
    """DB021 (plastic, clay, cardboard, ...)."""

    class Meta:
        table_name = "materials"
        checks = [code_not_blank()]


class Color(Lookup):
    """DB022. ``hex_code`` is ``#RRGGBB``."""
    hex_code = store.CharField(max_length=7, null=True)

    class Meta:
        table_name = "colors"
        checks = [code_not_blank(),
                  store.Check("hex_code_format", {
                      "sqlite": "hex_code GLOB '#[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]"
                                "[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f]'",
                      "postgresql": "hex_code ~ '^#[0-9A-Fa-f]{6}$'"})]


class PackagingCatalog(store.TimestampedModel):
    """DB023. A concrete packaging article: type + material + colour + size."""
    packaging_type = store.ForeignKeyField(PackagingType, backref="articles",
                                           on_delete="RESTRICT")
    material = store.ForeignKeyField(Material, backref="articles", on_delete="RESTRICT",
                                     null=True)
    color = store.ForeignKeyField(Color, backref="articles", on_delete="RESTRICT",
                                  null=True)
    sku = store.CharField(max_length=40, unique=True)
    name = store.CharField(max_length=200)
    volume_liters = store.DecimalField(8, 3, null=True)
    diameter_cm = store.DecimalField(7, 2, null=True)
    height_cm = store.DecimalField(7, 2, null=True)

    class Meta:
        table_name = "packaging_catalog"
        checks = [store.Check("sku_not_blank", "length(trim(sku)) > 0"),
                  store.Check("dimensions_positive",
                              "volume_liters > 0 AND diameter_cm > 0 AND height_cm > 0")]


class Classification(store.TimestampedModel):
    """DB026. A class ``label`` of a detection model version, mapped to what
    it means in the catalogue; detections and estimations point here."""
    model_version = store.CharField(max_length=50)
    label = store.CharField(max_length=100)
    product = store.ForeignKeyField(Product, backref="classifications",
                                    on_delete="RESTRICT", null=True)
    packaging_catalog = store.ForeignKeyField(PackagingCatalog, backref="classifications",
                                              on_delete="RESTRICT", null=True)
    product_size = store.EnumField(ProductSize, null=True)
    min_confidence = store.DoubleField(default=0.5)

    class Meta:
        table_name = "classifications"
        checks = [between_0_and_1("min_confidence")]
        indexes = ((("model_version", "label"), True),)
