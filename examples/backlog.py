"""The backlog app (seed 004): a product owner bot's projects, features and log.

    python examples/backlog.py [DATABASE_URL]

Migrates the app (a temporary SQLite file by default), creates a project
with releases and features, records what happened in the append-only
``event_log``, handles a chat message exactly once (``store.idempotency``),
then runs the bot's typical queries: the backlog by status, features per
release, a user's active project, the audit trail of one feature.
"""
import datetime as dt

from peewee import JOIN, fn

import store
from common import example_database, show
from store.apps.backlog import (EventLog, Feature, ProcessedMessage, Project, Release,
                                UserContext)
from store.idempotency import process_once

USER = "tg:4242"


def log(action, entity, **details):
    EventLog.create(user_id=USER, action=action, entity_type=entity._meta.table_name,
                    entity_id=entity.id, details=details)


def seed():
    project = Project.create(name="Checkout revamp", description="One-page checkout")
    log("project_created", project, name=project.name)
    r1 = Release.create(project=project, version="1.0", target_date=dt.date(2026, 4, 1))
    r2 = Release.create(project=project, version="1.1", target_date=dt.date(2026, 6, 1))
    for name, status, release, teams in [
            ("Guest checkout", "done", r1, "web"),
            ("Apple Pay", "in_progress", r1, "web,mobile"),
            ("Saved carts", "backlog", r2, "web"),
            ("Address autocomplete", "backlog", r2, "web"),
            ("Gift cards", "backlog", None, None)]:
        feature = Feature.create(project=project, name=name, status=status, release=release,
                                 assigned_teams=teams, assigned_po="dana")
        log("feature_created", feature, name=name, status=status)
    UserContext.create(user_id=USER, active_project=project)
    return project


def add_feature_from_message(project, text):
    """What the bot does with a message: add a backlog item (and log it)."""
    feature = Feature.create(project=project, name=text)
    log("feature_created", feature, name=text, source="chat")
    return feature.name


def main():
    with example_database("backlog") as db:
        with db.atomic():
            project = seed()
        for attempt in (1, 2):           # Telegram delivers the same update twice
            outcome = process_once(db, ProcessedMessage, "update-9001",
                                   add_feature_from_message, project, "Dark mode")
            print(f"message update-9001, delivery {attempt}: "
                  f"{'added ' + outcome.result if outcome.ran else 'already processed'}")

        by_status = (Feature.select(Feature.status, fn.COUNT(Feature.id).alias("features"))
                     .where(Feature.project == project)
                     .group_by(Feature.status).order_by(Feature.status))
        show("backlog by status", by_status)
        per_release = (Feature.select(fn.COALESCE(Release.version, "unplanned").alias("release"),
                                      fn.COUNT(Feature.id).alias("features"))
                       .join(Release, JOIN.LEFT_OUTER)
                       .group_by(Release.version)
                       .order_by(Release.version.asc(nulls="LAST")))
        show("features per release", per_release)

        context = UserContext.get_by_id(USER)
        print(f"\n{USER} works on: {context.active_project.name}")
        apple_pay = Feature.get(Feature.name == "Apple Pay")
        apple_pay.status = "done"
        apple_pay.save()
        log("feature_updated", apple_pay, status="done")
        trail = (EventLog.select(EventLog.action, EventLog.details)
                 .where(EventLog.entity_type == "features", EventLog.entity_id == apple_pay.id)
                 .order_by(EventLog.id))
        show("audit trail of Apple Pay", trail)
        created = (EventLog.select()
                   .where(EventLog.details["source"] == "chat").count())
        print(f"\nevents from chat messages: {created}; events in all: {EventLog.select().count()}")

        try:
            EventLog.delete().where(EventLog.entity_id == apple_pay.id).execute()
        except store.AppendOnlyViolation as exc:
            print(f"event_log is append-only: {exc.constraint}")
        Project.delete().where(Project.id == project.id).execute()
        print(f"project deleted: {Feature.select().count()} features and "
              f"{Release.select().count()} releases left (ON DELETE CASCADE), "
              f"active project of {USER}: {UserContext.get_by_id(USER).active_project}")


if __name__ == "__main__":
    main()
