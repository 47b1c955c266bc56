"""One SQLite file for every app, namespaced ones included (store.namespaces):
``migrate`` makes ``store.db`` alone, a transaction over two apps is one
transaction (a kill -9 in the middle leaves nothing of it), the commands work
on the namespaced seed apps and tenant namespaces and leave nothing behind,
raw SQL names a namespace's table portably, and an old-layout namespace file
(``store.dental.db``) is merged by ``migrate``, refused by everything else.
On both backends where the behaviour exists on both."""
from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

import store
from store.cli import main
from store.errors import ConfigError
from store.migrate import App, StoreRouter, autogen, load_apps
from store.migrate import migrate as migrate_apps
from store.namespaces import base_tables, bind_app, open_namespace, qualified, table_name

ROOT = Path(__file__).resolve().parents[1]
APPS = "forecast pricing backlog dental inventory"


def sqlite_names(path) -> set:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()


def database_files(folder: Path, main: str) -> list:
    """The SQLite files in ``folder``: ``main`` and any other ``*.db``; the
    main file's own companions (``-wal``, ``-shm``, a lock file) aside."""
    return sorted(p.name for p in folder.iterdir()
                  if p.name == main or (p.name.endswith(".db") and p.name != main)
                  or (p.name.startswith(Path(main).stem + ".") and not p.name.startswith(main)))


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "setup.cfg").write_text(f"[store]\napps = {APPS}\n", encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return root


def cli(*args, url=None, code=0):
    result = CliRunner().invoke(main, (["--database", url] if url else []) + list(args))
    assert result.exit_code == code, result.output
    return result.output


def drop_schemas(url, names):
    if url.startswith("postgresql"):
        db = store.connect(url)
        try:
            for name in names:
                db.execute_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        finally:
            db.close()


def test_default_migrate_makes_one_sqlite_file(project):
    cli("migrate", "-q")
    assert database_files(project, "store.db") == ["store.db"]
    names = sqlite_names(project / "store.db")
    assert {"dental__models", "dental__dental_migrate_history", "models",
            "inventory__users", "inventory__inventory_migrate_history",
            "dental__users", "dental__uq_users_email", "inventory__uq_users_email"} <= names
    assert cli("status").count("applied") == 7
    assert cli("check").count("live schema matches the models") == 5


def test_commands_on_namespaced_apps_and_a_tenant(project, backend_url):
    tenant = f"user_{uuid.uuid4().hex[:6]}"
    drop_schemas(backend_url, ["dental", "inventory"])
    try:
        cli("migrate", "-q", url=backend_url)
        out = cli("rollback", "dental", url=backend_url)
        assert "rolled back 001_initial" in out
        assert "dental" in cli("status", url=backend_url, code=1)
        cli("migrate", "dental", url=backend_url)
        assert "001_initial" in cli("history", "dental", url=backend_url)
        out = cli("migrate", "pricing", "--namespace", tenant, url=backend_url)
        assert f"pricing [{tenant}]: applied 002_decimal_storage" in out

        db = store.connect(backend_url)
        try:
            (pricing,) = load_apps(["pricing"], root=ROOT / "migrations")
            tenant_app = dataclasses.replace(pricing, namespace=tenant)
            from store.apps.pricing import BrandGroup
            bind_app(db, tenant_app)
            BrandGroup.create(brand="t", group_name="g", base_price="10.00")
            bind_app(db, pricing)
            assert BrandGroup.select().count() == 0            # the shared table
            bind_app(db, tenant_app)
            assert [b.brand for b in BrandGroup.select()] == ["t"]
            assert "brand_groups" in base_tables(tenant_app)
            assert (BrandGroup._meta.schema, BrandGroup._meta.table_name) == (
                (None, f"{tenant}__brand_groups") if db.features.name == "sqlite"
                else (tenant, "brand_groups"))
        finally:
            bind_app(db, pricing)
            db.close()

        for app, extra in (("dental", []), ("inventory", []), ("pricing", ["--namespace", tenant])):
            cli("reset", app, "--yes", *extra, url=backend_url)
        db = store.connect(backend_url)
        try:
            if db.features.name == "sqlite":
                left = [n for n in sqlite_names(db.url.database)
                        if n.startswith(("dental__", "inventory__", f"{tenant}__"))]
                assert left == []
                folder = Path(db.url.database).parent
                assert database_files(folder, "test.db") == ["test.db"]
            else:
                left = db.execute_sql("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
                                      (["dental", "inventory", tenant],)).fetchall()
                assert left == []
        finally:
            db.close()
    finally:
        drop_schemas(backend_url, ["dental", "inventory", tenant])


CHILD = textwrap.dedent("""
    import dataclasses, sys, uuid
    from pathlib import Path
    import store
    from store.migrate import load_apps
    from store.namespaces import bind_app
    url, ns, root = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    pricing, dental = load_apps(["pricing", "dental"], root=root)
    dental = dataclasses.replace(dental, namespace=ns)
    db = store.connect(url)
    bind_app(db, pricing)
    bind_app(db, dental)
    from store.apps.pricing import BrandGroup
    from store.apps.dental.models import User
    with db.atomic():
        BrandGroup.create(brand="crash", group_name="g", base_price="10.00")
        print("first", flush=True)
        sys.stdin.readline()
        User.create(id=uuid.uuid4(), username="crash", email="c@x", hashed_password="x")
        print("both", flush=True)
        sys.stdin.readline()
    print("committed", flush=True)
""")


@pytest.mark.parametrize("kill_after", ["first", "both", None])
def test_a_transaction_over_two_apps_is_atomic_on_a_crash(backend_url, tmp_path, kill_after):
    ns = f"dental_{uuid.uuid4().hex[:6]}"
    pricing, dental = load_apps(["pricing", "dental"], root=ROOT / "migrations")
    dental = dataclasses.replace(dental, namespace=ns)
    db = store.connect(backend_url)
    try:
        migrate_apps(db, [pricing, dental])
        if db.features.name == "sqlite":
            # both apps' tables in the one file: one SQLite transaction covers both
            assert {"brand_groups", f"{ns}__users"} <= sqlite_names(db.url.database)
            assert [r[1] for r in db.execute_sql("PRAGMA database_list").fetchall()
                    if r[1] != "temp"] == ["main"]
        script = tmp_path / "child.py"
        script.write_text(CHILD, encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen([sys.executable, str(script), backend_url, ns,
                                  str(ROOT / "migrations")], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=env, start_new_session=True)
        try:
            assert child.stdout.readline().strip() == "first", child.stderr.read()
            if kill_after != "first":
                child.stdin.write("\n")
                child.stdin.flush()
                assert child.stdout.readline().strip() == "both", child.stderr.read()
            if kill_after is None:
                child.stdin.write("\n")
                child.stdin.flush()
                assert child.stdout.readline().strip() == "committed"
                assert child.wait(30) == 0
            else:
                os.kill(child.pid, signal.SIGKILL)
                assert child.wait(30) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        db.close()
        db = store.connect(backend_url)
        brand = db.execute_sql(f"SELECT count(*) FROM {qualified(db, None, 'brand_groups')} "
                               f"WHERE brand = 'crash'").fetchone()[0]
        user = db.execute_sql(f"SELECT count(*) FROM {qualified(db, ns, 'users')} "
                              f"WHERE username = 'crash'").fetchone()[0]
        assert (brand, user) == ((1, 1) if kill_after is None else (0, 0))
    finally:
        drop_schemas(backend_url, [ns])
        if not db.is_closed():
            db.close()


def test_raw_sql_in_a_namespaced_migration_uses_table_name(db, backend_url, tmp_path, request):
    class Item(store.Model):
        label = store.CharField(max_length=20)

        class Meta:
            table_name = "items"

    ns = f"shop_{uuid.uuid4().hex[:6]}"
    app = App("shop", [Item], tmp_path / "migrations" / "shop", ns)
    backends = ({"sqlite": None} if db.features.name == "sqlite"
                else {"postgresql": request.getfixturevalue("pg_database")})
    autogen.create(app, "initial", backends=backends)
    (app.migrations_dir / "002_fill.py").write_text(textwrap.dedent('''
        def migrate(migrator, database, fake=False, **kwargs):
            migrator.sql(f'INSERT INTO "{migrator.table_name("items")}" (label) VALUES (\\'raw\\')')

        def rollback(migrator, database, fake=False, **kwargs):
            migrator.sql(f'DELETE FROM "{migrator.table_name("items")}"')
        '''), encoding="utf-8")
    try:
        migrate_apps(db, [app])
        bind_app(db, app)
        assert [i.label for i in Item.select()] == ["raw"]
        with StoreRouter(db, app) as router:
            assert router.migrator_class(router.database).table_name("items") == \
                (f"{ns}__items" if db.features.name == "sqlite" else "items")
            router.rollback(1)
        assert Item.select().count() == 0
        if db.features.name == "sqlite":
            # the bare name would be another namespace's table on SQLite: refused
            (app.migrations_dir / "003_bare.py").write_text(
                "def migrate(migrator, database, fake=False, **kwargs):\n"
                "    migrator.sql('UPDATE items SET label = 1')\n", encoding="utf-8")
            with pytest.raises(store.MigrationError,
                               match=r"raw SQL names table\(s\) items of namespace .*"
                                     r"migrator.table_name\('items'\)"):
                migrate_apps(db, [app])
    finally:
        drop_schemas(backend_url, [ns])


# --- the old layout: one file per namespace ------------------------------------------

def _old_layout(folder: Path):
    """A project whose dental app is in ``test.dental.db`` beside ``test.db``,
    as store laid it out before (migrations run on the namespace's own file as
    if it were the whole database), holding one user."""
    (dental,) = load_apps(["dental"], root=ROOT / "migrations")
    (pricing,) = load_apps(["pricing"], root=ROOT / "migrations")
    main_db = store.connect(f"sqlite:///{folder / 'test.db'}")
    migrate_apps(main_db, [pricing])
    main_db.close()
    old = store.connect(f"sqlite:///{folder / 'test.dental.db'}")
    plain = dataclasses.replace(dental, namespace=None)
    migrate_apps(old, [plain])
    from store.apps.dental.models import User
    bind_app(old, plain)
    User.create(id=uuid.uuid4(), username="kept", email="k@x", hashed_password="x")
    old.close()
    return dental


def test_an_old_layout_file_is_refused_then_merged_by_migrate(tmp_path, monkeypatch):
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "setup.cfg").write_text("[store]\napps = pricing dental\n", encoding="utf-8")
    monkeypatch.chdir(folder)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    dental = _old_layout(folder)
    url = f"sqlite:///{folder / 'test.db'}"
    before = sorted(p.name for p in folder.iterdir())

    # read-only commands and connect refuse, naming the file and the command
    for args in (["status"], ["history", "dental"], ["check"]):
        out = cli(*args, url=url, code=2)
        assert "test.dental.db" in out and "python cli.py migrate" in out, args
    with pytest.raises(ConfigError, match=r"test\.dental\.db .*python cli.py migrate"):
        store.connect(url, apps=["dental"])
    assert sorted(p.name for p in folder.iterdir()) == before
    assert not any(n.startswith("dental__") for n in sqlite_names(folder / "test.db"))

    out = cli("migrate", url=url)
    assert "namespace dental: merged" in out and "test.dental.db.merged-into-test.db.bak" in out
    assert not (folder / "test.dental.db").exists()
    assert (folder / "test.dental.db.merged-into-test.db.bak").is_file()   # never deleted
    assert "dental [dental]: up to date" in out
    names = sqlite_names(folder / "test.db")
    assert {"dental__users", "dental__dental_migrate_history", "dental__uq_users_email"} <= names
    assert "dental       applied  001_initial" in cli("status", url=url)
    assert "dental: live schema matches the models" in cli("check", url=url)

    db = store.connect(url, apps=["dental"])
    try:
        from store.apps.dental.models import User
        assert [u.username for u in User.select()] == ["kept"]
        with pytest.raises(store.UniqueViolation) as info:
            User.create(id=uuid.uuid4(), username="kept", email="k2@x", hashed_password="x")
        assert (info.value.table, info.value.constraint) == ("users", "uq_users_username")
    finally:
        db.close()
    cli("reset", "dental", "--yes", url=url)
    assert not any(n.startswith("dental__") for n in sqlite_names(folder / "test.db"))
    assert dental.namespace == "dental"


def test_a_merge_that_would_clash_changes_nothing(tmp_path, monkeypatch):
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "setup.cfg").write_text("[store]\napps = pricing dental\n", encoding="utf-8")
    monkeypatch.chdir(folder)
    _old_layout(folder)
    url = f"sqlite:///{folder / 'test.db'}"
    (folder / "test.dental.db").rename(folder / "aside.db")
    cli("migrate", "dental", url=url)                       # the new layout, empty
    (folder / "aside.db").rename(folder / "test.dental.db")
    before = sqlite_names(folder / "test.db")
    out = cli("migrate", url=url, code=2)
    assert "test.dental.db" in out and "dental__" in out
    assert sqlite_names(folder / "test.db") == before
    assert (folder / "test.dental.db").is_file()
    assert not list(folder.glob("*.bak"))


