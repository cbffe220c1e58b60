"""Connections refused at open and cut during COMMIT, through a proxy in front of the real PostgreSQL.

- A database that refuses the first connections ("the database system is starting up") and then
  answers: ``run_in_transaction`` opens the session again, with backoff, within its retries.
- One that never answers: the call fails after its retries, with the last error.
- A connection cut when COMMIT is on its way: whether the server got it or not, the caller is told
  the outcome is unknown (``DatabaseCommitUnknownError``), and ``run_in_transaction`` does not run
  the work again, so a transaction that did commit is never applied twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import (
    DatabaseCommitUnknownError,
    DatabaseConnectionError,
    DatabaseSession,
    InfrastructureService,
)
from tests.integration.postgres_proxy import PostgresProxy
from tests.integration.postgres_scratch import scalar, scratch_table, use_postgres

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def table(postgres_url: str) -> Iterator[str]:
    with scratch_table(postgres_url, "id serial PRIMARY KEY, note text NOT NULL", prefix="infra_commit") as name:
        yield name


def through(proxy: PostgresProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the facade at the proxy: one pooled connection, so every session shows on the proxy."""
    use_postgres(monkeypatch, proxy.url, DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0", DB_CONNECT_TIMEOUT="5")


def rows(postgres_url: str, table: str) -> int:
    return int(scalar(postgres_url, f"SELECT count(*) FROM {table}"))  # type: ignore[arg-type]


def insert(table: str, calls: list[int]) -> object:
    def fn(db: DatabaseSession) -> int:
        calls.append(1)
        return int(db.execute(text(f"INSERT INTO {table} (note) VALUES ('once') RETURNING id")).scalar_one())

    return fn


# --- 7. a session that cannot be opened ---------------------------------------------------------


def test_run_in_transaction_opens_the_session_again_while_the_server_is_starting_up(
    postgres_url: str, table: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []
    with PostgresProxy(postgres_url, refuse_first=2) as proxy:
        through(proxy, monkeypatch)
        with caplog.at_level(logging.WARNING):
            InfrastructureService.run_in_transaction(insert(table, calls), retries=3)  # type: ignore[arg-type]
    assert (proxy.log.refused, proxy.log.connections) == (2, 3)
    assert calls == [1] and rows(postgres_url, table) == 1
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) == 2 and all("DatabaseConnectionError" in m for m in retries)


def test_run_in_transaction_gives_up_after_its_retries_with_the_last_error(
    postgres_url: str, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    with PostgresProxy(postgres_url, refuse_first=None) as proxy:
        through(proxy, monkeypatch)
        with pytest.raises(DatabaseConnectionError) as raised:
            InfrastructureService.run_in_transaction(insert(table, calls), retries=2)  # type: ignore[arg-type]
    assert proxy.log.refused == proxy.log.connections == 3  # the first attempt and two retries
    assert "the database system is starting up" in str(raised.value)
    assert "DATABASE_URL" in str(raised.value)
    assert calls == [] and rows(postgres_url, table) == 0


def test_without_retries_a_refused_session_fails_at_once(postgres_url: str, table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with PostgresProxy(postgres_url, refuse_first=1) as proxy:
        through(proxy, monkeypatch)
        with pytest.raises(DatabaseConnectionError):
            InfrastructureService.run_in_transaction(insert(table, []), retries=0)  # type: ignore[arg-type]
    assert proxy.log.connections == 1


# --- 8. a commit whose outcome is unknown ---------------------------------------------------------


@pytest.mark.parametrize(("forward", "committed"), [(True, 1), (False, 0)], ids=["server-committed", "server-never-saw-it"])
def test_a_connection_cut_during_commit_says_the_outcome_is_unknown_in_a_with_block(
    postgres_url: str, table: str, monkeypatch: pytest.MonkeyPatch, forward: bool, committed: int
) -> None:
    with PostgresProxy(postgres_url) as proxy:
        through(proxy, monkeypatch)
        with pytest.raises(DatabaseCommitUnknownError) as raised:
            with InfrastructureService.get_database_session() as db:
                db.execute(text(f"INSERT INTO {table} (note) VALUES ('once')"))
                proxy.cut_at_next_commit(forward=forward)
    assert proxy.log.commits_cut == ["after" if forward else "before"]
    assert rows(postgres_url, table) == committed  # either may be true: the client cannot tell
    message = str(raised.value)
    assert "may or may not have committed" in message and "Do not simply run it again" in message
    assert isinstance(raised.value, DatabaseConnectionError)  # existing handlers still catch it
    (stats,) = InfrastructureService.get_database_stats()
    assert stats.checked_out == 0


def test_a_plain_commit_cut_off_says_the_outcome_is_unknown(postgres_url: str, table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with PostgresProxy(postgres_url) as proxy:
        through(proxy, monkeypatch)
        db = InfrastructureService.get_database_session()
        try:
            db.execute(text(f"INSERT INTO {table} (note) VALUES ('once')"))
            proxy.cut_at_next_commit(forward=True)
            with pytest.raises(DatabaseCommitUnknownError):
                db.commit()
        finally:
            db.close()
    assert rows(postgres_url, table) == 1


def test_run_in_transaction_does_not_run_again_a_transaction_that_may_have_committed(
    postgres_url: str, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def fn(db: DatabaseSession) -> None:
        calls.append(1)
        db.execute(text(f"INSERT INTO {table} (note) VALUES ('once')"))
        if len(calls) == 1:
            proxy.cut_at_next_commit(forward=True)

    with PostgresProxy(postgres_url) as proxy:
        through(proxy, monkeypatch)
        with pytest.raises(DatabaseCommitUnknownError):
            InfrastructureService.run_in_transaction(fn, retries=3)
    assert calls == [1]
    assert rows(postgres_url, table) == 1  # it had committed: a rerun would have made a duplicate


def test_the_session_works_again_after_an_unknown_commit(postgres_url: str, table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with PostgresProxy(postgres_url) as proxy:
        through(proxy, monkeypatch)
        with pytest.raises(DatabaseCommitUnknownError):
            with InfrastructureService.get_database_session() as db:
                db.execute(text(f"INSERT INTO {table} (note) VALUES ('first')"))
                proxy.cut_at_next_commit(forward=False)
        # The idempotent way to finish the job: check first, then write.
        def finish(db: DatabaseSession) -> None:
            if not db.execute(text(f"SELECT 1 FROM {table} WHERE note = 'first'")).first():
                db.execute(text(f"INSERT INTO {table} (note) VALUES ('first')"))

        InfrastructureService.run_in_transaction(finish)
    assert rows(postgres_url, table) == 1
