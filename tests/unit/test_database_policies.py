"""Database policies without I/O: engine arguments, replica routing, backoff, error classification."""

from __future__ import annotations

import psycopg2
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool, StaticPool

from modules.infrastructure.domain.policies.backoff import backoff_delay
from modules.infrastructure.domain.policies.replica_router import ReplicaRouter
from modules.infrastructure.infrastructure.database.engine_options import engine_arguments, postgres_connect_args, probe_arguments
from modules.infrastructure.module_api import DatabaseConfig

PG = "postgresql+psycopg2://app:pw@db:5432/app"


def config(**overrides: object) -> DatabaseConfig:
    return DatabaseConfig(url=PG, **overrides)  # type: ignore[arg-type]


def test_pool_settings_come_from_the_configuration() -> None:
    args = engine_arguments(PG, config(pool_size=7, max_overflow=3, pool_timeout=2.5, pool_recycle=60, echo=True))
    assert args["pool_size"] == 7 and args["max_overflow"] == 3
    assert args["pool_timeout"] == 2.5 and args["pool_recycle"] == 60 and args["echo"] is True
    assert args["pool_use_lifo"] is True
    assert "pool_pre_ping" not in args  # a round trip per checkout; checkout_ping checks liveness instead


def test_postgres_connect_args() -> None:
    args = engine_arguments(PG, config(connect_timeout=3, application_name="lessons", statement_timeout_ms=1500))
    assert args["connect_args"] == {
        "connect_timeout": 3,
        "application_name": "lessons",
        "options": "-c statement_timeout=1500",
    }


def test_url_query_parameters_win_over_configured_connect_args() -> None:
    url = make_url(PG + "?sslmode=require&connect_timeout=9&application_name=from-url")
    assert postgres_connect_args(url, config()) == {}


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite_shares_one_connection(url: str) -> None:
    args = engine_arguments(url, DatabaseConfig(url=url))
    assert args["poolclass"] is StaticPool
    assert args["connect_args"] == {"check_same_thread": False}


def test_sqlite_file_gets_a_queue_pool_and_waits_db_pool_timeout_for_its_write_lock() -> None:
    args = engine_arguments("sqlite:///var/app.db", DatabaseConfig(url="sqlite:///var/app.db", pool_timeout=7.5))
    assert args["connect_args"] == {"timeout": 7.5} and args["pool_size"] == 5


def test_a_sqlite_timeout_in_the_url_wins() -> None:
    args = engine_arguments("sqlite:///var/app.db?timeout=2", DatabaseConfig(url="sqlite:///var/app.db?timeout=2"))
    assert args["connect_args"] == {}


def test_the_readiness_probe_connects_without_a_pool_within_the_check_s_timeout() -> None:
    args = probe_arguments(PG, config(pool_size=7, connect_timeout=10, statement_timeout_ms=60000, application_name="lessons"), 1.5)
    assert args == {
        "poolclass": NullPool, "echo": False,
        "connect_args": {"connect_timeout": 2, "application_name": "lessons", "options": "-c statement_timeout=1500"},
    }
    assert probe_arguments("sqlite:///var/app.db", DatabaseConfig(url="sqlite:///var/app.db"), 0.5)["connect_args"] == {"timeout": 0.5}


def test_replicas_are_used_in_turn() -> None:
    router = ReplicaRouter(["r1", "r2", "r3"], cooldown=30)
    assert [router.candidates()[0] for _ in range(4)] == ["r1", "r2", "r3", "r1"]


def test_a_failed_replica_is_skipped_for_the_cooldown() -> None:
    now = [100.0]
    router = ReplicaRouter(["r1", "r2"], cooldown=30, clock=lambda: now[0])
    router.mark_failed("r1")
    assert router.candidates() == ["r2"] and router.candidates() == ["r2"]
    now[0] += 30.1
    assert set(router.candidates()) == {"r1", "r2"}


def test_no_replicas_no_candidates() -> None:
    assert ReplicaRouter([], cooldown=30).candidates() == []


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap() -> None:
    assert [backoff_delay(n, base=0.1, cap=1.0, rand=lambda: 1.0) for n in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff_delay(3, rand=lambda: 0.0) == 0.0
    with pytest.raises(ValueError):
        backoff_delay(-1)


class FakePgError(Exception):
    """Stands in for a psycopg2 error carrying a SQLSTATE."""

    def __init__(self, pgcode: str) -> None:
        super().__init__(f"error {pgcode}")
        self.pgcode = pgcode


@pytest.mark.parametrize(
    ("error", "conflict", "connection"),
    [
        (sa_exc.OperationalError("SELECT 1", {}, FakePgError("40001")), True, False),
        (sa_exc.OperationalError("SELECT 1", {}, FakePgError("40P01")), True, False),
        (sa_exc.OperationalError("SELECT 1", {}, FakePgError("08006")), False, True),
        (sa_exc.OperationalError("SELECT 1", {}, FakePgError("57P01")), False, True),
        (sa_exc.OperationalError("SELECT 1", {}, FakePgError("57014")), False, False),
        (sa_exc.OperationalError("connect", {}, psycopg2.OperationalError("refused")), False, True),
        (sa_exc.OperationalError("SELECT 1", {}, Exception("gone"), connection_invalidated=True), False, True),
        (sa_exc.IntegrityError("INSERT", {}, FakePgError("23505")), False, False),
    ],
)
def test_classification_uses_sqlstate_and_invalidation_not_message_text(
    error: sa_exc.DBAPIError, conflict: bool, connection: bool
) -> None:
    from modules.infrastructure.infrastructure.database.error_mapping import is_conflict, is_connection_failure

    assert is_conflict(error) is conflict
    assert is_connection_failure(error) is connection
