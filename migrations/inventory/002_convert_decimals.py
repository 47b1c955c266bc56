"""002_convert_decimals: decimals on SQLite as the number itself.

store 0.1 kept each DecimalField on SQLite as the number times 10**scale in
an INTEGER column; store 0.2 keeps the number in NUMERIC(p, s), so that SQL
sees it (see ``store.legacy``). This converts a file written by store 0.1,
exactly; on a new file and on PostgreSQL it does nothing.
"""
import peewee
import store


def migrate(migrator, database, fake=False):
    migrator.upgrade_decimal_storage('storage_bin_types', 'length_cm', store.DecimalField(7, 2))
    migrator.upgrade_decimal_storage('storage_bin_types', 'width_cm', store.DecimalField(7, 2))
    migrator.upgrade_decimal_storage('storage_bin_types', 'height_cm', store.DecimalField(7, 2))
    migrator.upgrade_decimal_storage('packaging_catalog', 'volume_liters', store.DecimalField(8, 3))
    migrator.upgrade_decimal_storage('packaging_catalog', 'diameter_cm', store.DecimalField(7, 2))
    migrator.upgrade_decimal_storage('packaging_catalog', 'height_cm', store.DecimalField(7, 2))
    migrator.upgrade_decimal_storage('density_parameters', 'items_per_m2', store.DecimalField(10, 3))
    migrator.upgrade_decimal_storage('density_parameters', 'avg_item_area_cm2', store.DecimalField(10, 2))
    migrator.upgrade_decimal_storage('price_list', 'unit_price', store.DecimalField(12, 2))


def rollback(migrator, database, fake=False):
    # Nothing: the earlier migrations create decimals in this form now, so
    # the database rolled back is what they make. (Back to store 0.1's form
    # would be a database this store version refuses to read.)
    pass
