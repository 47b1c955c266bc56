"""DB001-DB006: the location hierarchy, warehouses > storage_areas >
storage_locations > storage_bins, and storage_bin_types. Codes are unique
within their parent; the three upper levels carry a geometry
(``store.geo.GeoModel``)."""
from __future__ import annotations

import store
from store.geo import GeoModel

from .common import Lookup, code_not_blank, positive


class Warehouse(GeoModel, store.TimestampedModel):
    """DB001. ``geometry``: the site footprint."""
    code = store.CharField(max_length=30, unique=True)
    name = store.CharField(max_length=200)
    address = store.TextField(null=True)
    is_active = store.BooleanField(default=True)

    class Meta:
        table_name = "warehouses"
        checks = [code_not_blank()]


class StorageArea(GeoModel, store.TimestampedModel):
    """DB002. A zone of a warehouse (greenhouse, hall, yard)."""
    # indexed by uq_storage_areas_warehouse_id_code (warehouse_id first)
    warehouse = store.ForeignKeyField(Warehouse, backref="areas", on_delete="RESTRICT",
                                      index=False)
    code = store.CharField(max_length=30)
    name = store.CharField(max_length=200)
    is_active = store.BooleanField(default=True)

    class Meta:
        table_name = "storage_areas"
        checks = [code_not_blank()]
        indexes = ((("warehouse", "code"), True),)


class StorageLocation(GeoModel, store.TimestampedModel):
    """DB003. A place in an area that is photographed and configured."""
    storage_area = store.ForeignKeyField(StorageArea, backref="locations",
                                         on_delete="RESTRICT", index=False)
    code = store.CharField(max_length=30)
    name = store.CharField(max_length=200)
    is_active = store.BooleanField(default=True)

    class Meta:
        table_name = "storage_locations"
        checks = [code_not_blank()]
        indexes = ((("storage_area", "code"), True),)


class StorageBinType(Lookup):
    """DB005. Kinds of bin (tray, bench segment, pallet) and their size."""
    capacity = store.IntegerField(null=True)            # items it holds
    length_cm = store.DecimalField(7, 2, null=True)
    width_cm = store.DecimalField(7, 2, null=True)
    height_cm = store.DecimalField(7, 2, null=True)

    class Meta:
        table_name = "storage_bin_types"
        checks = [code_not_blank(), positive("capacity"),
                  store.Check("dimensions_positive",
                              "length_cm > 0 AND width_cm > 0 AND height_cm > 0")]


class StorageBin(store.TimestampedModel):
    """DB004. The smallest place that holds stock batches."""
    storage_location = store.ForeignKeyField(StorageLocation, backref="bins",
                                             on_delete="RESTRICT", index=False)
    storage_bin_type = store.ForeignKeyField(StorageBinType, backref="bins",
                                             on_delete="RESTRICT", null=True)
    code = store.CharField(max_length=30)
    label = store.CharField(max_length=100, null=True)
    is_active = store.BooleanField(default=True)

    class Meta:
        table_name = "storage_bins"
        checks = [code_not_blank()]
        indexes = ((("storage_location", "code"), True),)
