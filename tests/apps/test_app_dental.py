"""The dental app (seed 003) on SQLite and PostgreSQL: enums (model and raw
SQL), UUID keys made in Python, foreign keys (NO ACTION), unique keys, the
seed's indexes, JSON tag containment parity and its plan on each backend,
and a reset that leaves nothing of the app behind."""
from __future__ import annotations

import re
import uuid

import pytest

import store
from store.apps import dental
from store.apps.dental import (AuditEventType, AuditLog, Case, File, FileStatus, Job,
                               JobStatus, MLModel, ModelType, Segment, SegmentType, User,
                               UserRole)
from store.introspect import read_schema
from store.model import index_applies

MODELS = dental.MODELS


@pytest.fixture
def app(db, tables):
    tables(*MODELS)
    return db


def _tag():
    return uuid.uuid4().hex[:10]


# --- valid rows -----------------------------------------------------------------------

def user_data(**over):
    tag = _tag()
    return {"username": f"u{tag}", "email": f"{tag}@clinic.test",
            "hashed_password": "x" * 60, **over}


def case_data(user, **over):
    tag = _tag()
    return {"case_number": f"C-{tag}", "patient_id": f"P-{tag}", "title": "Crown prep",
            "created_by": user, **over}


def file_data(case, user, **over):
    return {"case": case, "filename": "scan.stl", "original_filename": "Scan 1.stl",
            "file_path": "/s3/scan.stl", "file_size": 3 * 2 ** 30, "file_type": "stl",
            "mime_type": "model/stl", "checksum": "a" * 64, "uploaded_by": user, **over}


def job_data(case, user, **over):
    return {"case": case, "job_type": "segmentation", "created_by": user, **over}


def segment_data(case, file, **over):
    return {"case": case, "file": file, "segment_type": SegmentType.TOOTH, **over}


def model_data(**over):
    return {"model_type": ModelType.SEGMENTATION, "model_name": f"m{_tag()}",
            "model_version": "1.0", "model_path": "/models/m.onnx", **over}


def audit_data(**over):
    return {"event_type": AuditEventType.DATA_ACCESS, **over}


@pytest.fixture
def parents(app):
    user = User.create(**user_data())
    case = Case.create(**case_data(user))
    file = File.create(**file_data(case, user))
    job = Job.create(**job_data(case, user, file=file))
    return {"user": user, "case": case, "file": file, "job": job}


def valid_row(model, p):
    """A dict of good values for ``model`` (a fresh unique key each call)."""
    return {
        User: lambda: user_data(),
        Case: lambda: case_data(p["user"]),
        File: lambda: file_data(p["case"], p["user"]),
        Job: lambda: job_data(p["case"], p["user"]),
        Segment: lambda: segment_data(p["case"], p["file"]),
        MLModel: lambda: model_data(),
        AuditLog: lambda: audit_data(user=p["user"]),
    }[model]()


def raw_insert(db, model, values, **raw):
    """INSERT by hand, bypassing the model's validation: ``values`` (field
    name -> Python value, defaults filled in) are converted by each field's
    ``db_value``; ``raw`` (column -> value) are sent as they are."""
    data = dict(model(**values).__data__)          # defaults (and the id) filled in
    columns, params = [], []
    for name, value in data.items():
        field = model._meta.fields[name]
        if field.column_name in raw:
            continue
        columns.append(field.column_name)
        params.append(field.db_value(value))
    for column, value in raw.items():
        columns.append(column)
        params.append(value)
    sql = 'INSERT INTO "%s" (%s) VALUES (%s)' % (
        model._meta.table_name, ", ".join('"%s"' % c for c in columns),
        ", ".join([db.param] * len(columns)))
    db.execute_sql(sql, params)
    return data["id"]


# --- enums -----------------------------------------------------------------------------

