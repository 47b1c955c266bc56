"""dental: the database of a dental scan processing backend (seed 003,
``../shared/seeds/003_8cdf52340355946c.txt``, EPIC E3 of a FastAPI/Celery
service): ``users``, ``cases``, ``files``, ``jobs``, ``segments``, ``models``
and ``audit_logs``.

The seed is a summary: it names the tables, the six enums, the index strategy
and the known limitation, not the columns. Columns, types, nullability and
Python defaults follow the SQLAlchemy models the seed summarises (its
``database.py`` and initial migration), with these choices:

* Enums (UserRole, JobStatus, FileStatus, SegmentType, ModelType,
  AuditEventType, values exactly the seed's) are text with a named CHECK
  ``ck_<table>_<column>_enum`` on both backends, never PostgreSQL enum types:
  the seed's known limitation (``make resetdb`` left enum types behind) cannot
  happen, since dropping the tables drops everything (tested).
  ``cases.status``/``priority`` and ``audit_logs.outcome`` are free text with
  defaults ``'active'``/``'normal'``/``'success'`` as in the seed, not enums.
* Primary keys are UUIDs made in Python (``uuid4``) before the insert, so a
  new object knows its id and ``Model(...).save()`` inserts. ``uuid`` on
  PostgreSQL, 36-character text (CHECKed) on SQLite.
* JSON columns keep the seed's names (``case_metadata``, ``file_metadata``,
  ``job_metadata``, ``segment_metadata``, ``model_metadata``,
  ``user_metadata``, ``tags``, ``details``, ...), all nullable without
  default as in the seed: JSONB on PostgreSQL, JSON text with
  ``ck_<table>_<col>_json`` on SQLite.
* GIN indexes: the seed's eight (``cases.tags``, ``cases.case_metadata``,
  ``files.tags``, ``files.file_metadata``, ``segments.properties``,
  ``segments.segment_metadata``, ``models.model_metadata``,
  ``audit_logs.details``), named ``ix_<table>_<column>``, created on
  PostgreSQL only (``store.model.index_applies``). There a containment query
  ``Case.tags.contains(["urgent"])`` (``tags @> '["urgent"]'``) is answered
  from the index. SQLite has no inverted index: the same query gives the
  same rows, but by calling a containment function on every row, parsing
  that row's JSON, so its cost grows with the table (a full scan, tested
  with EXPLAIN QUERY PLAN). The tested way to keep it cheap on SQLite is to
  narrow first by an indexed column, e.g. ``File.case == c`` (served by
  ``ix_files_case_id``), so the JSON test runs only on that case's rows.
* Indexes use the project's names (``ix_``/``uq_`` + table + columns), not
  the seed's ``idx_*``/``uq_model_name_version``. Kept: the seed's
  ``(case_id)`` indexes, ``(status, created_at)`` on cases and jobs,
  ``(status, uploaded_at)`` on files (files have no ``created_at``),
  ``(priority, created_at)`` on jobs, ``(event_type, timestamp)`` and
  ``(user_id, timestamp)`` on audit_logs, and the single-column ones. Left
  out as redundant: single-column indexes equal to a UNIQUE key (username,
  email, case_number) or to the first column of a composite index
  (cases/files/jobs status, jobs priority, models model_name, audit_logs
  event_type and user_id). Every other foreign key column has its own
  index (peewee's default), also ``created_by``/``uploaded_by``/
  ``created_by_job``, which the seed left unindexed: checking a delete of a
  user or job, or joining from it, would otherwise scan the child table.
* Foreign keys: the seed gives no ON DELETE, so every FK is NO ACTION:
  deleting a user, case, file or job still referenced is refused
  (``store.ForeignKeyViolation`` naming ``fk_<table>_<col>_<ref>``); the seed
  removes rows by soft delete (``is_deleted`` on cases, files, segments).
  SQLite enforces them too (store turns ``foreign_keys`` on for every
  connection). Nullable as in the seed: ``jobs.file_id``,
  ``segments.created_by_job``, ``models.case_id``, ``audit_logs.user_id``.
  FK column names are the seed's (``created_by``, ``uploaded_by``,
  ``created_by_job``, ``case_id``, ``file_id``, ``user_id``).
* Timestamps are timezone-aware (``timestamptz``; UTC text on SQLite) where
  the seed used naive ``DateTime``; ``updated_at`` is refreshed on every
  save/update (the seed's ``onupdate``). The seed's ``default=func.now()`` is
  a client-side default, so the ORM sets them (no SQL DEFAULT).
* ``files.file_size`` and ``models.model_size`` are BIGINT where the seed has
  INTEGER: a scan or model of 2 GiB or more would be refused otherwise.
* ``jobs.progress`` gets a CHECK ``ck_jobs_progress_range`` (0..100), the
  range the seed's ``update_job_progress`` clamps to.
* ``audit_logs`` is not ``Meta.append_only``: the seed keeps audit logs for
  seven years and then purges them (``data_retention_purge``), a DELETE an
  append-only guard would refuse.
* The model class of table ``models`` is ``MLModel`` (``Model`` is store's
  base class).
"""
from .models import (MODELS, AuditEventType, AuditLog, Case, File, FileStatus,
                     GIN_INDEXES, Job, JobStatus, MLModel, ModelType, Segment,
                     SegmentType, User, UserRole)

__all__ = ["MODELS", "GIN_INDEXES", "User", "Case", "File", "Job", "Segment",
           "MLModel", "AuditLog", "UserRole", "JobStatus", "FileStatus",
           "SegmentType", "ModelType", "AuditEventType"]

#: Its tables live in their own namespace (``users`` and ``models`` are also
#: table names of other apps): the PostgreSQL schema ``dental``, on SQLite the
#: file ``<main>.dental.db`` attached as ``dental`` (see store.namespaces).
NAMESPACE = "dental"
