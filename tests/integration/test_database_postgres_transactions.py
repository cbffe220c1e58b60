"""``run_in_transaction`` on the real PostgreSQL: real serialization failures, deadlocks and lost connections.

Two threads run conflicting transactions at the same time; a ``threading.Barrier`` on the
first attempt makes sure they really overlap, so the server itself raises SQLSTATE 40001
(or 40P01) and the facade has to run the loser again.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import (
    DatabaseConflictError,
    DatabaseIntegrityError,
    DatabaseSession,
    InfrastructureService,
)
from tests.integration.postgres_scratch import scalar, scratch_table, terminate_backend, use_postgres

JOIN_SECONDS = 20


@pytest.fixture
def postgres(clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> str:
    use_postgres(monkeypatch, postgres_url, DB_POOL_SIZE="4", DB_POOL_TIMEOUT="10")
    return postgres_url


@pytest.fixture
def ledger(postgres: str) -> Iterator[str]:
    """A table holding one row of amount 1."""
    with scratch_table(postgres, "id serial PRIMARY KEY, amount integer NOT NULL", prefix="infra_ledger") as table:
        scalar(postgres, f"INSERT INTO {table} (amount) VALUES (1) RETURNING id")
        yield table


def run_concurrently(
    work: Callable[[str], Any], names: tuple[str, ...]
) -> tuple[dict[str, Any], dict[str, BaseException]]:
    """``work(name)`` in one thread per name; the results and the exceptions, by name."""
    results: dict[str, Any] = {}
    errors: dict[str, BaseException] = {}

    def target(name: str) -> None:
        try:
            results[name] = work(name)
        except BaseException as exc:  # reported by the caller
            errors[name] = exc

    threads = [threading.Thread(target=target, args=(name,), name=name) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert not [t.name for t in threads if t.is_alive()], f"transactions still running after {JOIN_SECONDS} s"
    return results, errors


def write_skew(
    table: str, attempts: Counter[str], barrier: threading.Barrier
) -> Callable[[str], Callable[[DatabaseSession], int]]:
    """The classic SERIALIZABLE conflict: read the sum of ``table``, then insert a row holding it.

    Run serially, two of these double the total (1 -> 1, 1, 2); run interleaved without
    serializable isolation, both would insert 1. The barrier holds the first attempt of each
    until both have read.
    """

    def for_thread(name: str) -> Callable[[DatabaseSession], int]:
        def fn(db: DatabaseSession) -> int:
            attempts[name] += 1
            db.execute(text("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"))
            total = db.execute(text(f"SELECT sum(amount) FROM {table}")).scalar_one()
            if attempts[name] == 1:
                barrier.wait()
            db.execute(text(f"INSERT INTO {table} (amount) VALUES (:total)"), {"total": total})
            return total

        return fn

    return for_thread


def amounts(url: str, table: str) -> list[int]:
    return sorted(scalar(url, f"SELECT array_agg(amount) FROM {table}") or [])


def test_a_real_serialization_failure_is_retried_until_both_transactions_commit(
    postgres: str, ledger: str, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: Counter[str] = Counter()
    fn_for = write_skew(ledger, attempts, threading.Barrier(2, timeout=10))

    with caplog.at_level(logging.WARNING):
        results, errors = run_concurrently(
            lambda name: InfrastructureService.run_in_transaction(fn_for(name), retries=5), ("first", "second")
        )

    assert errors == {}
    assert sorted(results.values()) == [1, 2]  # one read the original total, the other the committed one
    assert max(attempts.values()) >= 2, f"no transaction was run again: {dict(attempts)}"
    assert amounts(postgres, ledger) == [1, 1, 2]  # serial outcome: the total doubled
    assert "retrying" in caplog.text
    (stats,) = InfrastructureService.get_database_stats()
    assert stats.checked_out == 0


def test_without_retries_the_serialization_failure_surfaces_as_a_conflict_error(postgres: str, ledger: str) -> None:
    attempts: Counter[str] = Counter()
    fn_for = write_skew(ledger, attempts, threading.Barrier(2, timeout=10))

    results, errors = run_concurrently(
        lambda name: InfrastructureService.run_in_transaction(fn_for(name), retries=0), ("first", "second")
    )

    assert list(results.values()) == [1], f"results {results}, errors {errors}"
    (error,) = errors.values()
    assert type(error) is DatabaseConflictError, repr(error)
    assert "run it again" in str(error)
    assert isinstance(error.__cause__, psycopg2.Error)  # chained to the driver's error
    assert error.__cause__.pgcode == "40001"  # serialization_failure
    assert dict(attempts) == {"first": 1, "second": 1}
    assert amounts(postgres, ledger) == [1, 1]  # the loser left nothing behind


def test_a_real_deadlock_is_retried_until_both_transactions_commit(postgres: str) -> None:
    with scratch_table(postgres, "id integer PRIMARY KEY, touched integer NOT NULL DEFAULT 0") as table:
        scalar(postgres, f"INSERT INTO {table} (id) VALUES (1), (2) RETURNING 1")
        attempts: Counter[str] = Counter()
        barrier = threading.Barrier(2, timeout=10)
        order = {"forward": (1, 2), "backward": (2, 1)}

        def work(name: str) -> str:
            def fn(db: DatabaseSession) -> str:
                attempts[name] += 1
                first, second = order[name]
                db.execute(text(f"UPDATE {table} SET touched = touched + 1 WHERE id = :id"), {"id": first})
                if attempts[name] == 1:
                    barrier.wait()  # each now holds the row the other wants next
                db.execute(text(f"UPDATE {table} SET touched = touched + 1 WHERE id = :id"), {"id": second})
                return name

            return InfrastructureService.run_in_transaction(fn, retries=3)

        results, errors = run_concurrently(work, tuple(order))

        assert errors == {}
        assert results == {"forward": "forward", "backward": "backward"}
        assert sorted(attempts.values()) == [1, 2], dict(attempts)  # the deadlock victim ran again
        assert scalar(postgres, f"SELECT array_agg(touched ORDER BY id) FROM {table}") == [2, 2]


def test_a_connection_lost_before_commit_is_retried_on_a_new_connection(postgres: str) -> None:
    with scratch_table(postgres, "id serial PRIMARY KEY, attempt integer NOT NULL") as table:
        pids: list[int] = []

        def fn(db: DatabaseSession) -> int:
            pid = db.execute(text("SELECT pg_backend_pid()")).scalar_one()
            pids.append(pid)
            if len(pids) == 1:
                terminate_backend(postgres, pid)  # the server drops us mid-transaction
            db.execute(text(f"INSERT INTO {table} (attempt) VALUES (:n)"), {"n": len(pids)})
            return pid

        result = InfrastructureService.run_in_transaction(fn, retries=2)

        assert len(pids) == 2 and pids[0] != pids[1]
        assert result == pids[1]
        assert scalar(postgres, f"SELECT array_agg(attempt) FROM {table}") == [2]


def test_a_non_retryable_error_propagates_at_once(postgres: str) -> None:
    with scratch_table(postgres, "id integer PRIMARY KEY") as table:
        calls = []

        def fn(db: DatabaseSession) -> None:
            calls.append(1)
            db.execute(text(f"INSERT INTO {table} VALUES (1), (1)"))

        with pytest.raises(DatabaseIntegrityError):
            InfrastructureService.run_in_transaction(fn, retries=3)
        assert len(calls) == 1
        assert scalar(postgres, f"SELECT count(*) FROM {table}") == 0
