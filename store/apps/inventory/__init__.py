"""inventory: warehouse stock counted from photos (seed 000,
``../shared/seeds/000_7fbdb96f5f838908.txt``, "Epic 002: Database Models &
Migrations", cards DB001-DB035).

The seed lists cards, not columns, and refers to an ERD it does not include,
so the schema below is designed here. Its 28 "models" are 23 tables plus
four enums (DB009 movement types, DB010 batch status, DB018 product states,
DB019 product sizes) and DB006 (location relationships and geometry), which
is behaviour, not a table:

=========================  =============================================
location hierarchy         warehouses > storage_areas > storage_locations
                           > storage_bins; storage_bin_types
stock                      stock_batches, stock_movements
photo processing           s3_images, photo_processing_sessions,
                           detections, estimations
catalogue                  product_categories > product_families >
                           products; packaging_types, materials, colors,
                           packaging_catalog; classifications
configuration / pricing    storage_location_config, density_parameters,
                           price_list
people                     users
=========================  =============================================

Design decisions (where the seed is silent, or where this project's design
overrides it):

* Names: the seed's table names (plural, ``price_list``,
  ``packaging_catalog``, ``storage_location_config`` as given); FK columns
  ``<name>_id``; constraints and indexes by the project convention
  (``ck_``/``uq_``/``ix_``/``fk_`` + table + columns or rule; names longer
  than 63 characters are shortened with a hash by store, the same on both
  backends).
* Enums are text with a named CHECK ``ck_<table>_<column>_enum``, never
  PostgreSQL enum types (the seed's SQLAlchemy enums would create types a
  rollback leaves behind). Values (``enums.py``): movement types receipt,
  transfer, sale, loss, adjustment_in, adjustment_out; batch status active,
  reserved, quarantined, depleted, disposed; product state (the catalogue
  lifecycle) draft, active, seasonal, discontinued; product size xs..xxl;
  plus user roles, session status, image content type, estimation method.
* Hierarchy: each level has a business ``code`` unique within its parent
  (``uq_storage_areas_warehouse_id_code``, ...; warehouse codes globally);
  the composite unique index also serves the FK, so the FK column gets no
  index of its own. Parents cannot be deleted while children exist (ON
  DELETE RESTRICT): stock history must not vanish with a bin.
* ON DELETE: RESTRICT for structure and catalogue references; CASCADE where
  the child is owned data (a location's configurations, a session's
  detections and estimations); SET NULL for the user who did something
  (uploaded an image, ran a session, moved stock). SQLite enforces every FK
  (store turns ``foreign_keys`` on for each connection).
* Stock: quantities never go negative (``ck_stock_batches_quantity_*``,
  ``quantity_initial``/``quantity_current`` >= 0); a movement's
  ``quantity`` is > 0 and its type gives the direction, with which of
  ``from_bin``/``to_bin`` must be set CHECKed per type (inbound, outbound,
  transfer between two different bins). A depleted batch holds 0. Keeping
  ``quantity_current`` in step with movements is the application's job
  (no trigger), so the same code runs on both backends.
* ``s3_images.image_id`` is a UUID made in Python (uuid4) with no database
  default (DB011): the uploader knows the key before the row exists; ``uuid``
  on PostgreSQL, CHECKed 36-character text on SQLite.
* ``detections`` and ``estimations`` (DB013/DB014, DB031) are partitioned
  by day on PostgreSQL with native declarative partitioning instead of the
  seed's pg_partman (no extension): ``store.partitions``. Partition key
  ``captured_on`` (DATE, the photo's UTC day, so reprocessing old photos
  writes to their day); primary key ``(id, captured_on)`` on PostgreSQL,
  ``id`` on SQLite, where they are plain tables with ``ix_<table>_captured_on``.
  A row for a day without a partition raises ``MissingPartition`` (no
  DEFAULT partition). Only ``session_id`` is indexed there (FK to the
  session, the other read path); their other FKs are not indexed, to keep
  inserts cheap: deleting a classification, bin or density parameter that
  they reference is refused after a scan.
* Geometry (DB006): warehouses, storage areas and storage locations carry
  GeoJSON plus an indexed bounding box (``store.geo.GeoModel``) instead of
  PostGIS GEOMETRY with SP-GiST indexes (PostGIS is optional and absent
  from the default path); ``store.geo.within(Model, rect)`` gives the same
  rows on both backends from a B-tree index.
* Relationships (the seed's ``lazy='selectinload'``): loaded on demand with
  peewee's prefetch; ``loading.load_location(id)`` loads a location, its
  bins and their latest batches in three queries (see ``loading``).
* Money: ``price_list.unit_price`` is ``DecimalField(12, 2)`` (``NUMERIC(12, 2)``
  on both backends, exact), >= 0, with an ISO currency
  (``[A-Z]{3}``), a quantity tier and a validity period (``valid_to >
  valid_from``), unique per (product, packaging, currency, tier, start).
* At most one active ``storage_location_config`` per location: a partial
  unique index ``uq_storage_location_config_storage_location_id_active``
  (``WHERE is_active``) on both backends; inactive rows are the history.
* Timestamps are aware (``timestamptz``; UTC text on SQLite):
  ``created_at``/``updated_at`` on every mutable table
  (``store.TimestampedModel``), ``created_at`` alone on the append-style
  tables (s3_images, stock_movements, detections, estimations; on the
  last two with ``server_default=store.NOW`` for bulk loaders).
* Ranges and formats are named CHECKs: probabilities in [0, 1]
  (``*_confidence_range``), positive sizes and dimensions (NULL allowed
  where the column is optional), ``colors.hex_code`` ``#RRGGBB``,
  ``users.email`` shaped like an address, blank codes refused.

``MODELS`` lists the models in dependency order (parents first);
``PARTITIONED`` the day-partitioned ones. Migrations are generated
separately; the partitioned tables need ``store.partitions``' DDL.
"""
from .loading import load_location, load_locations
from .models import *  # noqa: F401,F403 - the app's public names
from .models import MODELS, PARTITIONED, __all__ as _models_all  # noqa: F401 (named by the registry)

__all__ = list(_models_all) + ["load_location", "load_locations"]

#: Its tables live in their own namespace (``users`` is also a table of the
#: dental app): the PostgreSQL schema ``inventory``, on SQLite the file
#: ``<main>.inventory.db`` attached as ``inventory`` (see store.namespaces).
NAMESPACE = "inventory"
