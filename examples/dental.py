"""The dental app (seed 003): scan cases, files, processing jobs, audit logs.

    python examples/dental.py [DATABASE_URL]

Migrates the app into its namespace ``dental`` (a PostgreSQL schema, or the
file ``<name>.dental.db`` beside a SQLite file; a temporary SQLite file by
default), inserts two operators, three cases with tagged scans and their
processing jobs, then runs the backend's typical queries: open urgent cases
(JSON containment), the job queue, files by scanner (a JSON path), the
segments a job found, the audit trail, and the seed's rules refusing bad
rows. Keys are UUIDs made in Python (fixed here so the output is stable).
"""
import datetime as dt
import uuid

from peewee import fn

import store
from common import example_database, show
from store.apps.dental import (AuditEventType, AuditLog, Case, File, FileStatus, Job,
                               JobStatus, Segment, SegmentType, User, UserRole)

T0 = dt.datetime(2026, 2, 2, 9, 0, tzinfo=dt.timezone.utc)


def uid(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"https://example.org/dental/{name}")


def seed():
    ana = User.create(id=uid("ana"), username="ana", email="ana@clinic.example",
                      hashed_password="$argon2id$demo", role=UserRole.OPERATOR)
    bot = User.create(id=uid("bot"), username="segmenter", email="bot@clinic.example",
                      hashed_password="$argon2id$demo", role=UserRole.SERVICE)
    cases = {}
    for n, (number, tags, priority, hours) in enumerate([
            ("C-2026-001", ["urgent", "implant"], "high", 1),
            ("C-2026-002", ["ortho"], "normal", 2),
            ("C-2026-003", ["urgent", "ortho"], "high", 3)]):
        cases[number] = Case.create(
            id=uid(number), case_number=number, patient_id=f"P-{100 + n}",
            title=f"Scan review {number}", priority=priority, created_by=ana, tags=tags,
            case_metadata={"clinic": "Main St", "arch": "upper" if n % 2 else "both"},
            created_at=T0 + dt.timedelta(hours=hours))
    scanners = {"C-2026-001": "iTero", "C-2026-002": "Medit", "C-2026-003": "iTero"}
    jobs = {}
    for number, case in cases.items():
        scan = File.create(id=uid(f"{number}/scan"), case=case, filename=f"{number}.stl",
                           original_filename="upper_jaw.stl",
                           file_path=f"s3://scans/{number}.stl", file_size=48_000_000,
                           file_type="stl", mime_type="model/stl", checksum="0" * 64,
                           uploaded_by=ana, uploaded_at=case.created_at,
                           tags=["raw"], file_metadata={"scanner": scanners[number],
                                                        "resolution_um": 20})
        jobs[number] = Job.create(id=uid(f"{number}/job"), case=case, file=scan,
                                  job_type="segmentation", created_by=bot,
                                  priority=1 if case.priority == "high" else 5,
                                  created_at=case.created_at + dt.timedelta(minutes=5),
                                  parameters={"model": "seg-v3"})
    done = jobs["C-2026-001"]
    Job.update(status=JobStatus.COMPLETED, progress=100,
               completed_at=T0 + dt.timedelta(hours=1, minutes=9)).where(Job.id == done.id).execute()
    Job.update(status=JobStatus.PROCESSING, progress=40).where(
        Job.id == jobs["C-2026-003"].id).execute()
    for i, (kind, number, confidence) in enumerate([(SegmentType.TOOTH, 11, 97),
                                                    (SegmentType.TOOTH, 12, 95),
                                                    (SegmentType.IMPLANT, 36, 88)]):
        Segment.create(id=uid(f"segment/{i}"), case=done.case, file=done.file,
                       segment_type=kind, segment_number=number, confidence_score=confidence,
                       created_by_job=done, properties={"fdi": number})
    File.update(status=FileStatus.PROCESSED).where(File.id == done.file.id).execute()
    for minute, event, user in [(0, AuditEventType.LOGIN_SUCCESS, ana),
                                (2, AuditEventType.DATA_CREATE, ana),
                                (9, AuditEventType.DATA_ACCESS, ana)]:
        AuditLog.create(id=uid(f"audit/{minute}"), timestamp=T0 + dt.timedelta(minutes=minute),
                        event_type=event, user=user, username=user.username,
                        user_role=user.role, resource_type="case",
                        resource_id="C-2026-001", details={"ip_hint": "10.0.0.0/8"})
    return ana


def main():
    with example_database("dental") as db:
        with db.atomic():
            ana = seed()
        urgent = (Case.select(Case.case_number, Case.priority, Case.tags)
                  .where(Case.tags.contains(["urgent"]), Case.is_deleted == False)  # noqa: E712
                  .order_by(Case.created_at))
        show("open urgent cases (tags @> [\"urgent\"])", urgent)
        queue = (Job.select(Case.case_number, Job.status, Job.priority, Job.progress)
                 .join(Case).where(Job.status.in_([JobStatus.PENDING, JobStatus.PROCESSING]))
                 .order_by(Job.priority, Job.created_at))
        show("job queue (by priority, then age)", queue)
        itero = (File.select(File.filename, File.status, File.file_metadata["scanner"]
                             .alias("scanner"))
                 .where(File.file_metadata["scanner"] == "iTero").order_by(File.filename))
        show("files from an iTero scanner", itero)
        found = (Segment.select(Segment.segment_type, fn.COUNT(Segment.id).alias("segments"),
                                fn.MIN(Segment.confidence_score).alias("min_confidence"))
                 .group_by(Segment.segment_type).order_by(Segment.segment_type))
        show("segments found by the completed job", found)
        trail = (AuditLog.select(AuditLog.timestamp, AuditLog.event_type, AuditLog.username)
                 .where(AuditLog.resource_id == "C-2026-001").order_by(AuditLog.timestamp))
        show("audit trail of C-2026-001", trail)

        Case.update(is_deleted=True).where(Case.case_number == "C-2026-003").execute()
        still = Case.select().where(Case.tags.contains(["urgent"]),
                                    Case.is_deleted == False).count()  # noqa: E712
        print(f"\nafter soft-deleting C-2026-003: {still} open urgent case(s)")
        try:
            Job.update(progress=140).where(Job.case == uid("C-2026-002")).execute()
        except store.CheckViolation as exc:
            print(f"refused progress 140: {exc.constraint}")
        try:
            User.delete().where(User.id == ana.id).execute()
        except store.ForeignKeyViolation as exc:
            print(f"refused deleting ana (her cases reference her): {type(exc).__name__}")
        try:
            Job.create(case=uid("C-2026-002"), job_type="export", created_by=ana,
                       status="paused")
        except store.ValidationError as exc:
            print(f"refused status 'paused': {exc}")


if __name__ == "__main__":
    main()
