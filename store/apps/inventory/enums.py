"""The inventory app's enums (cards DB009, DB010, DB018, DB019 and the
statuses the tables need). Stored as text with a named CHECK
``ck_<table>_<column>_enum`` on both backends, never a PostgreSQL enum type.
"""
from __future__ import annotations

import enum


class MovementType(enum.Enum):
    """DB009. Quantities are always positive; the type gives the direction
    (and which of ``from_bin``/``to_bin`` must be set, CHECKed)."""
    RECEIPT = "receipt"                 # into to_bin from outside
    TRANSFER = "transfer"               # from_bin -> to_bin
    SALE = "sale"                       # out of from_bin
    LOSS = "loss"                       # out of from_bin (dead, broken, stolen)
    ADJUSTMENT_IN = "adjustment_in"     # count correction upwards, into to_bin
    ADJUSTMENT_OUT = "adjustment_out"   # count correction downwards, out of from_bin


INBOUND = (MovementType.RECEIPT, MovementType.ADJUSTMENT_IN)
OUTBOUND = (MovementType.SALE, MovementType.LOSS, MovementType.ADJUSTMENT_OUT)


class BatchStatus(enum.Enum):
    """DB010."""
    ACTIVE = "active"
    RESERVED = "reserved"
    QUARANTINED = "quarantined"
    DEPLETED = "depleted"               # CHECKed: quantity_current = 0
    DISPOSED = "disposed"


class ProductState(enum.Enum):
    """DB018: the catalogue lifecycle of a product."""
    DRAFT = "draft"
    ACTIVE = "active"
    SEASONAL = "seasonal"
    DISCONTINUED = "discontinued"


class ProductSize(enum.Enum):
    """DB019."""
    XS = "xs"
    S = "s"
    M = "m"
    L = "l"
    XL = "xl"
    XXL = "xxl"


class UserRole(enum.Enum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    WORKER = "worker"
    VIEWER = "viewer"


class SessionStatus(enum.Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"             # CHECKed: completed_at set
    FAILED = "failed"                   # CHECKed: error_message set


class ImageContentType(enum.Enum):
    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"
    HEIC = "image/heic"


class EstimationMethod(enum.Enum):
    DETECTION_COUNT = "detection_count"     # counted from detections
    DENSITY = "density"                     # area x density_parameters (CHECKed: set)
    MANUAL = "manual"                       # entered by a person
