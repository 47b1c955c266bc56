"""Every model of the inventory app, and ``MODELS`` in dependency order
(parents first). The models live in modules by subject: ``users``,
``locations``, ``catalog``, ``config``, ``photos``, ``stock``."""
from __future__ import annotations

from .catalog import (Classification, Color, Material, PackagingCatalog, PackagingType,
                      Product, ProductCategory, ProductFamily)
from .config import DensityParameter, PriceList, StorageLocationConfig
from .enums import (BatchStatus, EstimationMethod, ImageContentType, MovementType,
                    ProductSize, ProductState, SessionStatus, UserRole)
from .locations import StorageArea, StorageBin, StorageBinType, StorageLocation, Warehouse
from .photos import Detection, Estimation, PhotoProcessingSession, S3Image
from .stock import StockBatch, StockMovement
from .users import User

MODELS = [
    User,
    Warehouse, StorageArea, StorageLocation, StorageBinType, StorageBin,
    ProductCategory, ProductFamily, Product,
    PackagingType, Material, Color, PackagingCatalog,
    Classification,
    StorageLocationConfig, DensityParameter, PriceList,
    S3Image, PhotoProcessingSession, Detection, Estimation,
    StockBatch, StockMovement,
]

#: the day-partitioned models (``store.partitions``)
PARTITIONED = [Detection, Estimation]

__all__ = ["MODELS", "PARTITIONED"] + [m.__name__ for m in MODELS] + [
    "BatchStatus", "EstimationMethod", "ImageContentType", "MovementType",
    "ProductSize", "ProductState", "SessionStatus", "UserRole"]
