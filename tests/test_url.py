"""Database URLs and where they come from (no database needed)."""
from __future__ import annotations

import pytest

import store
from store import config
from store.database import PooledPostgresStore, PostgresStore, open_database
from store.url import parse_url

PW = "S3cr3t-pw"


# --- SQLite ----------------------------------------------------------------------

@pytest.mark.parametrize("raw, database", [
    ("sqlite:///store.db", "store.db"),
    ("sqlite:///data/sub/notes.db", "data/sub/notes.db"),
    ("sqlite:////var/tmp/abs.db", "/var/tmp/abs.db"),
    ("sqlite:////var/tmp/with%20space.db", "/var/tmp/with space.db"),
    ("sqlite:///:memory:", ":memory:"),
    ("sqlite://", ":memory:"),
    ("SQLite:///x.db", "x.db"),
])
def test_sqlite_urls(raw, database):
    url = parse_url(raw)
    assert url.backend == "sqlite"
    assert url.database == database
    assert url.is_memory == (database == ":memory:")
    assert (url.user, url.password, url.host, url.port) == (None, None, None, None)


def test_sqlite_timeout_option():
    url = parse_url("sqlite:///x.db?timeout=2.5")
    assert url.option("timeout") == "2.5"


def test_sqlite_masked_form_round_trips():
    for raw in ("sqlite:///rel/x.db", "sqlite:////abs/x.db", "sqlite:///:memory:"):
        assert str(parse_url(raw)) == raw
        assert parse_url(str(parse_url(raw))) == parse_url(raw)


def test_sqlite_url_with_host_is_refused():
    with pytest.raises(store.ConfigError, match="three slashes"):
        parse_url("sqlite://somehost/x.db")


def test_sqlite_unknown_option_named():
    with pytest.raises(store.ConfigError, match="'journal'"):
        parse_url("sqlite:///x.db?journal=wal")


# --- PostgreSQL ------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "PostgreSQL"])
def test_postgres_url_fields(scheme):
    url = parse_url(f"{scheme}://alice:{PW}@db.example.com:6543/appdb"
                    "?sslmode=require&application_name=my%20app&connect_timeout=7"
                    "&pool=true&max_connections=5")
    assert url.backend == "postgresql"
    assert url.database == "appdb"
    assert url.user == "alice"
    assert url.password == PW
    assert url.host == "db.example.com"
    assert url.port == 6543
    assert url.option("sslmode") == "require"
    assert url.option("application_name") == "my app"
    assert url.option("connect_timeout") == "7"
    assert url.option("pool") == "true"
    assert url.option("max_connections") == "5"
    params = url.connect_params()
    assert params == {"user": "alice", "password": PW, "host": "db.example.com",
                      "port": 6543, "sslmode": "require", "application_name": "my app",
                      "connect_timeout": "7"}     # store's own options are not libpq's


def test_postgres_minimal_url():
    url = parse_url("postgresql://localhost/app")
    assert (url.user, url.password, url.host, url.port, url.database) == \
        (None, None, "localhost", None, "app")
    assert url.connect_params() == {"host": "localhost"}


def test_postgres_percent_encoded_credentials():
    url = parse_url("postgresql://al%40ice:p%40ss%2Fw@h/db%20name")
    assert url.user == "al@ice"
    assert url.password == "p@ss/w"
    assert url.database == "db name"


def test_postgres_options_option_is_passed_to_libpq():
    url = parse_url("postgresql://h/db?options=-csearch_path%3Dt1")
    assert url.connect_params()["options"] == "-csearch_path=t1"


def test_open_database_picks_class_by_pool_option():
    assert type(open_database("postgresql://u@h/db")) is PostgresStore
    assert type(open_database("postgresql://u@h/db?pool=false")) is PostgresStore
    pooled = open_database("postgresql://u@h/db?pool=true&max_connections=2")
    assert type(pooled) is PooledPostgresStore
    assert pooled._max_connections == 2


# --- refusals ----------------------------------------------------------------------

ACCEPTED_SCHEMES = ("sqlite://", "postgresql://", "postgres://")