ENUM_COLUMNS = [
    (User, "role", UserRole),
    (File, "status", FileStatus),
    (Job, "status", JobStatus),
    (Segment, "segment_type", SegmentType),
    (MLModel, "model_type", ModelType),
    (AuditLog, "event_type", AuditEventType),
    (AuditLog, "user_role", UserRole),
]


def test_every_enum_column_is_listed():
    found = {(m, f.name) for m in MODELS for f in m._meta.sorted_fields
             if isinstance(f, store.EnumField)}
    assert found == {(m, name) for m, name, _ in ENUM_COLUMNS}


@pytest.mark.parametrize("model, name, enum_class", ENUM_COLUMNS,
                         ids=[f"{m._meta.table_name}.{n}" for m, n, _ in ENUM_COLUMNS])
def test_enum_good_and_bad(app, parents, model, name, enum_class):
    table = model._meta.table_name
    # every member is accepted, as the member or as its text, and reads back a member
    for member in enum_class:
        for given in (member, member.value):
            row = model.create(**{**valid_row(model, parents), name: given})
            assert getattr(model.get_by_id(row.id), name) is member
    stored = model.select().count()

    other = next(iter(ModelType if enum_class is not ModelType else UserRole))
    first = next(iter(enum_class))
    for bad in ("bogus", first.name, first.value.upper(), other, 3):
        with pytest.raises(store.ValidationError) as info:
            model.create(**{**valid_row(model, parents), name: bad})
        assert info.value.field == f"{table}.{name}"
    assert model.select().count() == stored           # nothing reached the database

    # raw SQL: the same statement passes with a good value, the CHECK refuses a bad one
    column = model._meta.fields[name].column_name
    raw_insert(app, model, valid_row(model, parents), **{column: first.value})
    with pytest.raises(store.CheckViolation) as info:
        raw_insert(app, model, valid_row(model, parents), **{column: "bogus"})
    assert info.value.constraint == f"ck_{table}_{column}_enum"
    assert info.value.table == table
    assert model.select().count() == stored + 1


def test_enum_defaults(app, parents):
    assert User.get_by_id(parents["user"].id).role is UserRole.OPERATOR
    assert File.get_by_id(parents["file"].id).status is FileStatus.UPLOADED
    assert Job.get_by_id(parents["job"].id).status is JobStatus.PENDING
    log = AuditLog.create(**audit_data())
    assert AuditLog.get_by_id(log.id).user_role is None       # nullable enum


def test_no_enum_types_in_postgres(app):
    if app.features.name != "postgresql":
        assert not app.execute_sql("SELECT 1 FROM sqlite_master WHERE type NOT IN "
                                   "('table', 'index')").fetchall()
        return
    kinds = dict(app.execute_sql(
        "SELECT t.typtype, count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = "
        "t.typnamespace WHERE n.nspname = current_schema() GROUP BY t.typtype").fetchall())
    assert kinds.get("c") == len(MODELS)          # the tables' row types, nothing else
    assert "e" not in kinds                       # no CREATE TYPE ... AS ENUM


# --- UUID keys ---------------------------------------------------------------------------

def test_uuid_key_made_in_python_and_save_inserts(app):
    user = User(**user_data())
    made = user.id
    assert isinstance(made, uuid.UUID) and made.version == 4   # before any insert
    assert User.select().count() == 0
    assert user.save() == 1                                      # an INSERT, not an UPDATE
    assert User.select().count() == 1
    assert User.get_by_id(made).username == user.username
    user.is_verified = True
    assert user.save() == 1                                      # now an UPDATE
    assert User.select().count() == 1
    assert User.get_by_id(made).is_verified is True
    other = User(**user_data())
    assert other.id != made
    case = Case(**case_data(user))
    case.save()
    assert Case.get_by_id(case.id).created_by_id == made