# --- table rebuilds inside a SQLite namespace ------------------------------------------

def _zoo_models(version):
    class Owner(store.Model):
        name = store.CharField(max_length=20, unique=True)

        class Meta:
            table_name = "owners"

    if version == 1:
        class Pet(store.Model):
            owner = store.ForeignKeyField(Owner, on_delete="CASCADE")
            legs = store.IntegerField(index=True)
            nick = store.CharField(max_length=20, index=True)

            class Meta:
                table_name = "pets"
    else:
        class Pet(store.Model):
            owner = store.ForeignKeyField(Owner, on_delete="CASCADE")
            nick = store.CharField(max_length=30, index=True)
            tail = store.BooleanField(default=True)

            class Meta:
                table_name = "pets"
    return [Owner, Pet]


def test_rebuilds_in_a_namespace_keep_rows_and_prefixed_names(db, backend_url, tmp_path, request):
    """Dropping, adding and altering columns (table rebuilds on SQLite) of a
    namespaced app: rows kept, the schema is the models', index names stay
    prefixed, the rollback restores the previous schema."""
    ns = f"zoo_{uuid.uuid4().hex[:6]}"
    folder = tmp_path / "migrations" / "zoo"
    backends = ({"sqlite": None} if db.features.name == "sqlite"
                else {"postgresql": request.getfixturevalue("pg_database")})
    try:
        v1 = App("zoo", _zoo_models(1), folder, ns)
        autogen.create(v1, "initial", backends=backends)
        migrate_apps(db, [v1])
        bind_app(db, v1)
        Owner, Pet = v1.models
        Pet.create(owner=Owner.create(name="ann"), legs=4, nick="rex")
        v2 = App("zoo", _zoo_models(2), folder, ns)
        autogen.create(v2, "change", backends=backends, ask=lambda *a: False)
        migrate_apps(db, [v2])
        assert autogen.live_drift(db, v2) == ([], [])
        bind_app(db, v2)
        _owner2, Pet2 = v2.models
        assert [(p.owner.name, p.nick, p.tail) for p in Pet2.select()] == [("ann", "rex", True)]
        if db.features.name == "sqlite":
            names = {r[0] for r in db.execute_sql("SELECT name FROM sqlite_master").fetchall()}
            mine = {n for n in names if n.startswith(f"{ns}__")}
            assert {f"{ns}__pets", f"{ns}__owners", f"{ns}__ix_pets_nick",
                    f"{ns}__uq_owners_name"} <= mine
            assert not names & {"pets", "owners", "ix_pets_nick", "ix_pets_legs"}
            assert f"{ns}__ix_pets_legs" not in names
        with StoreRouter(db, v2) as router:
            router.rollback(1)
        from store.introspect import read_schema
        pets = read_schema(db, schema=ns).table("pets")
        assert [c.name for c in pets.columns] == ["id", "owner_id", "legs", "nick"] or \
            sorted(c.name for c in pets.columns) == ["id", "legs", "nick", "owner_id"]
        assert {i.name for i in pets.indexes} >= {"ix_pets_legs", "ix_pets_nick"}
        bind_app(db, v1)
        assert [p.nick for p in v1.models[1].select()] == ["rex"]
    finally:
        drop_schemas(backend_url, [ns])


