"""Configuration value parsers: each turns raw text into a typed value or raises ``InvalidValue``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import make_url

from modules.infrastructure.domain.config import parsers as p
from modules.infrastructure.domain.config.parsers import InvalidValue


def invalid(parse: p.Parser, raw: str) -> InvalidValue:
    """The ``InvalidValue`` that ``parse(raw)`` raises (fails the test if it parses)."""
    with pytest.raises(InvalidValue) as caught:
        parse(raw)
    return caught.value


# --- InvalidValue ------------------------------------------------------------------------------


def test_invalid_value_carries_problem_and_expected_form() -> None:
    error = InvalidValue("is not a number", "a number greater than 0")
    assert isinstance(error, ValueError)
    assert error.problem == "is not a number"
    assert error.expected == "a number greater than 0"
    assert str(error) == "is not a number; expected a number greater than 0"


# --- boolean -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("True", True),
        ("1", True),
        ("yes", True),
        ("YES", True),
        ("on", True),
        ("On", True),
        ("  true  ", True),
        ("false", False),
        ("FALSE", False),
        ("0", False),
        ("no", False),
        ("No", False),
        ("off", False),
        ("OFF", False),
        ("\tfalse\n", False),
    ],
)
def test_boolean_accepts_the_documented_spellings(raw: str, expected: bool) -> None:
    assert p.boolean(raw) is expected


@pytest.mark.parametrize("raw", ["", "maybe", "sometimes", "2", "-1", "t", "f", "y", "n", "enabled", "truee", "tru e"])
def test_boolean_rejects_anything_else(raw: str) -> None:
    error = invalid(p.boolean, raw)
    assert error.problem == "is not a boolean"
    assert "true/false" in error.expected


# --- integer -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("5", 5), (" 42 ", 42), ("-3", -3), ("+7", 7), ("0", 0)])
def test_integer_without_bounds_parses_whole_numbers(raw: str, expected: int) -> None:
    value = p.integer()(raw)
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize("raw", ["abc", "", "5.0", "1e3", "five", "0x10", "5 5"])
def test_integer_rejects_non_whole_numbers(raw: str) -> None:
    error = invalid(p.integer(), raw)
    assert error.problem == "is not a whole number"
    assert error.expected == "a whole number"


def test_integer_range_bounds_are_inclusive() -> None:
    parse = p.integer(1, 65535)
    assert parse("1") == 1
    assert parse("65535") == 65535


@pytest.mark.parametrize(
    ("raw", "problem"),
    [("0", "is below the minimum 1"), ("-5", "is below the minimum 1"), ("65536", "is above the maximum 65535")],
)
def test_integer_outside_its_range_is_rejected_with_the_range(raw: str, problem: str) -> None:
    error = invalid(p.integer(1, 65535), raw)
    assert error.problem == problem
    assert error.expected == "a whole number from 1 to 65535"


def test_integer_with_only_a_minimum_names_it() -> None:
    parse = p.integer(-1)
    assert parse("-1") == -1
    assert parse("100000000") == 100000000
    error = invalid(parse, "-2")
    assert error.problem == "is below the minimum -1"
    assert error.expected == "a whole number of at least -1"


def test_integer_with_only_a_maximum_names_it() -> None:
    parse = p.integer(maximum=10)
    assert parse("-100") == -100
    error = invalid(parse, "11")
    assert error.problem == "is above the maximum 10"
    assert error.expected == "a whole number of at most 10"


# --- number ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("30", 30.0), ("0.5", 0.5), (" 2.25 ", 2.25), ("1e3", 1000.0)])
def test_number_parses_floats(raw: str, expected: float) -> None:
    value = p.number()(raw)
    assert value == expected
    assert type(value) is float


@pytest.mark.parametrize("raw", ["abc", "", "1,5", "3 s", "--1"])
def test_number_rejects_text(raw: str) -> None:
    assert invalid(p.number(), raw).problem == "is not a number"


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-inf", "Infinity", "-Infinity", "1e999"])
def test_number_rejects_nan_and_infinity(raw: str) -> None:
    assert invalid(p.number(above=0), raw).problem == "is not a finite number"


def test_number_above_is_an_exclusive_lower_bound() -> None:
    parse = p.number(above=0)
    assert parse("0.001") == 0.001
    for raw in ("0", "0.0", "-0", "-1"):
        error = invalid(parse, raw)
        assert error.problem == "must be greater than 0"
        assert error.expected == "a number greater than 0"


def test_number_minimum_is_inclusive() -> None:
    parse = p.number(minimum=0)
    assert parse("0") == 0.0
    error = invalid(parse, "-0.5")
    assert error.problem == "is below the minimum 0"
    assert error.expected == "a number of at least 0"


def test_number_maximum_is_inclusive() -> None:
    parse = p.number(0, 1)
    assert parse("1") == 1.0
    error = invalid(parse, "1.5")
    assert error.problem == "is above the maximum 1"
    assert error.expected == "a number from 0 to 1"


# --- choice ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("openai", "openai"), ("OpenAI", "openai"), (" AZURE ", "azure")])
def test_choice_is_case_insensitive_and_returns_lower_case(raw: str, expected: str) -> None:
    assert p.choice(("openai", "azure", "local"))(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [("debug", "DEBUG"), ("Warning", "WARNING"), (" ERROR ", "ERROR")])
def test_choice_with_upper_returns_upper_case(raw: str, expected: str) -> None:
    assert p.choice(("DEBUG", "INFO", "WARNING", "ERROR"), upper=True)(raw) == expected


@pytest.mark.parametrize("raw", ["gemini", "", "open ai", "openai,azure", "LOCALS"])
def test_choice_rejects_unknown_values_and_lists_the_options(raw: str) -> None:
    error = invalid(p.choice(("openai", "azure", "local")), raw)
    assert error.problem == "is not a known value"
    assert error.expected == "one of openai, azure, local"


def test_choice_upper_lists_options_in_upper_case() -> None:
    error = invalid(p.choice(("debug", "info"), upper=True), "LOUD")
    assert error.expected == "one of DEBUG, INFO"


# --- text and host -----------------------------------------------------------------------------


def test_text_strips_surrounding_whitespace_only() -> None:
    assert p.text("  gpt-4o mini \n") == "gpt-4o mini"


@pytest.mark.parametrize("raw", ["127.0.0.1", "0.0.0.0", "api.internal", "localhost", "::1", "[::1]", " my-host "])
def test_host_accepts_names_and_addresses(raw: str) -> None:
    assert p.host(raw) == raw.strip()


@pytest.mark.parametrize("raw", ["", "bad host", "http://x", "host/path", "h@st"])
def test_host_rejects_anything_that_is_not_a_host(raw: str) -> None:
    assert invalid(p.host, raw).problem == "is not a host name or address"


# --- url ---------------------------------------------------------------------------------------

REDIS = p.url(("redis", "rediss", "unix"))
HTTP = p.url(("http", "https"))


@pytest.mark.parametrize(
    "raw",
    [
        "redis://localhost:6379/0",
        "redis://:pw@cache:6379",
        "rediss://user:pw@cache.internal",
        "unix:///var/run/redis.sock",
        "redis://[::1]:6379",
    ],
)
def test_url_accepts_allowed_schemes_with_a_host(raw: str) -> None:
    assert REDIS(raw) == raw


def test_url_returns_the_value_stripped() -> None:
    assert HTTP("  https://api.example.com/v1  ") == "https://api.example.com/v1"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("http://cache:6379", "has scheme 'http'"),
        ("localhost:6379", "has scheme 'localhost'"),
        ("cache", "has scheme ''"),
        ("redis://", "has no host"),
        ("redis:///0", "has no host"),
        ("unix://", "has no host"),
        ("redis://cache:notaport", "has an invalid port"),
        ("redis://cache:70000", "has an invalid port"),
        ("redis://[::1", "is not a valid URL"),
    ],
)
def test_url_rejects_wrong_scheme_missing_host_and_bad_port(raw: str, problem: str) -> None:
    error = invalid(REDIS, raw)
    assert error.problem == problem
    assert error.expected == "a URL such as redis://... or rediss://... or unix://..."


def test_url_unix_scheme_is_only_allowed_where_listed() -> None:
    assert invalid(HTTP, "unix:///tmp/x.sock").problem == "has scheme 'unix'"


# --- redis_url ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["redis://cache", "redis://cache:6379/", "redis://cache:6379/0", "rediss://:pw@cache/15", "unix:///run/redis.sock"])
def test_redis_url_takes_a_database_number_or_none(raw: str) -> None:
    assert p.redis_url(raw) == raw


@pytest.mark.parametrize("raw", ["redis://cache:6379/abc", "redis://cache/0/1x", "redis://cache/-1", "redis://cache/١"])
def test_redis_url_refuses_a_path_that_is_not_a_database_number(raw: str) -> None:
    # redis-py would use database 0 for any of these, without a word.
    error = invalid(p.redis_url, raw)
    assert error.problem.endswith("which is not a database number")
    assert "redis://host:6379/0" in error.expected


# --- database_url ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "sqlite:///var/app.db",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite+pysqlite:///tmp/x.db",
        "postgresql+psycopg2://user:secret@db.internal:5432/app",
        "postgresql+psycopg://app@db/app",
        "postgresql+pg8000://app@db/app",
        "mysql+pymysql://u:p@[::1]:3306/app",
    ],
)
def test_database_url_keeps_urls_that_name_their_driver(raw: str) -> None:
    assert p.database_url(raw) == raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://app@db/app", "postgresql+psycopg2://app@db/app"),
        ("postgres://app:s3cret@db.internal:5432/app?sslmode=require", "postgresql+psycopg2://app:s3cret@db.internal:5432/app?sslmode=require"),
        ("postgres+psycopg2://app@db/app", "postgresql+psycopg2://app@db/app"),
        ("postgres+pg8000://app@db/app", "postgresql+pg8000://app@db/app"),
        ("  postgresql:///app?host=/var/run/postgresql ", "postgresql+psycopg2:///app?host=/var/run/postgresql"),
        ("postgresql:///app", "postgresql+psycopg2:///app"),
    ],
)
def test_database_url_gives_postgres_as_hosts_print_it_the_shipped_driver(raw: str, expected: str) -> None:
    assert p.database_url(raw) == expected


@pytest.mark.parametrize("raw", ["postgresql+asyncpg://app@db/app", "sqlite+aiosqlite:///x.db", "postgresql+psycopg_async://db/app"])
def test_database_url_refuses_an_asyncio_driver_and_names_the_synchronous_form(raw: str) -> None:
    error = invalid(p.database_url, raw)
    assert "a driver for asyncio; this module is synchronous" in error.problem
    assert error.expected.startswith(("postgresql://", "sqlite://"))


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("not-a-url", "is not a database URL"),
        ("", "is not a database URL"),
        ("postgresql:/db/app", "is not a database URL"),
        ("postgresql:app", "is not a database URL"),
        ("//db/app", "is not a database URL"),
        ("postgresql+://db/app", "is not a database URL"),
        ("postgresql://:5432/app", "has no host"),
        ("postgresql://db:notaport/app", "has an invalid port"),
        ("postgresql://db:99999/app", "has an invalid port"),
        ("postgresql://[::1/app", "is not a valid URL"),
    ],
)
def test_database_url_rejects_malformed_urls(raw: str, problem: str) -> None:
    error = invalid(p.database_url, raw)
    assert error.problem == problem
    assert "sqlite:///var/app.db" in error.expected


# --- comma_list --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ()),
        (" , ,, ", ()),
        ("openai", ("openai",)),
        ("openai,azure", ("openai", "azure")),
        (" Azure , ,LOCAL, ", ("azure", "local")),
    ],
)
def test_comma_list_parses_each_item_and_ignores_blanks(raw: str, expected: tuple[Any, ...]) -> None:
    assert p.comma_list(p.choice(("openai", "azure", "local")))(raw) == expected


def test_comma_list_keeps_order_and_duplicates() -> None:
    assert p.comma_list(p.integer())("3, 1, 3") == (3, 1, 3)


def test_comma_list_reports_the_first_bad_item() -> None:
    error = invalid(p.comma_list(p.choice(("openai", "azure", "local"))), "openai,bard")
    assert error.problem == "has an item 2 of 2 that is not a known value"
    assert invalid(p.comma_list(p.choice(("openai",))), "bard").problem == "is not a known value"


def test_comma_list_of_urls_checks_every_url() -> None:
    parse = p.comma_list(p.url(("amqp", "amqps")))
    assert parse("amqp://mq1,amqps://mq2:5671") == ("amqp://mq1", "amqps://mq2:5671")
    assert invalid(parse, "amqp://mq1,amqp://mq2:notaport").problem == "has an item 2 of 2 that has an invalid port"


def test_a_comma_inside_a_password_is_named_by_item_number_and_no_piece_of_it_is_shown() -> None:
    error = invalid(p.comma_list(p.database_url), "postgresql://ro:pw@r1/app,postgresql://ro:se,cret@r2/app")
    assert error.problem == "has an item 2 of 3 that has an invalid port"
    assert "%2C" in error.expected and "se" not in error.problem and "cret" not in str(error)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("POSTGRESQL://app@db/app", "postgresql+psycopg2://app@db/app"),
        ("Postgres://app@db/app", "postgresql+psycopg2://app@db/app"),
        ("postgresql+PSYCOPG2://app@db/app", "postgresql+psycopg2://app@db/app"),
        ("SQLite:///var/app.db", "sqlite:///var/app.db"),
    ],
)
def test_the_scheme_is_read_case_insensitively(raw: str, expected: str) -> None:
    assert p.database_url(raw) == expected


def test_an_at_sign_after_the_host_is_part_of_the_path_not_of_the_password() -> None:
    assert p.database_url("postgres://app@db/d@b") == "postgresql+psycopg2://app@db/d@b"
    assert make_url(p.database_url("postgres://app@db/d@b")).host == "db"


def test_a_slash_in_a_password_asks_for_percent_encoding() -> None:
    error = invalid(p.database_url, "postgresql://app:pa/ss@db/app")
    assert "write / as %2F" in error.expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://app:Pa@ss@db:5432/app", "postgresql+psycopg2://app:Pa%40ss@db:5432/app"),
        ("postgresql://me@corp:pw@db/app", "postgresql+psycopg2://me%40corp:pw@db/app"),
        ("postgresql://app:pw@db/app?options=a@b", "postgresql+psycopg2://app:pw@db/app?options=a@b"),
        ("sqlite:///var/a@b.db", "sqlite:///var/a@b.db"),
    ],
)
def test_an_at_sign_in_the_user_info_is_encoded_so_sqlalchemy_reads_the_whole_password(raw: str, expected: str) -> None:
    assert p.database_url(raw) == expected
    assert make_url(expected).host in ("db", None)


def test_sqlalchemy_reads_the_encoded_password_back_whole() -> None:
    url = make_url(p.database_url("postgresql://app:Pa@ss-word@db.internal:5432/app"))
    assert (url.username, url.password, url.host, url.port) == ("app", "Pa@ss-word", "db.internal", 5432)
