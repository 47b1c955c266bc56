"""DB011-DB014: photos and what is seen in them. ``s3_images`` has a UUID
key made in Python; ``detections`` and ``estimations`` are the high-volume
tables, partitioned by day on PostgreSQL (``store.partitions``)."""
from __future__ import annotations

import store
from store.partitions import PartitionedModel

from .catalog import Classification
from .common import between_0_and_1, non_negative, positive
from .config import DensityParameter
from .enums import EstimationMethod, ImageContentType, SessionStatus
from .locations import StorageBin, StorageLocation
from .users import User


class S3Image(store.Model):
    """DB011. ``image_id`` is a uuid4 made by the application (before the
    upload, so the object key can contain it); the column has no database
    default. ``Model(...).save()`` inserts."""
    image_id = store.UUIDField(primary_key=True)
    bucket = store.CharField(max_length=63)
    object_key = store.CharField(max_length=1024)
    content_type = store.EnumField(ImageContentType)
    size_bytes = store.BigIntegerField()
    width_px = store.IntegerField(null=True)
    height_px = store.IntegerField(null=True)
    sha256 = store.CharField(max_length=64, null=True)
    captured_at = store.DateTimeTZField(null=True)
    uploaded_by = store.ForeignKeyField(User, backref="images", on_delete="SET NULL",
                                        null=True)
    created_at = store.DateTimeTZField(default=store.utcnow)

    class Meta:
        table_name = "s3_images"
        checks = [positive("size_bytes"),
                  store.Check("dimensions_positive", "width_px > 0 AND height_px > 0"),
                  store.Check("sha256_length", "length(sha256) = 64")]
        indexes = ((("bucket", "object_key"), True),)


class PhotoProcessingSession(store.TimestampedModel):
    """DB012. One run of the photo pipeline over one image."""
    image = store.ForeignKeyField(S3Image, backref="sessions", on_delete="RESTRICT")
    storage_location = store.ForeignKeyField(StorageLocation, backref="photo_sessions",
                                             on_delete="RESTRICT", null=True)
    user = store.ForeignKeyField(User, backref="photo_sessions", on_delete="SET NULL",
                                 null=True)
    status = store.EnumField(SessionStatus, default=SessionStatus.PENDING)
    model_version = store.CharField(max_length=50, null=True)
    started_at = store.DateTimeTZField(null=True)
    completed_at = store.DateTimeTZField(null=True)
    total_detected = store.IntegerField(default=0)
    total_estimated = store.IntegerField(default=0)
    error_message = store.TextField(null=True)

    class Meta:
        table_name = "photo_processing_sessions"
        checks = [non_negative("total_detected"), non_negative("total_estimated"),
                  store.Check("completed_after_started", "completed_at >= started_at"),
                  store.Check("completed_has_time",
                              "status <> 'completed' OR completed_at IS NOT NULL"),
                  store.Check("failed_has_error",
                              "status <> 'failed' OR error_message IS NOT NULL")]
        indexes = ((("status", "created_at"), False),)


class Detection(PartitionedModel):
    """DB013. One object found in a photo: a box in pixels and a class.
    Partitioned by ``captured_on`` (the photo's day, UTC), so reprocessing
    an old photo writes to that photo's day."""
    captured_on = store.DateField()
    session = store.ForeignKeyField(PhotoProcessingSession, backref="detections",
                                    on_delete="CASCADE")
    # not indexed: read by day and session; deleting a classification that
    # detections use is refused after a scan (rare)
    classification = store.ForeignKeyField(Classification, backref="detections",
                                           on_delete="RESTRICT", null=True, index=False)
    center_x = store.DoubleField()
    center_y = store.DoubleField()
    width = store.DoubleField()
    height = store.DoubleField()
    confidence = store.DoubleField()
    created_at = store.DateTimeTZField(default=store.utcnow, server_default=store.NOW)

    class Meta:
        table_name = "detections"
        partition_key = "captured_on"
        checks = [store.Check("center_non_negative", "center_x >= 0 AND center_y >= 0"),
                  store.Check("size_positive", "width > 0 AND height > 0"),
                  between_0_and_1("confidence")]


class Estimation(PartitionedModel):
    """DB014. How many items of a class a session estimates in a bin or
    location. Partitioned by ``captured_on`` like detections."""
    captured_on = store.DateField()
    session = store.ForeignKeyField(PhotoProcessingSession, backref="estimations",
                                    on_delete="CASCADE")
    storage_bin = store.ForeignKeyField(StorageBin, backref="estimations",
                                        on_delete="RESTRICT", null=True, index=False)
    classification = store.ForeignKeyField(Classification, backref="estimations",
                                           on_delete="RESTRICT", null=True, index=False)
    density_parameter = store.ForeignKeyField(DensityParameter, backref="estimations",
                                              on_delete="RESTRICT", null=True, index=False)
    method = store.EnumField(EstimationMethod)
    estimated_count = store.IntegerField()
    covered_area_m2 = store.DoubleField(null=True)
    confidence = store.DoubleField(null=True)
    created_at = store.DateTimeTZField(default=store.utcnow, server_default=store.NOW)

    class Meta:
        table_name = "estimations"
        partition_key = "captured_on"
        checks = [non_negative("estimated_count"), non_negative("covered_area_m2"),
                  between_0_and_1("confidence"),
                  store.Check("density_has_parameter",
                              "method <> 'density' OR density_parameter_id IS NOT NULL")]
