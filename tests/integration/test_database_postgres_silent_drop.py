"""A connection the network drops silently (a NAT or firewall that forgot it, a vanished host): the limit of the
checkout check, and what ``DB_POOL_PRE_PING_IDLE_SECONDS`` is for.

Such a connection's socket stays quiet, so the check cannot see it without a round trip:

- idle in the pool ``DB_POOL_PRE_PING_IDLE_SECONDS`` or longer, it is pinged on checkout, the ping is
  reset, and the pool replaces it (and every connection opened before it): every session works;
- idle less than that, ``get_database_session()`` hands it out and its first statement raises
  ``DatabaseConnectionError``; that disconnect invalidates the whole pool, so the sessions after it
  work, and ``run_in_transaction`` retries the failed attempt on a new connection.

A server restart is not such a case: the server closes every socket (test_database_postgres_restart.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from modules.infrastructure.module_api import DatabaseConnectionError, DatabaseSession, InfrastructureService
from tests.integration.pool_probe import backend_pid, use_small_pool
from tests.integration.pool_probe import fill_the_pool as fill_pool_of
from tests.integration.silent_drop_proxy import SilentDropProxy

session = InfrastructureService.get_database_session
POOL_SIZE = 3
SESSIONS_AFTER = 8
THRESHOLD = 0.3


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[SilentDropProxy]:
    with SilentDropProxy(postgres_url) as relay:
        yield relay


def fill_the_pool(monkeypatch: pytest.MonkeyPatch, proxy: SilentDropProxy, idle_seconds: float) -> set[int]:
    use_small_pool(monkeypatch, proxy.url, POOL_SIZE, idle_seconds, "infra-test-drop")
    return fill_pool_of(POOL_SIZE)


def test_above_the_threshold_a_silently_dropped_connection_is_pinged_and_replaced(
    clean_env: object, monkeypatch: pytest.MonkeyPatch, proxy: SilentDropProxy
) -> None:
    old_pids = fill_the_pool(monkeypatch, proxy, THRESHOLD)
    proxy.drop_silently()
    time.sleep(THRESHOLD * 2)
    new_pids = set()
    for _ in range(SESSIONS_AFTER):
        with session() as db:
            new_pids.add(backend_pid(db))
    assert not new_pids & old_pids


def test_below_the_threshold_the_first_statement_raises_once_and_the_pool_is_replaced(
    clean_env: object, monkeypatch: pytest.MonkeyPatch, proxy: SilentDropProxy
) -> None:
    old_pids = fill_the_pool(monkeypatch, proxy, 3600)
    proxy.drop_silently()
    db = session()  # the checkout sees a quiet socket: no ping
    with pytest.raises(DatabaseConnectionError):
        with db:
            backend_pid(db)
    new_pids = set()
    for _ in range(SESSIONS_AFTER):
        with session() as db:
            new_pids.add(backend_pid(db))
    assert not new_pids & old_pids


def test_below_the_threshold_run_in_transaction_retries_past_a_silent_drop(
    clean_env: object, monkeypatch: pytest.MonkeyPatch, proxy: SilentDropProxy
) -> None:
    old_pids = fill_the_pool(monkeypatch, proxy, 3600)
    proxy.drop_silently()
    attempts: list[int] = []

    def work(db: DatabaseSession) -> int:
        attempts.append(len(attempts))
        return backend_pid(db)

    assert InfrastructureService.run_in_transaction(work, retries=3) not in old_pids
    assert len(attempts) == 2