@pytest.mark.parametrize("raw", [
    "",
    "   ",
    "store.db",
    "mysql://root@localhost/app",
    "http://example.com/x",
    "postgresql://u@h:notaport/db",
    "postgresql://u@h:99999/db",
    "postgresql://u@[::1/db",
    "postgresql://u@h/",
    "postgresql://u@h",
])
def test_bad_urls_list_accepted_schemes(raw):
    with pytest.raises(store.ConfigError) as info:
        parse_url(raw)
    message = str(info.value)
    for scheme in ACCEPTED_SCHEMES:
        assert scheme in message


def test_non_string_url_is_a_config_error():
    with pytest.raises(store.ConfigError):
        parse_url(None)
    with pytest.raises(store.ConfigError):
        parse_url(42)


def test_unsupported_scheme_is_named():
    with pytest.raises(store.ConfigError, match="'mysql'"):
        parse_url("mysql://root@localhost/app")


def test_unknown_postgres_option_is_named():
    with pytest.raises(store.ConfigError) as info:
        parse_url(f"postgresql://u:{PW}@h/db?sslmod=require")
    assert "'sslmod'" in str(info.value)
    assert "sslmode" in str(info.value)          # lists what is accepted
    assert PW not in str(info.value)


# --- the password never shows ----------------------------------------------------

def test_password_not_in_str_or_repr_of_url():
    url = parse_url(f"postgresql://alice:{PW}@h:5432/db?sslmode=disable")
    for text in (str(url), repr(url), url.masked(), format(url)):
        assert PW not in text
        assert "alice" in text and "***" in text


def test_password_not_in_repr_of_database():
    db = open_database(f"postgresql://alice:{PW}@127.0.0.1:1/db")
    assert db.is_closed()
    assert PW not in repr(db)
    assert PW not in str(db)
    assert "alice" in repr(db)
    pooled = open_database(f"postgresql://alice:{PW}@127.0.0.1:1/db?pool=true")
    assert PW not in repr(pooled)


@pytest.mark.parametrize("raw", [
    f"mysql://root:{PW}@localhost/app",
    f"postgresql://u:{PW}@h:notaport/db",
    f"postgresql://u:{PW}@h/",
    f"postgresql://u:{PW}@h/db?bogus=1",
    f"postgresql://u:{PW}@[::1/db",
    f"sqlite://u:{PW}@host/x.db",
    f"u:{PW}@localhost/db",
    # unencoded '/', '?' or '#' in the password: urlsplit misreads the netloc
    "postgresql://u:S3cr/t-pw@h/db",
    "postgresql://u:S3cr?t-pw@h/db",
    "postgresql://u:S3cr#t-pw@h/db",
    "sqlite://u:S3cr/t-pw@host/x.db",
    "mysql://u:S3cr/t-pw@h/db",
])
def test_password_not_in_config_error(raw):
    with pytest.raises(store.ConfigError) as info:
        parse_url(raw)
    message = str(info.value)
    for piece in (PW, "S3cr", "t-pw"):
        assert piece not in message, message


# --- config.resolve_url precedence ----------------------------------------------

def write_cfg(directory, body):
    (directory / "setup.cfg").write_text(body, encoding="utf-8")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_default_url(clean_env):
    assert config.resolve_url() == ("sqlite:///store.db", "default")
    assert config.resolve_url(directory=clean_env) == ("sqlite:///store.db", "default")


def test_setup_cfg_beats_default(clean_env):
    write_cfg(clean_env, "[store]\ndatabase_url = sqlite:///from_cfg.db\n")
    assert config.resolve_url(directory=clean_env) == ("sqlite:///from_cfg.db", "setup.cfg")


def test_setup_cfg_read_from_cwd_by_default(clean_env):
    write_cfg(clean_env, "[store]\ndatabase_url = sqlite:///cwd.db\n")
    assert config.resolve_url() == ("sqlite:///cwd.db", "setup.cfg")


def test_env_beats_setup_cfg(clean_env, monkeypatch):
    write_cfg(clean_env, "[store]\ndatabase_url = sqlite:///from_cfg.db\n")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from_env.db")
    assert config.resolve_url(directory=clean_env) == ("sqlite:///from_env.db", "env")


def test_argument_beats_everything(clean_env, monkeypatch):
    write_cfg(clean_env, "[store]\ndatabase_url = sqlite:///from_cfg.db\n")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from_env.db")
    assert config.resolve_url("sqlite:///arg.db", directory=clean_env) == \
        ("sqlite:///arg.db", "flag")