def test_names_that_would_be_ambiguous_in_one_file_are_refused(db):
    class Plain(store.Model):
        class Meta:
            table_name = "a__b"

    for bad in ("a__b", "tenant_"):
        with pytest.raises(ConfigError, match=f"namespace '{bad}' must not contain '__' "
                                              f"nor end with '_'"):
            bind_app(db, App("x", [Plain], Path("m/x"), bad))
    with pytest.raises(ConfigError, match=r"table 'a__b' \(Plain\): a table outside a "
                                          r"namespace cannot have '__' in its name"):
        bind_app(db, App("x", [Plain], Path("m/x")))


def test_merging_an_old_tenant_file_keeps_its_append_only_guard(tmp_path):
    """A tenant namespace of backlog (append-only event_log: triggers) in the
    old layout: merged by a library ``migrate``; the guard still refuses, the
    counters continue, the live schema is the models'."""
    (backlog,) = load_apps(["backlog"], root=ROOT / "migrations")
    url = f"sqlite:///{tmp_path / 'test.db'}"
    old = store.connect(f"sqlite:///{tmp_path / 'test.t1.db'}")
    migrate_apps(old, [backlog])
    bind_app(old, backlog)
    from store.apps.backlog import EventLog
    first = EventLog.create(user_id="u", action="a", entity_type="e", entity_id=1)
    old.close()
    tenant = dataclasses.replace(backlog, namespace="t1")
    db = store.connect(url)
    try:
        with pytest.raises(ConfigError, match=r"test\.t1\.db"):
            bind_app(db, tenant)
        migrate_apps(db, [tenant])
        assert not (tmp_path / "test.t1.db").exists()
        assert (tmp_path / "test.t1.db.merged-into-test.db.bak").is_file()
        assert autogen.live_drift(db, tenant) == ([], [])
        bind_app(db, tenant)
        assert [e.id for e in EventLog.select()] == [first.id]
        with pytest.raises(store.AppendOnlyViolation):
            EventLog.update(action="b").execute()
        second = EventLog.create(user_id="u", action="c", entity_type="e", entity_id=2)
        assert second.id > first.id
        names = sqlite_names(tmp_path / "test.db")
        assert {n for n in names if "append_only" in n} == {
            "tr_t1__event_log_append_only_update", "tr_t1__event_log_append_only_delete"}
    finally:
        db.close()


