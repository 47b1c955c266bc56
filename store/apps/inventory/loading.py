"""Loading a storage location with its bins and their latest batches in a
fixed number of queries, whatever the number of bins (no N+1).

``load_location(location_id)`` runs three queries on both backends: the
location; its bins (with their bin type, joined); and the latest ``latest``
batches of every bin at once (a ranking CTE, ``ROW_NUMBER() OVER
(PARTITION BY storage_bin_id ...)``). It uses peewee's prefetch machinery
(``Select.with_related`` with ``Load(..., per_parent=N)``, the per-parent
form of ``prefetch``): ``location.bins`` is a list ordered by code and
``bin.batches`` a list, newest first (``created_at`` then ``id``
descending); reading them, ``bin.storage_bin_type`` or ``batch.storage_bin``
runs no query.
"""
from __future__ import annotations

from peewee import JOIN, Load

from .locations import StorageBin, StorageBinType, StorageLocation
from .stock import StockBatch

#: how many batches per bin ``load_location`` loads by default
DEFAULT_LATEST = 5


def location_loads(latest: int = DEFAULT_LATEST) -> Load:
    """The ``Load`` tree bins -> latest batches, for ``with_related`` on any
    ``StorageLocation`` query."""
    if not isinstance(latest, int) or isinstance(latest, bool) or latest < 1:
        raise ValueError(f"latest must be a positive integer, got {latest!r}")
    bins = (StorageBin.select(StorageBin, StorageBinType)
            .join(StorageBinType, JOIN.LEFT_OUTER)
            .order_by(StorageBin.code))
    batches = StockBatch.select().order_by(StockBatch.created_at.desc(),
                                           StockBatch.id.desc())
    return Load(StorageLocation.bins, query=bins).then(
        Load(StorageBin.batches, query=batches, per_parent=latest))


def load_locations(query=None, *, latest: int = DEFAULT_LATEST) -> list:
    """Every location of ``query`` (default: all), each with ``bins`` and
    their latest batches loaded; three queries in all."""
    query = StorageLocation.select().order_by(StorageLocation.id) if query is None else query
    return list(query.with_related(location_loads(latest)))


def load_location(location_id, *, latest: int = DEFAULT_LATEST):
    """The location ``location_id`` with its bins and each bin's ``latest``
    batches; ``StorageLocation.DoesNotExist`` if there is none."""
    query = StorageLocation.select().where(StorageLocation.id == location_id)
    found = load_locations(query, latest=latest)
    if not found:
        raise StorageLocation.DoesNotExist(f"no storage location with id {location_id!r}")
    return found[0]
