"""Recovery after a real PostgreSQL restart, on a private server the test starts (the shared one is never touched).

The private server is restarted with ``pg_ctl restart`` (fast: every session is cut; immediate: as a
crash) while the facade holds pooled connections. What holds afterwards:

- every session checked out after the restart works from its first statement, whether its pooled
  connection sat idle below ``DB_POOL_PRE_PING_IDLE_SECONDS`` or above it: the server closed each
  stale connection's socket, the checkout sees that without a round trip, pings, and the pool
  replaces the connection (and every one opened before it) before the session is handed out; so
  too for a session the server ended for idleness (``idle_session_timeout``);
- a connection that is healthy and idle below the threshold is not pinged at all (no ``SELECT 1``
  reaches the server), one idle above it is;
- a ``run_in_transaction`` attempt running across the restart fails on its dead connection and
  succeeds on the retry;
- a session that held its connection across the restart raises ``DatabaseConnectionError``
  (mapped and chained) and closes without trouble.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import psycopg2
import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import DatabaseConnectionError, DatabaseSession, InfrastructureService
from tests.integration.pool_probe import backend_pid, use_small_pool
from tests.integration.pool_probe import fill_the_pool as fill_pool_of
from tests.integration.private_postgres import PrivatePostgres, ShutdownMode

session = InfrastructureService.get_database_session
POOL_SIZE = 3
SESSIONS_AFTER = 12
BELOW = "3600"  # DB_POOL_PRE_PING_IDLE_SECONDS no test waits out
ABOVE = 0.3  # seconds: a threshold the test sleeps past
PING = re.compile(r"statement: SELECT 1\s*$", re.MULTILINE)  # SQLAlchemy's ping; the tests' own statements differ


@pytest.fixture(scope="module")
def server() -> Iterator[PrivatePostgres]:
    with PrivatePostgres(log_statement="'all'") as private:
        yield private


def use_server(monkeypatch: pytest.MonkeyPatch, server: PrivatePostgres, idle_seconds: str) -> None:
    use_small_pool(monkeypatch, server.url, POOL_SIZE, idle_seconds, "infra-test-restart")


def fill_the_pool() -> set[int]:
    return fill_pool_of(POOL_SIZE)


def pings(server: PrivatePostgres) -> int:
    return len(PING.findall(server.log()))


@pytest.mark.parametrize("mode", ["fast", "immediate"])
@pytest.mark.parametrize("idle", ["below the threshold", "above the threshold"])
def test_every_session_checked_out_after_a_restart_works_from_its_first_statement(
    clean_env: object, monkeypatch: pytest.MonkeyPatch, server: PrivatePostgres, mode: ShutdownMode, idle: str
) -> None:
    use_server(monkeypatch, server, BELOW if idle == "below the threshold" else str(ABOVE))
    old_pids = fill_the_pool()
    server.restart(mode)
    if idle == "above the threshold":
        time.sleep(ABOVE * 2)

    # All stale connections at once, then one after another: no session raises, none gets an old backend.
    at_once = [session() for _ in range(POOL_SIZE)]
    try:
        new_pids = {backend_pid(db) for db in at_once}
    finally:
        for db in at_once:
            db.close()
    for _ in range(SESSIONS_AFTER):
        with session() as db:
            new_pids.add(backend_pid(db))
    assert not new_pids & old_pids
    (stats,) = InfrastructureService.get_database_stats()
    assert stats.checked_out == 0


def test_a_healthy_connection_idle_below_the_threshold_is_not_pinged_and_one_idle_above_it_is(
    clean_env: object, monkeypatch: pytest.MonkeyPatch, server: PrivatePostgres
) -> None:
    use_server(monkeypatch, server, str(ABOVE))
    with session() as db:
        pid = backend_pid(db)
    before = pings(server)
    for _ in range(SESSIONS_AFTER):
        with session() as db:
            assert backend_pid(db) == pid
    assert pings(server) == before  # no round trip spent on checkout

    time.sleep(ABOVE * 2)
    with session() as db:
        assert backend_pid(db) == pid
    assert pings(server) == before + 1


def test_a_connection_the_server_ended_for_idleness_is_replaced_below_the_threshold(
    clean_env: object, monkeypatch: pytest.MonkeyPatch, server: PrivatePostgres
) -> None:
    """idle_session_timeout (PostgreSQL 14+) ends a session as a restart does: an error, then the socket closes."""
    use_server(monkeypatch, server, BELOW)
    with session() as db:
        pid = backend_pid(db)
        db.execute(text("SET idle_session_timeout = '100ms'"))  # committed with the session: the connection keeps it
    time.sleep(0.5)
    with session() as db:
        assert backend_pid(db) != pid


def test_sessions_recover_after_a_postgres_restart(
    clean_env: object, monkeypatch: pytest.MonkeyPatch, server: PrivatePostgres
) -> None:
    use_server(monkeypatch, server, BELOW)
    old_pids = fill_the_pool()
    held = session()
    assert backend_pid(held) in old_pids
    attempt_pids: list[int] = []

    def across_the_restart(db: DatabaseSession) -> int:
        attempt_pids.append(backend_pid(db))
        if len(attempt_pids) == 1:
            server.restart("fast")
        return backend_pid(db)

    # 1. The attempt running across the restart fails on its dead connection; the retry succeeds.
    result = InfrastructureService.run_in_transaction(across_the_restart, retries=3)
    assert len(attempt_pids) == 2, attempt_pids
    assert attempt_pids[0] in old_pids and attempt_pids[1] not in old_pids
    assert result == attempt_pids[1]

    # 2. The session that held its connection across the restart: a mapped, chained error.
    with pytest.raises(DatabaseConnectionError) as raised:
        with held:
            held.execute(text("SELECT 2"))
    assert isinstance(raised.value.__cause__, psycopg2.OperationalError)  # chained to the driver's error
    held.close()  # closing again is harmless
    (stats,) = InfrastructureService.get_database_stats()
    assert stats.checked_out == 0

    # 3. Every pooled connection works again.
    fresh = [session() for _ in range(POOL_SIZE)]
    try:
        fresh_pids = {backend_pid(db) for db in fresh}
    finally:
        for db in fresh:
            db.close()
    assert len(fresh_pids) == POOL_SIZE and not fresh_pids & old_pids

    # 4. And under load from several threads at once.
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                with session() as db:
                    db.execute(text("SELECT 2"))
        except BaseException as exc:  # asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == [] and not any(t.is_alive() for t in threads)
