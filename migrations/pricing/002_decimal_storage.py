"""002_decimal_storage: decimals on SQLite as the number itself.

store 0.1 kept each DecimalField on SQLite as the number times 10**scale in
an INTEGER column, with range CHECKs over the scaled integers
(``base_price >= 500``); store 0.2 keeps the number in NUMERIC(p, s) with
each CHECK written once, in the seed's words, for both backends (see
``store.legacy``). This converts a file written by store 0.1, exactly: the
CHECKs are dropped, the columns converted, the CHECKs added back in their
new text. On a new file and on PostgreSQL the CHECKs are re-created as they
were and nothing else changes.
"""
import peewee
import store


def migrate(migrator, database, fake=False):
    migrator.drop_check('brand_groups', 'ck_brand_groups_base_price')
    migrator.drop_check('brand_groups', 'ck_brand_groups_sensitivity')
    migrator.drop_check('models', 'ck_models_coefficient')
    migrator.upgrade_decimal_storage('brand_groups', 'base_price', store.DecimalField(10, 2))
    migrator.upgrade_decimal_storage('brand_groups', 'condition_sensitivity', store.DecimalField(3, 2))
    migrator.upgrade_decimal_storage('models', 'coefficient', store.DecimalField(4, 2))
    migrator.add_check('brand_groups', 'ck_brand_groups_base_price', 'base_price >= 5.00 AND base_price <= 500.00')
    migrator.add_check('brand_groups', 'ck_brand_groups_sensitivity', 'condition_sensitivity >= 0.5 AND condition_sensitivity <= 1.5')
    migrator.add_check('models', 'ck_models_coefficient', 'coefficient >= 0.5 AND coefficient <= 3.0')


def rollback(migrator, database, fake=False):
    # Nothing: the earlier migrations create decimals in this form now, so
    # the database rolled back is what they make. (Back to store 0.1's form
    # would be a database this store version refuses to read.)
    pass