def test_empty_env_is_ignored(clean_env, monkeypatch):
    write_cfg(clean_env, "[store]\ndatabase_url = sqlite:///from_cfg.db\n")
    monkeypatch.setenv("DATABASE_URL", "")
    assert config.resolve_url(directory=clean_env)[1] == "setup.cfg"


def test_setup_cfg_without_store_section(clean_env):
    write_cfg(clean_env, "[metadata]\nname = x\n")
    assert config.resolve_url(directory=clean_env) == ("sqlite:///store.db", "default")


def test_setup_cfg_apps(clean_env):
    write_cfg(clean_env, "[store]\napps = shop, blog\n  notes\n")
    settings = config.read_settings(clean_env)
    assert settings.apps == ("shop", "blog", "notes")
    assert settings.database_url is None


def test_setup_cfg_url_with_percent_escapes(clean_env):
    # percent-encoding is normal in URLs; configparser must not interpolate it
    write_cfg(clean_env, "[store]\ndatabase_url = postgresql://u:p%40ss@h/db"
                         "?options=-csearch_path%3Dx\n")
    url, source = config.resolve_url(directory=clean_env)
    assert source == "setup.cfg"
    assert url == "postgresql://u:p%40ss@h/db?options=-csearch_path%3Dx"
    assert parse_url(url).password == "p@ss"


def test_setup_cfg_unknown_key_is_named(clean_env):
    write_cfg(clean_env, "[store]\ndatabase_url = sqlite:///x.db\ndatabse_url = oops\n")
    with pytest.raises(store.ConfigError, match="databse_url"):
        config.resolve_url(directory=clean_env)


def test_setup_cfg_unparsable(clean_env):
    write_cfg(clean_env, f"[store\ndatabase_url = postgresql://u:{PW}@h/db\n")
    with pytest.raises(store.ConfigError) as info:
        config.resolve_url(directory=clean_env)
    assert PW not in str(info.value)


def test_unknown_key_ignored_when_setup_cfg_not_consulted(clean_env, monkeypatch):
    write_cfg(clean_env, "[store]\nbogus = 1\n")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///env.db")
    assert config.resolve_url(directory=clean_env) == ("sqlite:///env.db", "env")


@pytest.mark.parametrize("raw, option", [
    ("sqlite:///x.db?timeout=abc", "timeout"),
    ("sqlite:///x.db?timeout=-1", "timeout"),
    ("sqlite:///x.db?timeout=nan", "timeout"),
    ("postgresql://u@h/db?pool=true&max_connections=two", "max_connections"),
    ("postgresql://u@h/db?pool=true&stale_timeout=1.5", "stale_timeout"),
    ("postgresql://u@h/db?pool=true&timeout=soon", "timeout"),
    ("postgresql://u@h/db?pool=maybe", "pool"),
])
def test_bad_option_values_are_config_errors(raw, option):
    with pytest.raises(store.ConfigError, match=option):
        open_database(raw)


def test_pool_option_values():
    for flag in ("true", "1", "yes", "on", "TRUE"):
        assert type(open_database(f"postgresql://u@h/db?pool={flag}")) is PooledPostgresStore
    for flag in ("false", "0", "no", "off"):
        assert type(open_database(f"postgresql://u@h/db?pool={flag}")) is PostgresStore
    pooled = open_database("postgresql://u@h/db?pool=true&timeout=5&stale_timeout=300")
    assert (pooled._wait_timeout, pooled._stale_timeout) == (5, 300)


def test_short_password_does_not_garble_message():
    with pytest.raises(store.ConfigError) as info:
        parse_url("postgresql://u:p@h/")
    message = str(info.value)
    assert "postgresql://u:***@h/" in message
    assert "PostgreSQL URL" in message and "postgresql://USER" in message
    assert ":p@" not in message


@pytest.mark.parametrize("raw, part", [
    ("postgresql://postgres:pw%00x@127.0.0.1/appdb", "password"),   # libpq stops at NUL
    ("postgresql://us%00er@127.0.0.1/appdb", "user"),
    ("postgresql://u@127.0.0.1/app%00db", "database name"),
    ("postgresql://u@127.0.0.1%00/appdb", "host"),
    ("postgresql://u@127.0.0.1/appdb?application_name=a%0Ab", "option application_name"),
    ("sqlite:///store%00.db", "path"),
    ("sqlite:///store.db?timeout=1%00", "option timeout"),
])
def test_control_characters_are_refused(raw, part):
    """A NUL in the password sent `migrate` to another database (libpq ends
    the string there): refused, naming the part, never echoing the password."""
    with pytest.raises(store.ConfigError, match=f"the {part} holds a control character") as info:
        parse_url(raw)
    assert "pw" not in str(info.value)


