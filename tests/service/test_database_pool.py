"""The connection pool through the facade, on a SQLite file with a pool of one."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import DatabasePoolExhaustedError, InfrastructureService


@pytest.fixture(autouse=True)
def file_db_pool_of_one(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env}/pool.db")
    monkeypatch.setenv("DB_POOL_SIZE", "1")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "0")
    monkeypatch.setenv("DB_POOL_TIMEOUT", "0.2")
    InfrastructureService.reset()


def test_pool_stats_count_checked_out_connections() -> None:
    with InfrastructureService.get_database_session():
        (stats,) = InfrastructureService.get_database_stats()
        assert (stats.size, stats.checked_out, stats.checked_in, stats.overflow) == (1, 1, 0, 0)
    (stats,) = InfrastructureService.get_database_stats()
    assert (stats.checked_out, stats.checked_in) == (0, 1)


def test_pool_exhaustion_names_the_pool_and_the_likely_cause() -> None:
    held = InfrastructureService.get_database_session()
    started = time.perf_counter()
    try:
        with pytest.raises(DatabasePoolExhaustedError) as raised:
            InfrastructureService.get_database_session()
    finally:
        held.close()
    assert 0.15 < time.perf_counter() - started < 2
    message = str(raised.value)
    for fact in ("'primary'", "pool size 1", "max overflow 0", "0.2 s", "may not be being closed"):
        assert fact in message


def test_sessions_from_many_threads_share_the_pool_and_return_it() -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                with InfrastructureService.get_database_session() as db:
                    db.execute(text("SELECT 1"))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    InfrastructureService.reset()
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [type(e) for e in errors if not isinstance(e, DatabasePoolExhaustedError)] == []
    assert InfrastructureService.get_database_stats()[0].checked_out == 0


def _child_uses_the_database(queue: "multiprocessing.Queue[object]") -> None:
    try:
        with InfrastructureService.get_database_session() as db:
            queue.put((db.connection_id, db.execute(text("SELECT 1")).scalar()))
    except BaseException as exc:  # reported to the parent, which asserts on it
        queue.put(repr(exc))


def test_a_forked_child_opens_its_own_connections_and_leaves_the_parents_alone() -> None:
    with InfrastructureService.get_database_session() as db:
        parent_id = db.connection_id
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_uses_the_database, args=(queue,))
    child.start()
    child.join(20)
    child_id, value = queue.get(timeout=5)
    assert child.exitcode == 0 and value == 1
    assert child_id != parent_id, "the child must not reuse the parent's pooled connection"
    with InfrastructureService.get_database_session() as db:
        assert db.connection_id == parent_id
        assert db.execute(text("SELECT 1")).scalar() == 1