def test_uuid_column_types(app):
    schema = read_schema(app, tables=[m._meta.table_name for m in MODELS])
    pg = app.features.name == "postgresql"
    for model in MODELS:
        table = schema.table(model._meta.table_name)
        assert table.primary_key == ("id",)
        assert table.column("id").type == ("uuid" if pg else "text")
        if not pg:
            assert table.check(f"ck_{table.name}_id_uuid") is not None


def test_bad_uuid_refused(app, parents):
    for bad in ("not-a-uuid", 12, "1234"):
        with pytest.raises(store.ValidationError) as info:
            User.create(**user_data(id=bad))
        assert info.value.field == "users.id"
        with pytest.raises(store.ValidationError) as info:
            Job.create(**job_data(parents["case"], parents["user"], file=bad))
        # validated as the referenced UUID key, reported against this column
        assert "not a UUID" in info.value.reason
        assert info.value.field == "jobs.file_id"
    assert User.select().count() == 1 and Job.select().count() == 1


# --- foreign keys -------------------------------------------------------------------------

EXPECTED_FKS = {
    ("cases", "fk_cases_created_by_users", "created_by", "users"),
    ("files", "fk_files_case_id_cases", "case_id", "cases"),
    ("files", "fk_files_uploaded_by_users", "uploaded_by", "users"),
    ("jobs", "fk_jobs_case_id_cases", "case_id", "cases"),
    ("jobs", "fk_jobs_file_id_files", "file_id", "files"),
    ("jobs", "fk_jobs_created_by_users", "created_by", "users"),
    ("segments", "fk_segments_case_id_cases", "case_id", "cases"),
    ("segments", "fk_segments_file_id_files", "file_id", "files"),
    ("segments", "fk_segments_created_by_job_jobs", "created_by_job", "jobs"),
    ("models", "fk_models_case_id_cases", "case_id", "cases"),
    ("audit_logs", "fk_audit_logs_user_id_users", "user_id", "users"),
}


def test_foreign_keys_in_live_schema(app):
    schema = read_schema(app, tables=[m._meta.table_name for m in MODELS])
    found = set()
    for name in schema.names():
        for fk in schema.table(name).foreign_keys:
            found.add((name, fk.name, fk.columns[0], fk.ref_table))
            assert fk.ref_columns == ("id",)
            assert fk.on_delete == "NO ACTION"       # the seed declares none
    assert found == EXPECTED_FKS


def test_models_in_dependency_order():
    for i, model in enumerate(MODELS):
        for field in model._meta.refs:
            assert MODELS.index(field.rel_model) < i, (model, field.name)


def test_foreign_key_refuses_missing_parent(app, parents):
    with pytest.raises(store.ForeignKeyViolation) as info:
        File.create(**file_data(uuid.uuid4(), parents["user"]))
    assert (info.value.table, info.value.constraint) == ("files", "fk_files_case_id_cases")
    with pytest.raises(store.ForeignKeyViolation) as info:
        Segment.create(**segment_data(parents["case"], parents["file"],
                                      created_by_job=uuid.uuid4()))
    assert info.value.constraint == "fk_segments_created_by_job_jobs"
    assert File.select().count() == 1 and Segment.select().count() == 0


def test_nullable_foreign_keys_accept_null(app, parents):
    case, user = parents["case"], parents["user"]
    job = Job.create(**job_data(case, user, file=None))
    seg = Segment.create(**segment_data(case, parents["file"], created_by_job=None))
    model = MLModel.create(**model_data(case=None))
    log = AuditLog.create(**audit_data(user=None))
    assert Job.get_by_id(job.id).file_id is None
    assert Segment.get_by_id(seg.id).created_by_job_id is None
    assert MLModel.get_by_id(model.id).case_id is None
    assert AuditLog.get_by_id(log.id).user_id is None
    with pytest.raises(store.NotNullViolation) as info:
        Segment.create(**segment_data(case, None))
    assert (info.value.table, info.value.column) == ("segments", "file_id")


