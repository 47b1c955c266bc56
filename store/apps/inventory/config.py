"""DB024, DB025, DB027: what each storage location should hold, the density
parameters that turn an area into a count, and the price list."""
from __future__ import annotations

import store

from .catalog import PackagingCatalog, Product
from .common import non_negative, positive
from .enums import ProductSize
from .locations import StorageBinType, StorageLocation


class StorageLocationConfig(store.TimestampedModel):
    """DB024. At most one active configuration per storage location (a
    partial unique index); inactive rows are the history."""
    storage_location = store.ForeignKeyField(StorageLocation, backref="configs",
                                             on_delete="CASCADE")
    product = store.ForeignKeyField(Product, backref="location_configs",
                                    on_delete="RESTRICT")
    packaging_catalog = store.ForeignKeyField(PackagingCatalog, backref="location_configs",
                                              on_delete="RESTRICT", null=True)
    expected_size = store.EnumField(ProductSize, null=True)
    min_quantity = store.IntegerField(null=True)
    max_quantity = store.IntegerField(null=True)
    is_active = store.BooleanField(default=True)
    notes = store.TextField(null=True)

    class Meta:
        table_name = "storage_location_config"
        checks = [non_negative("min_quantity"), non_negative("max_quantity"),
                  store.Check("quantity_range", "min_quantity <= max_quantity")]


StorageLocationConfig.add_index(StorageLocationConfig.index(
    StorageLocationConfig.storage_location, unique=True,
    where=(StorageLocationConfig.is_active == True),  # noqa: E712 - SQL, not Python
    name="uq_storage_location_config_storage_location_id_active"))


class DensityParameter(store.TimestampedModel):
    """DB025. Items per square metre of a product, optionally per packaging
    and bin type; one row per (product, packaging, bin type)."""
    product = store.ForeignKeyField(Product, backref="density_parameters",
                                    on_delete="RESTRICT", index=False)
    packaging_catalog = store.ForeignKeyField(PackagingCatalog, backref="density_parameters",
                                              on_delete="RESTRICT", null=True)
    storage_bin_type = store.ForeignKeyField(StorageBinType, backref="density_parameters",
                                             on_delete="RESTRICT", null=True)
    items_per_m2 = store.DecimalField(10, 3)
    avg_item_area_cm2 = store.DecimalField(10, 2, null=True)
    overlap_factor = store.DoubleField(default=0.0)
    is_active = store.BooleanField(default=True)

    class Meta:
        table_name = "density_parameters"
        checks = [positive("items_per_m2"), positive("avg_item_area_cm2"),
                  store.Check("overlap_factor_range",
                              "overlap_factor >= 0 AND overlap_factor < 1")]
        indexes = ((("product", "packaging_catalog", "storage_bin_type"), True),)


class PriceList(store.TimestampedModel):
    """DB027. Exact money (``DecimalField(12, 2)``: ``NUMERIC(12, 2)`` on
    both backends), per product, optional packaging, currency,
    quantity tier and validity period."""
    product = store.ForeignKeyField(Product, backref="prices", on_delete="RESTRICT",
                                    index=False)
    packaging_catalog = store.ForeignKeyField(PackagingCatalog, backref="prices",
                                              on_delete="RESTRICT", null=True)
    currency = store.CharField(max_length=3)
    unit_price = store.DecimalField(12, 2)
    min_quantity = store.IntegerField(default=1)
    valid_from = store.DateField()
    valid_to = store.DateField(null=True)

    class Meta:
        table_name = "price_list"
        checks = [non_negative("unit_price"),
                  store.Check("min_quantity_positive", "min_quantity >= 1"),
                  store.Check("valid_range", "valid_to > valid_from"),
                  store.Check("currency_iso", {
                      "sqlite": "currency GLOB '[A-Z][A-Z][A-Z]'",
                      "postgresql": "currency ~ '^[A-Z]{3}$'"})]
        indexes = ((("product", "packaging_catalog", "currency", "min_quantity",
                     "valid_from"), True),)
