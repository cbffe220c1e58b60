"""The readiness probe's database check on the real PostgreSQL: on a connection of its own, so a pool whose every
connection is checked out is busy, not unready; a database that does not answer is still not ready."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.domain.health.values import CheckStatus
from modules.infrastructure.module_api import DatabasePoolExhaustedError, InfrastructureService
from tests.integration.postgres_scratch import admin_engine, execute, unique_name, use_postgres
from tests.integration.private_postgres import PrivatePostgres
from tests.integration.private_rabbitmq import free_port

pytestmark = pytest.mark.usefixtures("clean_env")

POOL_SIZE = 2


@pytest.fixture
def small_pool(monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> str:
    """The facade on ``postgres_url`` with a pool of two connections, no overflow, a one-second pool timeout and an
    application name of the test's own (returned), so its connections can be counted in pg_stat_activity."""
    name = unique_name("readiness")
    use_postgres(monkeypatch, postgres_url, DB_POOL_SIZE=str(POOL_SIZE), DB_MAX_OVERFLOW="0", DB_POOL_TIMEOUT="1", DB_APPLICATION_NAME=name)
    return name


@pytest.fixture
def exhausted_pool(small_pool: str) -> Iterator[str]:
    """Every connection of the pool checked out by a thread that holds it until the test ends."""
    release, holding = threading.Event(), threading.Semaphore(0)

    def hold() -> None:
        with InfrastructureService.get_database_session() as db:
            db.execute(text("SELECT 1"))
            holding.release()
            release.wait(30)

    threads = [threading.Thread(target=hold, daemon=True) for _ in range(POOL_SIZE)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert holding.acquire(timeout=10)
    try:
        yield small_pool
    finally:
        release.set()
        for thread in threads:
            thread.join(10)


def connections_of(postgres_url: str, application_name: str) -> int:
    with admin_engine(postgres_url).connect() as connection:
        count: int = connection.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"), {"name": application_name}
        ).scalar_one()
    return count


def test_with_every_pooled_connection_checked_out_readiness_still_answers_ready_at_once(exhausted_pool: str) -> None:
    with pytest.raises(DatabasePoolExhaustedError):
        InfrastructureService.get_database_session()  # the pool timeout elapsed: no session gets a connection
    started = time.monotonic()
    answer = InfrastructureService.check_readiness(timeout=2.0)
    elapsed = time.monotonic() - started
    assert answer.ready and elapsed < 0.5, (answer.to_dict(), elapsed)
    detail = answer.checks["database"].detail
    assert "on a connection of its own" in detail and f"pool {POOL_SIZE}/{POOL_SIZE}+0 in use" in detail
    startup = InfrastructureService.validate_environment(timeout=5.0).checks["database"]
    assert startup.status is CheckStatus.ERROR and "No free connection" in startup.detail  # the pool's own check waits, then fails


def test_the_probe_keeps_no_connection_open_between_checks(small_pool: str, postgres_url: str) -> None:
    for _ in range(3):
        assert InfrastructureService.check_readiness().ready
    assert connections_of(postgres_url, small_pool) == 0  # the pool was never used, and the probe closes its own
    InfrastructureService.shutdown()
    assert InfrastructureService.check_readiness().ready  # built again after a shutdown


def test_a_database_that_does_not_answer_is_not_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    use_postgres(monkeypatch, f"postgresql://postgres@127.0.0.1:{free_port()}/test", DB_CONNECT_TIMEOUT="1")  # nothing listens there
    started = time.monotonic()
    answer = InfrastructureService.check_readiness(timeout=2.0)
    assert not answer.ready and answer.waiting_for == ("database",) and time.monotonic() - started < 2.5
    assert answer.checks["database"].status is CheckStatus.ERROR and answer.checks["database"].detail.startswith("unreachable:")


def test_a_forked_child_checks_readiness_on_a_connection_of_its_own(small_pool: str, tmp_path: Path) -> None:
    assert InfrastructureService.check_readiness().ready  # the parent's probe is built
    verdict = tmp_path / "child"
    pid = os.fork()
    if pid == 0:  # the child: the runtime's fork hook dropped what it inherited
        try:
            verdict.write_text("ready" if InfrastructureService.check_readiness().ready else "not ready")
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0 and verdict.read_text() == "ready"
    assert InfrastructureService.check_readiness().ready  # the parent's goes on


def test_a_rotated_password_reaches_the_probe_s_connections(clean_env: Path, scram_postgres: PrivatePostgres) -> None:
    url = f"postgresql://app:{{}}@127.0.0.1:{scram_postgres.port}/postgres"
    (clean_env / ".env").write_text(f"DATABASE_URL={url.format('first-password')}\n")
    assert InfrastructureService.check_readiness().ready
    (clean_env / ".env").write_text(f"DATABASE_URL={url.format('second-password')}\n")
    assert InfrastructureService.reload_config().applied == ("DATABASE_URL",)
    assert InfrastructureService.check_readiness().ready  # the server still takes the old password: tried after the new one
    execute(scram_postgres.url, "ALTER ROLE app PASSWORD 'second-password'")
    assert InfrastructureService.check_readiness().ready  # and the new one once the server takes it
