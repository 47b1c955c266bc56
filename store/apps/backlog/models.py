"""The six tables of the ``backlog`` app (seed 004), as store models.

Names, types, nullability and defaults are the seed's; storage per backend
is store's (see ``store.fields``): ``String(n)`` -> ``CharField(max_length=n)``
(VARCHAR(n) + ``ck_<table>_<col>_max_length``), ``Text`` -> ``TextField``,
``JSON`` -> ``JSONField`` (JSONB / checked JSON text), ``DateTime`` ->
``DateTimeTZField`` (aware, UTC; ``store.NOW`` as the SQL default, the
seed's ``func.now()``).
"""
from __future__ import annotations

from store import (AutoField, CharField, DateField, DateTimeTZField, ForeignKeyField,
                   IntegerField, JSONField, Model, NOW, TextField, utcnow)

__all__ = ["Project", "Release", "Feature", "EventLog", "UserContext",
           "ProcessedMessage", "MODELS"]


def created_at():
    """``created_at``: set once on insert (Python), ``now()`` for raw SQL rows."""
    return DateTimeTZField(default=utcnow, server_default=NOW)


def updated_at():
    """``updated_at``: refreshed by every ``save()`` of an existing row and
    every ``Model.update()`` query (store's ``auto_now``). Raw SQL UPDATEs
    leave it as it is."""
    return DateTimeTZField(default=utcnow, server_default=NOW, auto_now=True)


class Project(Model):
    """A product the owner works on; every command runs in one project."""

    id = AutoField()
    name = CharField(max_length=200, unique=True)               # uq_projects_name
    description = TextField(null=True)
    status = CharField(max_length=50, default="active", server_default="active")
    created_at = created_at()
    updated_at = updated_at()

    class Meta:
        table_name = "projects"


class Release(Model):
    """Stub for the ``features.release_id`` foreign key (full implementation
    in the seed's Story 1.5)."""

    id = AutoField()
    project = ForeignKeyField(Project, backref="releases", on_delete="CASCADE")
    version = CharField(max_length=50)
    target_date = DateField(null=True)
    status = CharField(max_length=50, default="planned", server_default="planned")
    created_at = created_at()

    class Meta:
        table_name = "releases"


class Feature(Model):
    """A backlog item of a project, optionally planned into a release."""

    id = AutoField()
    project = ForeignKeyField(Project, backref="features", on_delete="CASCADE")
    name = CharField(max_length=200)
    description = TextField(null=True)
    status = CharField(max_length=50, default="backlog", server_default="backlog",
                       index=True)                               # ix_features_status
    status_reason = TextField(null=True)
    assigned_teams = TextField(null=True)
    assigned_po = CharField(max_length=100, null=True)
    release = ForeignKeyField(Release, backref="features", null=True,
                              on_delete="SET NULL")
    created_at = created_at()
    updated_at = updated_at()

    class Meta:
        table_name = "features"


class EventLog(Model):
    """Append-only audit trail - no updates or deletes.

    Who (``user_id``) did what (``action``) to which entity (``entity_type``,
    ``entity_id``) and when (``timestamp``), with ``details`` as JSON. The
    database refuses every UPDATE and DELETE (``Meta.append_only``): they
    raise ``store.errors.AppendOnlyViolation``.
    """

    id = AutoField()
    user_id = CharField(max_length=100, index=True)              # ix_event_log_user_id
    action = CharField(max_length=100)
    entity_type = CharField(max_length=50, index=True)           # ix_event_log_entity_type
    entity_id = IntegerField()
    timestamp = DateTimeTZField(default=utcnow, server_default=NOW,
                                index=True)                      # ix_event_log_timestamp
    details = JSONField(default=dict, server_default={})
    created_at = created_at()

    class Meta:
        table_name = "event_log"
        append_only = True


class UserContext(Model):
    """The active project of each user (a Telegram user id)."""

    user_id = CharField(max_length=100, primary_key=True)
    active_project = ForeignKeyField(Project, backref="user_contexts", null=True,
                                     on_delete="SET NULL")
    updated_at = updated_at()

    class Meta:
        table_name = "user_context"


class ProcessedMessage(Model):
    """One row per message already handled: the idempotency key
    (``store.idempotency.once`` / ``process_once`` use it)."""

    message_id = CharField(max_length=100, primary_key=True)
    processed_at = DateTimeTZField(default=utcnow, server_default=NOW)

    class Meta:
        table_name = "processed_messages"


MODELS = [Project, Release, Feature, EventLog, UserContext, ProcessedMessage]
