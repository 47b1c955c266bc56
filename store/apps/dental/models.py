"""Dental scan processing: users, cases, files, jobs, segments, models and
audit logs (seed 003). See the package docstring for every choice made.

Every primary key is a UUID made in Python (``uuid.uuid4``) before the row
is inserted; every enum is text with a named CHECK ``ck_<table>_<col>_enum``;
every JSON column is JSONB on PostgreSQL and checked JSON text on SQLite.
GIN indexes (``ix_<table>_<col>``, method ``gin``) exist on PostgreSQL only.
"""
from __future__ import annotations

import enum

import store

__all__ = ["UserRole", "JobStatus", "FileStatus", "SegmentType", "ModelType",
           "AuditEventType", "User", "Case", "File", "Job", "Segment", "MLModel",
           "AuditLog", "MODELS", "GIN_INDEXES"]


# --- enums (the seed's six) --------------------------------------------------------

class UserRole(enum.Enum):
    ADMIN = "admin"
    OPERATOR = "operator"
    SERVICE = "service"


class JobStatus(enum.Enum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class FileStatus(enum.Enum):
    UPLOADED = "uploaded"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"
    DELETED = "deleted"


class SegmentType(enum.Enum):
    TOOTH = "tooth"
    GUMS = "gums"
    JAW = "jaw"
    IMPLANT = "implant"
    CROWN = "crown"
    BRIDGE = "bridge"
    OTHER = "other"


class ModelType(enum.Enum):
    SEGMENTATION = "segmentation"
    QUALITY_ASSESSMENT = "quality_assessment"
    FORMAT_CONVERSION = "format_conversion"
    ANATOMICAL_DETECTION = "anatomical_detection"


class AuditEventType(enum.Enum):
    LOGIN_SUCCESS = "login_success"
    LOGIN_FAILURE = "login_failure"
    DATA_ACCESS = "data_access"
    DATA_CREATE = "data_create"
    DATA_UPDATE = "data_update"
    DATA_DELETE = "data_delete"
    DATA_RETENTION_PURGE = "data_retention_purge"
    RIGHT_TO_ERASURE = "right_to_erasure"
    CLIENT_AUTHENTICATION = "client_authentication"


# --- tables -------------------------------------------------------------------------

class User(store.Model):
    """Authentication and authorization."""

    id = store.UUIDField(primary_key=True)
    username = store.CharField(max_length=100, unique=True)
    email = store.CharField(max_length=255, unique=True)
    hashed_password = store.CharField(max_length=255)
    role = store.EnumField(UserRole, default=UserRole.OPERATOR, index=True)
    is_active = store.BooleanField(default=True)
    is_verified = store.BooleanField(default=False)
    created_at = store.DateTimeTZField(default=store.utcnow, index=True)
    updated_at = store.DateTimeTZField(auto_now=True)
    last_login = store.DateTimeTZField(null=True)
    user_metadata = store.JSONField(null=True)

    class Meta:
        table_name = "users"


class Case(store.Model):
    """A patient case; soft-deleted with ``is_deleted``."""

    id = store.UUIDField(primary_key=True)
    case_number = store.CharField(max_length=100, unique=True)
    patient_id = store.CharField(max_length=100, index=True)
    title = store.CharField(max_length=255)
    description = store.TextField(null=True)
    status = store.CharField(max_length=50, default="active")
    priority = store.CharField(max_length=20, default="normal", index=True)
    created_by = store.ForeignKeyField(User, column_name="created_by", backref="cases")
    created_at = store.DateTimeTZField(default=store.utcnow, index=True)
    updated_at = store.DateTimeTZField(auto_now=True)
    completed_at = store.DateTimeTZField(null=True)
    tags = store.JSONField(null=True)
    case_metadata = store.JSONField(null=True)
    is_deleted = store.BooleanField(default=False, index=True)

    class Meta:
        table_name = "cases"
        indexes = ((("status", "created_at"), False),)


class File(store.Model):
    """An uploaded scan file of a case."""

    id = store.UUIDField(primary_key=True)
    case = store.ForeignKeyField(Case, column_name="case_id", backref="files")
    filename = store.CharField(max_length=255)
    original_filename = store.CharField(max_length=255)
    file_path = store.CharField(max_length=500)
    file_size = store.BigIntegerField()
    file_type = store.CharField(max_length=50, index=True)
    mime_type = store.CharField(max_length=100)
    checksum = store.CharField(max_length=64, index=True)
    status = store.EnumField(FileStatus, default=FileStatus.UPLOADED)
    uploaded_by = store.ForeignKeyField(User, column_name="uploaded_by",
                                        backref="uploaded_files")
    uploaded_at = store.DateTimeTZField(default=store.utcnow, index=True)
    processed_at = store.DateTimeTZField(null=True, index=True)
    processing_metadata = store.JSONField(null=True)
    tags = store.JSONField(null=True)
    file_metadata = store.JSONField(null=True)
    is_deleted = store.BooleanField(default=False, index=True)

    class Meta:
        table_name = "files"
        indexes = ((("status", "uploaded_at"), False),)


class Job(store.Model):
    """A background processing task (Celery) for a case, optionally one file."""

    id = store.UUIDField(primary_key=True)
    case = store.ForeignKeyField(Case, column_name="case_id", backref="jobs")
    file = store.ForeignKeyField(File, column_name="file_id", null=True, backref="jobs")
    job_type = store.CharField(max_length=100, index=True)
    status = store.EnumField(JobStatus, default=JobStatus.PENDING)
    priority = store.IntegerField(default=5)
    created_by = store.ForeignKeyField(User, column_name="created_by", backref="jobs")
    created_at = store.DateTimeTZField(default=store.utcnow, index=True)
    started_at = store.DateTimeTZField(null=True)
    completed_at = store.DateTimeTZField(null=True)
    celery_task_id = store.CharField(max_length=255, null=True, index=True)
    progress = store.IntegerField(default=0)
    result = store.JSONField(null=True)
    error_message = store.TextField(null=True)
    retry_count = store.IntegerField(default=0)
    max_retries = store.IntegerField(default=3)
    parameters = store.JSONField(null=True)
    job_metadata = store.JSONField(null=True)

    class Meta:
        table_name = "jobs"
        indexes = ((("status", "created_at"), False),
                   (("priority", "created_at"), False))
        checks = [store.Check("progress_range", "progress BETWEEN 0 AND 100")]


class Segment(store.Model):
    """An anatomical part found in a file (by a job)."""

    id = store.UUIDField(primary_key=True)
    case = store.ForeignKeyField(Case, column_name="case_id", backref="segments")
    file = store.ForeignKeyField(File, column_name="file_id", backref="segments")
    segment_type = store.EnumField(SegmentType, index=True)
    segment_number = store.IntegerField(null=True)
    confidence_score = store.IntegerField(null=True, index=True)
    bounding_box = store.JSONField(null=True)
    mesh_data = store.JSONField(null=True)
    properties = store.JSONField(null=True)
    created_at = store.DateTimeTZField(default=store.utcnow, index=True)
    updated_at = store.DateTimeTZField(auto_now=True)
    created_by_job = store.ForeignKeyField(Job, column_name="created_by_job", null=True,
                                           backref="segments")
    segment_metadata = store.JSONField(null=True)
    is_deleted = store.BooleanField(default=False, index=True)

    class Meta:
        table_name = "segments"


class MLModel(store.Model):
    """A trained ML model (table ``models``), optionally tied to a case."""

    id = store.UUIDField(primary_key=True)
    case = store.ForeignKeyField(Case, column_name="case_id", null=True, backref="models")
    model_type = store.EnumField(ModelType, index=True)
    model_name = store.CharField(max_length=255)
    model_version = store.CharField(max_length=50, index=True)
    model_path = store.CharField(max_length=500)
    model_size = store.BigIntegerField(null=True)
    accuracy_score = store.IntegerField(null=True)
    training_data_info = store.JSONField(null=True)
    hyperparameters = store.JSONField(null=True)
    created_at = store.DateTimeTZField(default=store.utcnow, index=True)
    updated_at = store.DateTimeTZField(auto_now=True)
    is_active = store.BooleanField(default=True, index=True)
    model_metadata = store.JSONField(null=True)

    class Meta:
        table_name = "models"
        indexes = ((("model_name", "model_version"), True),)


class AuditLog(store.Model):
    """A compliance event (HIPAA/GDPR); ``username``/``user_role`` are copied
    so the entry stays readable without the user row."""

    id = store.UUIDField(primary_key=True)
    timestamp = store.DateTimeTZField(default=store.utcnow, index=True)
    event_type = store.EnumField(AuditEventType)
    # index=False: the (user_id, timestamp) index below serves user_id lookups
    user = store.ForeignKeyField(User, column_name="user_id", null=True, index=False,
                                 backref="audit_logs")
    username = store.CharField(max_length=100, null=True, index=True)
    user_role = store.EnumField(UserRole, null=True)
    ip_address = store.CharField(max_length=45, null=True)
    user_agent = store.CharField(max_length=500, null=True)
    resource_type = store.CharField(max_length=100, null=True, index=True)
    resource_id = store.CharField(max_length=100, null=True, index=True)
    action = store.CharField(max_length=100, null=True)
    details = store.JSONField(null=True)
    outcome = store.CharField(max_length=20, default="success", index=True)
    error_message = store.TextField(null=True)

    class Meta:
        table_name = "audit_logs"
        indexes = ((("event_type", "timestamp"), False),
                   (("user_id", "timestamp"), False))


#: The seed's eight GIN-indexed JSON columns: (model, field name).
GIN_INDEXES = (
    (Case, "tags"), (Case, "case_metadata"),
    (File, "tags"), (File, "file_metadata"),
    (Segment, "properties"), (Segment, "segment_metadata"),
    (MLModel, "model_metadata"),
    (AuditLog, "details"),
)

for _model, _name in GIN_INDEXES:
    _model.add_index(_model.index(getattr(_model, _name), using="gin",
                                  name=f"ix_{_model._meta.table_name}_{_name}"))
del _model, _name


MODELS = [User, Case, File, Job, Segment, MLModel, AuditLog]