# --- replicas and poolers (store.replicas) -------------------------------------------

def test_replica_options_parsed():
    url = parse_url(f"postgresql://alice:{PW}@primary:5432/appdb?replica=r1:5433,r2"
                    "&replica=r3.example.com:6000&max_replica_lag=2.5&read_your_writes=off")
    assert url.replica_addresses() == [("r1", 5433), ("r2", None), ("r3.example.com", 6000)]
    assert url.max_replica_lag() == 2.5
    assert url.read_your_writes() is False
    assert url.pooler is None
    replica = url.replica_url("r1", 5433)
    assert (replica.host, replica.port, replica.user, replica.password, replica.database) == \
        ("r1", 5433, "alice", PW, "appdb")
    assert replica.options == ()                     # routing options stay with the primary
    params = url.connect_params()
    assert "replica" not in params and "max_replica_lag" not in params
    assert "prepare_threshold" not in params         # psycopg's default


def test_replica_defaults():
    url = parse_url("postgresql://localhost/app?replica=r1")
    assert url.max_replica_lag() == 5.0
    assert url.read_your_writes() is True


@pytest.mark.parametrize("option, named", [
    (f"replica=bob:{PW}@r1:5432", "replica"),
    ("replica=r1:notaport", "replica"),
    ("replica=postgresql://r1/app", "replica"),
    ("max_replica_lag=-1", "max_replica_lag"),
    ("max_replica_lag=soon", "max_replica_lag"),
    ("read_your_writes=maybe", "read_your_writes"),
    ("pooler=odyssey", "pooler"),
    ("prepare_threshold=-2", "prepare_threshold"),
])
def test_bad_scale_options_are_named_never_leak(option, named):
    with pytest.raises(store.ConfigError, match=named) as info:
        parse_url(f"postgresql://alice:{PW}@primary/appdb?{option}")
    assert PW not in str(info.value)


def test_pooler_turns_preparation_off():
    url = parse_url("postgresql://app@bouncer:6432/shop?pooler=pgbouncer")
    assert url.pooler == "pgbouncer"
    assert url.connect_params()["prepare_threshold"] is None
    assert parse_url("postgresql://h/db?pooler=pgbouncer&prepare_threshold=3"
                     ).connect_params()["prepare_threshold"] == 3
    assert parse_url("postgresql://h/db?prepare_threshold=none"
                     ).connect_params()["prepare_threshold"] is None
    assert parse_url("postgresql://h/db?pooler=none").pooler is None


def test_startup_options_through_a_pooler():
    url = parse_url(f"postgresql://alice:{PW}@bouncer/shop?pooler=pgbouncer"
                    "&options=-csearch_path%3Dtenant%20-c%20statement_timeout%3D5s")
    with pytest.raises(store.ConfigError, match="options=.*pooler=pgbouncer") as info:
        url.connect_params()
    assert PW not in str(info.value)
    from store.replicas import ScaledPostgresStore
    assert "options" not in ScaledPostgresStore(url).connect_params    # set per transaction
    assert url.session_options() == [("search_path", "tenant"), ("statement_timeout", "5s")]
    assert parse_url("postgresql://h/db?options=--work-mem%3D64MB").session_options() == \
        [("work_mem", "64MB")]


def test_scaled_database_repr_masks_every_password():
    from store.replicas import ScaledPostgresStore, open_scaled
    db = open_scaled(f"postgresql://alice:{PW}@primary/appdb?replica=r1:5433",
                     replicas=[f"postgresql://bob:{PW}x@r2/appdb"])
    assert isinstance(db, ScaledPostgresStore)
    assert PW not in repr(db)
    assert "r1:5433" in repr(db) and "r2" in repr(db)
    with pytest.raises(store.ConfigError, match="pool=true"):
        open_scaled("postgresql://h/db?replica=r1&pool=true")
    with pytest.raises(store.ConfigError, match="replicas= needs a PostgreSQL"):
        store.connect("sqlite:///:memory:", replicas=["postgresql://r1/db"])