def test_peewee_migrate_index_forms_in_a_namespace(db, backend_url, tmp_path, request):
    """``add_index(model, column)`` / ``drop_index(model, column)`` (peewee-
    migrate's forms) in a namespaced app: the column is recognised on the
    namespace's table (prefixed on SQLite), so drop_index drops the index
    add_index made."""
    class Item(store.Model):
        label = store.CharField(max_length=20)

        class Meta:
            table_name = "items"

    ns = f"shop_{uuid.uuid4().hex[:6]}"
    app = App("shop", [Item], tmp_path / "migrations" / "shop", ns)
    backends = ({"sqlite": None} if db.features.name == "sqlite"
                else {"postgresql": request.getfixturevalue("pg_database")})
    autogen.create(app, "initial", backends=backends)
    (app.migrations_dir / "002_index.py").write_text(textwrap.dedent('''
        def migrate(migrator, database, fake=False, **kwargs):
            migrator.add_index("items", "label")

        def rollback(migrator, database, fake=False, **kwargs):
            migrator.drop_index("items", "label")
        '''), encoding="utf-8")

    def index_names():
        scoped = open_namespace(db, ns)
        try:
            return {ix.name for ix in scoped.get_indexes(table_name(scoped, "items"))}
        finally:
            if scoped is not db:
                scoped.close()
    try:
        migrate_apps(db, [app])
        assert any(name.endswith("items_label") for name in index_names())
        with StoreRouter(db, app) as router:
            router.rollback(1)
        assert not any(name.endswith("items_label") for name in index_names())
    finally:
        drop_schemas(backend_url, [ns])