def test_delete_of_referenced_parent_is_refused(app):
    user = User.create(**user_data())
    case = Case.create(**case_data(user))
    File.create(**file_data(case, user))
    with pytest.raises(store.ForeignKeyViolation) as info:
        case.delete_instance()
    assert (info.value.table, info.value.constraint) == ("files", "fk_files_case_id_cases")
    assert Case.select().count() == 1 and File.select().count() == 1
    # the seed's way: soft delete
    Case.update(is_deleted=True).where(Case.id == case.id).execute()
    assert Case.get_by_id(case.id).is_deleted is True
    # a parent nothing references can go
    lonely = Case.create(**case_data(user))
    assert lonely.delete_instance() == 1


# --- unique keys and CHECKs -----------------------------------------------------------------

def test_unique_keys(app, parents):
    taken = parents["user"].username
    with pytest.raises(store.UniqueViolation) as info:
        User.create(**user_data(username=taken))
    assert info.value.constraint == "uq_users_username"
    with pytest.raises(store.UniqueViolation) as info:
        Case.create(**case_data(parents["user"], case_number=parents["case"].case_number))
    assert info.value.constraint == "uq_cases_case_number"
    MLModel.create(**model_data(model_name="seg", model_version="1.0"))
    MLModel.create(**model_data(model_name="seg", model_version="1.1"))    # other version
    with pytest.raises(store.UniqueViolation) as info:
        MLModel.create(**model_data(model_name="seg", model_version="1.0"))
    assert (info.value.table, info.value.constraint) == \
        ("models", "uq_models_model_name_model_version")
    assert MLModel.select().count() == 2


def test_job_progress_range(app, parents):
    for good in (0, 100):
        job = Job.create(**job_data(parents["case"], parents["user"], progress=good))
        assert Job.get_by_id(job.id).progress == good
    for bad in (-1, 101):
        with pytest.raises(store.CheckViolation) as info:
            Job.create(**job_data(parents["case"], parents["user"], progress=bad))
        assert info.value.constraint == "ck_jobs_progress_range"
    assert Job.select().count() == 3


def test_big_file_size(app, parents):
    assert File.get_by_id(parents["file"].id).file_size == 3 * 2 ** 30   # > 32 bits


# --- indexes ---------------------------------------------------------------------------------

def test_seed_indexes(app):
    schema = read_schema(app, tables=[m._meta.table_name for m in MODELS])
    for table in ("files", "jobs", "segments", "models"):
        assert schema.table(table).index(f"ix_{table}_case_id").columns == ("case_id",)
    for table in ("cases", "jobs"):
        index = schema.table(table).index(f"ix_{table}_status_created_at")
        assert index.columns == ("status", "created_at") and not index.unique
    assert schema.table("files").index("ix_files_status_uploaded_at").columns == \
        ("status", "uploaded_at")
    pg = app.features.name == "postgresql"
    for model, name in dental.GIN_INDEXES:
        table = schema.table(model._meta.table_name)
        index = table.index(f"ix_{table.name}_{name}")
        if pg:
            assert (index.method, index.columns) == ("gin", (name,))
        else:
            assert index is None        # no GIN on SQLite (store.model.index_applies)
    # every index the models declare for this backend exists, and no other
    backend = app.features.name
    for model in MODELS:
        declared = {i._name for i in model._meta.fields_to_index()
                    if index_applies(i, backend)}
        assert {i.name for i in schema.table(model._meta.table_name).indexes} == declared


# --- JSON tags ---------------------------------------------------------------------------------

CASE_TAGS = [["urgent", "ortho"], ["ortho"], [], None, ["urgent"], ["Urgent", "implant"],
             ["urgent", "implant", "ortho"]]
QUERIES = [["urgent"], ["ortho", "urgent"], ["implant"], ["Urgent"], [], ["missing"]]


def _expected(rows, query):
    return sorted(key for key, tags in rows if tags is not None and set(query) <= set(tags))


