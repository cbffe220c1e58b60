"""DATABASE_URL and REDIS_URL made from their parts: encoding, agreement with a given URL, missing companions."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy.engine import make_url

from modules.infrastructure.domain.config.configuration import Configuration
from tests.unit.test_configuration import URL_SECRET, config_error, load

PASSWORD = "p@ss/w:rd#?% é"


def test_db_parts_make_a_postgresql_url_with_encoded_user_and_password() -> None:
    config = load({"DB_HOST": "db.internal", "DB_PORT": "6543", "DB_NAME": "app db", "DB_USER": "ap@p", "DB_PASSWORD": PASSWORD})
    url = make_url(config.database.url)
    assert url.drivername == "postgresql+psycopg2"
    assert (url.host, url.port, url.database, url.username, url.password) == ("db.internal", 6543, "app db", "ap@p", PASSWORD)
    assert not any("DATABASE_URL not set" in w for w in config.warnings)


def test_db_host_alone_makes_a_url_on_the_default_port() -> None:
    assert load({"DB_HOST": "db"}).database.url == "postgresql+psycopg2://db:5432/"


def test_an_ipv6_host_is_bracketed() -> None:
    assert make_url(load({"DB_HOST": "::1", "DB_NAME": "app"}).database.url).host == "::1"


def test_redis_parts_make_a_redis_url_redis_py_reads_back() -> None:
    config = load({"REDIS_HOST": "cache", "REDIS_PORT": "6380", "REDIS_DB": "3", "REDIS_USERNAME": "svc", "REDIS_PASSWORD": PASSWORD})
    assert config.cache.redis_url is not None
    kwargs = redis.Redis.from_url(config.cache.redis_url).connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["username"], kwargs["password"]) == ("cache", 6380, 3, "svc", PASSWORD)


def test_a_redis_password_alone_is_the_default_users() -> None:
    assert load({"REDIS_HOST": "cache", "REDIS_PASSWORD": "pw-1234"}).cache.redis_url == "redis://:pw-1234@cache:6379/0"


def test_db_parts_satisfy_production() -> None:
    environ = {"APP_ENV": "production", "LLM_PROVIDER": "local", "STORAGE_URL_SECRET": URL_SECRET, "DB_HOST": "db", "DB_USER": "app", "DB_PASSWORD": "pw"}
    assert load(environ).database.url == "postgresql+psycopg2://app:pw@db:5432/"


@pytest.mark.parametrize(
    "environ",
    [
        {"DATABASE_URL": "postgresql://app:pw@db:5432/app", "DB_HOST": "db", "DB_USER": "app", "DB_PASSWORD": "pw", "DB_NAME": "app"},
        {"DATABASE_URL": "postgres://app:pw@DB/app", "DB_HOST": "db", "DB_PORT": "5432"},
        {"DATABASE_URL": "postgresql://app:p%40ss@db/app", "DB_HOST": "db", "DB_USER": "app", "DB_PASSWORD": "p@ss"},
        {"REDIS_URL": "redis://:pw@cache:6379/0", "REDIS_HOST": "cache", "REDIS_PASSWORD": "pw", "REDIS_DB": "0"},
        {"REDIS_URL": "rediss://cache/2", "REDIS_HOST": "cache", "REDIS_DB": "2"},
    ],
    ids=["db all parts", "db host and port", "db encoded password", "redis", "redis over tls"],
)
def test_a_url_and_parts_that_agree_load_with_the_url(environ: dict[str, str]) -> None:
    config = load(environ)
    url = environ.get("DATABASE_URL") or environ["REDIS_URL"]
    assert url.split("@")[-1].lower() in (config.database.url + " " + str(config.cache.redis_url)).lower()


@pytest.mark.parametrize(
    ("environ", "differing"),
    [
        ({"DATABASE_URL": "postgresql://app:pw@db/app", "DB_HOST": "other"}, "DB_HOST"),
        ({"DATABASE_URL": "postgresql://app:pw@db/app", "DB_HOST": "db", "DB_USER": "app", "DB_PASSWORD": "secret-other-pw"}, "DB_PASSWORD"),
        ({"DATABASE_URL": "postgresql://app:pw@db:5433/app", "DB_HOST": "db", "DB_PORT": "5432"}, "DB_PORT"),
        ({"DATABASE_URL": "sqlite:///var/app.db", "DB_HOST": "db"}, "DB_HOST"),
        ({"REDIS_URL": "redis://cache:6379/1", "REDIS_HOST": "cache", "REDIS_DB": "2"}, "REDIS_DB"),
        ({"REDIS_URL": "unix:///run/redis.sock", "REDIS_HOST": "cache"}, "REDIS_HOST"),
    ],
    ids=["host", "password", "port", "sqlite", "redis db", "redis socket"],
)
def test_a_url_and_parts_that_differ_is_an_error_naming_what_differs(environ: dict[str, str], differing: str) -> None:
    error = config_error({**environ, "LLM_PROVIDER": "local"})
    [problem] = error.problems
    url = "DATABASE_URL" if "DATABASE_URL" in environ else "REDIS_URL"
    assert problem.startswith(f"{url} and ") and f"differ in {differing}" in problem
    assert "secret-other-pw" not in str(error) and ":pw@" not in str(error)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"DB_USER": "app"}, "DB_USER is set but DB_HOST is not; set DB_HOST too, or give DATABASE_URL instead"),
        ({"DB_NAME": "app", "DB_PORT": "5432"}, "DB_PORT, DB_NAME are set but DB_HOST is not; set DB_HOST too, or give DATABASE_URL instead"),
        ({"DB_HOST": "db", "DB_PASSWORD": "pw-9"}, "DB_PASSWORD is set but DB_USER is not; set the user the password belongs to"),
        ({"REDIS_PASSWORD": "pw-9"}, "REDIS_PASSWORD is set but REDIS_HOST is not; set REDIS_HOST too, or give REDIS_URL instead"),
        ({"REDIS_HOST": "c", "REDIS_USERNAME": "u"}, "REDIS_USERNAME is set but REDIS_PASSWORD is not; Redis logs a user in with a password, set it too"),
    ],
    ids=["db user alone", "db name and port", "db password without user", "redis password alone", "redis user without password"],
)
def test_partial_parts_are_an_error_saying_what_is_missing(environ: dict[str, str], expected: str) -> None:
    assert config_error({**environ, "LLM_PROVIDER": "local"}).problems == (expected,)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("DB_HOST", "db host"),
        ("DB_HOST", "db/x"),
        ("DB_PORT", "0"),
        ("DB_PORT", "65536"),
        ("DB_PORT", "port"),
        ("DB_PORT", "tcp://10.0.0.1:5432"),
        ("REDIS_HOST", "a b"),
        ("REDIS_PORT", "-1"),
        ("REDIS_PORT", "6379.5"),
        ("REDIS_DB", "-1"),
        ("REDIS_DB", "two"),
        ("REDIS_DB", "2147483647"),
    ],
)
def test_a_malformed_part_is_reported_once_naming_it(name: str, raw: str) -> None:
    companion = {"DB_HOST": "db"} if name.startswith("DB_") else {"REDIS_HOST": "cache"}
    environ = {**companion, name: raw, "LLM_PROVIDER": "local"}
    problems = Configuration(environ).validate_required_config()
    assert len(problems) == 1 and problems[0].startswith(f"{name}={raw!r} ")


def test_a_malformed_part_in_production_is_not_also_reported_as_a_missing_database_url() -> None:
    environ = {"APP_ENV": "production", "LLM_PROVIDER": "local", "STORAGE_URL_SECRET": URL_SECRET, "DB_HOST": "db", "DB_PORT": "x"}
    assert [p.split("=")[0] for p in config_error(environ).problems] == ["DB_PORT"]


def test_a_part_password_never_shows_in_the_config_text() -> None:
    config = load({"DB_HOST": "db", "DB_USER": "app", "DB_PASSWORD": "hunter2-part", "REDIS_HOST": "c", "REDIS_PASSWORD": "hunter3-part"})
    assert "hunter2" not in repr(config) and "hunter3" not in repr(config)


@pytest.mark.parametrize(("port", "host", "url"), [("DB_PORT", "DB_HOST", "DATABASE_URL"), ("REDIS_PORT", "REDIS_HOST", "REDIS_URL")])
def test_a_kubernetes_service_link_in_a_port_is_ignored_with_a_warning_while_its_host_is_unset(port: str, host: str, url: str) -> None:
    config = load({port: "tcp://10.0.0.3:6379", "LLM_PROVIDER": "local"})
    assert config.database.url.startswith("sqlite") and config.cache.redis_url is None
    [warning] = [w for w in config.warnings if port in w]
    assert warning.startswith(f"{port}='tcp://10.0.0.3:6379' is a Kubernetes service link, not a port, and is ignored while {host} is unset")
    assert "enableServiceLinks: false" in warning


@pytest.mark.parametrize(("variable", "host", "port"), [("DB_HOST", "db:5433", "DB_PORT"), ("REDIS_HOST", "r:1", "REDIS_PORT")])
def test_a_port_written_into_the_host_is_a_problem_naming_the_variable(variable: str, host: str, port: str) -> None:
    problems = config_error({variable: host, "LOG_LEVEL": "LOUD"}).problems
    assert f"{variable}={host!r} is not a host name or IP address; put the port in {port}" in problems
    assert any(p.startswith("LOG_LEVEL=") for p in problems)  # reported with the others


@pytest.mark.parametrize("host", ["[::1]", "::1"])
def test_an_ipv6_host_bracketed_or_not_makes_one_url(host: str) -> None:
    assert load({"DB_HOST": host}).database.url == "postgresql+psycopg2://[::1]:5432/"


@pytest.mark.parametrize("host", ["[db]", "a[b]", "db]", "[::1]:5432"])
def test_a_host_no_url_can_hold_is_a_problem_not_a_crash(host: str) -> None:
    assert f"DB_HOST={host!r} is not a host name or IP address; put the port in DB_PORT" in config_error({"DB_HOST": host}).problems


@pytest.mark.parametrize("host", ["[::1", "::1]", "[[::1]]", "db]", "[db]"])
def test_an_unbalanced_or_stray_bracket_is_not_a_host(host: str) -> None:
    error = config_error({"DB_HOST": host, "DB_USER": "app"})
    assert any(p.startswith("DB_HOST=") and "is not a host name or IP address" in p for p in error.problems)


def test_an_address_written_two_ways_is_the_same_host() -> None:
    config = load({"DB_HOST": "::ffff:1.2.3.4", "DB_USER": "u", "DATABASE_URL": "postgresql://u@[::ffff:1.2.3.4]:5432/u"})
    assert "[::ffff:1.2.3.4]" in config.database.url