def test_tag_containment_same_rows_on_both(app, parents):
    user = parents["user"]
    rows = []
    for i, tags in enumerate(CASE_TAGS):
        case = Case.create(**case_data(user, case_number=f"K{i}", tags=tags))
        rows.append((case.case_number, tags))
    for query in QUERIES:
        got = sorted(c.case_number for c in Case.select().where(Case.tags.contains(query)))
        assert got == _expected(rows, query), query
    # a tag inside another document shape does not match a list query
    Case.create(**case_data(user, case_number="D", tags={"urgent": True}))
    assert "D" not in {c.case_number for c in Case.select().where(Case.tags.contains(["urgent"]))}


def test_file_tags_narrowed_by_case(app, parents):
    user, first = parents["user"], parents["case"]
    second = Case.create(**case_data(user))
    rows = []
    for case in (first, second):
        for i, tags in enumerate((["upper", "raw"], ["lower"], None, ["upper"])):
            f = File.create(**file_data(case, user, filename=f"{i}.stl", tags=tags))
            rows.append((case.id, f.id, tags))
    query = (File.select().where(File.case == second, File.tags.contains(["upper"]))
             .order_by(File.id))
    expected = sorted(fid for cid, fid, tags in rows
                      if cid == second.id and tags and "upper" in tags)
    assert [f.id for f in query] == expected and len(expected) == 2


def _plan(db, query):
    sql, params = query.sql()
    if db.features.name == "postgresql":
        with db.atomic():
            db.execute_sql("SET LOCAL enable_seqscan = off")
            rows = db.execute_sql("EXPLAIN " + sql, params).fetchall()
        return "\n".join(r[0] for r in rows)
    rows = db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return "\n".join(r[-1] for r in rows)


def test_tag_query_plan(app, parents):
    Case.create(**case_data(parents["user"], tags=["urgent"]))
    gin = next(i for i in Case._meta.fields_to_index() if i._name == "ix_cases_tags")
    plan = _plan(app, Case.select().where(Case.tags.contains(["urgent"])))
    if index_applies(gin, app.features.name):
        assert "Index Scan on ix_cases_tags" in plan, plan   # answered from the GIN index
    else:
        # SQLite: no inverted index, the containment function runs on every row
        assert re.fullmatch(r"SCAN \w+", plan), plan      # cases (aliased), whole
        narrowed = _plan(app, File.select().where(File.case == parents["case"],
                                                  File.tags.contains(["upper"])))
        assert "USING INDEX ix_files_case_id" in narrowed, narrowed


# --- reset leaves nothing behind -------------------------------------------------------------

def _leftovers(db):
    if db.features.name == "postgresql":
        def names(sql):
            return sorted(r[0] for r in db.execute_sql(sql).fetchall())
        ns = "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
        return {
            "relations": names(f"SELECT relname FROM pg_class WHERE relnamespace = {ns}"),
            "types": names(f"SELECT typname FROM pg_type WHERE typnamespace = {ns}"),
            "functions": names(f"SELECT proname FROM pg_proc WHERE pronamespace = {ns}"),
        }
    return {"sqlite_master": sorted(r[0] for r in db.execute_sql(
        "SELECT name FROM sqlite_master").fetchall())}


def test_drop_tables_leaves_nothing_behind(app, parents):
    Segment.create(**segment_data(parents["case"], parents["file"],
                                  created_by_job=parents["job"]))
    MLModel.create(**model_data(case=parents["case"]))
    AuditLog.create(**audit_data(user=parents["user"]))
    before = _leftovers(app)
    everything = [n for names in before.values() for n in names]
    for model in MODELS:
        assert model._meta.table_name in everything
    assert "ix_files_case_id" in everything and "ix_jobs_status_created_at" in everything

    app.drop_tables(MODELS)
    after = _leftovers(app)
    assert all(names == [] for names in after.values()), after
    # and the app can be created again from nothing
    app.create_tables(MODELS)
    assert User.select().count() == 0
