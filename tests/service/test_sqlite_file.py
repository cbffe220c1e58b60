"""The embedded SQLite file: created private to its user, and no session waits past DB_POOL_TIMEOUT.

SQLite takes one writer at a time. With 64 threads writing, a session waits for a pooled
connection (bounded by ``DB_POOL_TIMEOUT``, as on PostgreSQL) and then for the write lock,
which is SQLite's busy timeout, now ``DB_POOL_TIMEOUT`` too (it was sqlite3's default 5 s).
A session that waits longer fails with an error naming ``DB_POOL_TIMEOUT``.
"""

from __future__ import annotations

import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import (
    DatabaseConflictError,
    DatabaseError,
    DatabasePoolExhaustedError,
    InfrastructureService,
)

THREADS = 64
POOL_TIMEOUT = 1.0
HOLD = 0.1  # seconds each writer keeps the write lock: 64 of them need 6.4 s, far past the timeout
SLACK = 1.5  # scheduling on a busy machine; the old busy timeout alone was 5 s


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def use_sqlite(monkeypatch: pytest.MonkeyPatch, path: Path, **settings: str) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    InfrastructureService.reset()


# --- the file is private -------------------------------------------------------------------------


def test_a_new_database_file_and_its_new_folders_are_private(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = clean_env / "var" / "data" / "app.db"
    use_sqlite(monkeypatch, database)
    with InfrastructureService.get_database_session() as db:
        db.execute(text("CREATE TABLE notes (body text)"))
        db.execute(text("INSERT INTO notes VALUES ('secret')"))
    assert mode(clean_env / "var") == mode(clean_env / "var" / "data") == 0o700
    assert mode(database) == 0o600
    sidecars = [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm")]
    assert all(mode(path) == 0o600 for path in sidecars if path.exists())
    assert any(path.exists() for path in sidecars)  # WAL mode made them, with the file's mode


def test_an_existing_file_and_folder_keep_their_modes(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = clean_env / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    database = folder / "app.db"
    database.touch()
    database.chmod(0o640)
    use_sqlite(monkeypatch, database)
    with InfrastructureService.get_database_session() as db:
        db.execute(text("SELECT 1"))
    assert (mode(folder), mode(database)) == (0o755, 0o640)


# --- no session waits past DB_POOL_TIMEOUT ---------------------------------------------------------


def run_writers(count: int, hold: float = HOLD) -> list[tuple[float, BaseException | None]]:
    """``count`` threads, each writing one row and holding the write lock for ``hold`` s; (seconds, error) of each."""
    results: list[tuple[float, BaseException | None]] = []
    start = threading.Barrier(count)

    def write() -> None:
        start.wait()
        began = time.monotonic()
        error: BaseException | None = None
        try:
            with InfrastructureService.get_database_session() as db:
                db.execute(text("INSERT INTO writes (at) VALUES (:at)"), {"at": began})
                time.sleep(hold)
        except DatabaseError as exc:
            error = exc
        results.append((time.monotonic() - began, error))

    threads = [threading.Thread(target=write) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == count, "writers still running after 60 s"
    return results


@pytest.fixture
def writes_table(clean_env: Path) -> Callable[..., None]:
    def create(monkeypatch: pytest.MonkeyPatch, **settings: str) -> None:
        use_sqlite(monkeypatch, clean_env / "busy.db", DB_POOL_TIMEOUT=f"{POOL_TIMEOUT:g}", **settings)
        with InfrastructureService.get_database_session() as db:
            db.execute(text("CREATE TABLE writes (at real)"))

    return create


def test_the_busy_timeout_is_db_pool_timeout(writes_table: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> None:
    writes_table(monkeypatch)
    with InfrastructureService.get_database_session() as db:
        assert db.execute(text("PRAGMA busy_timeout")).scalar_one() == POOL_TIMEOUT * 1000


def test_a_writer_waiting_past_db_pool_timeout_for_the_write_lock_fails_naming_it(
    writes_table: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A connection for every thread: every wait is a wait for SQLite's write lock.
    writes_table(monkeypatch, DB_POOL_SIZE=str(THREADS), DB_MAX_OVERFLOW="0")
    results = run_writers(THREADS)
    errors = [error for _, error in results if error is not None]
    assert errors and len(errors) < THREADS  # some wrote, the rest gave up
    assert all(type(error) is DatabaseConflictError for error in errors), {type(e).__name__ for e in errors}
    assert all(f"DB_POOL_TIMEOUT ({POOL_TIMEOUT:g} s)" in str(error) for error in errors)
    longest = max(seconds for seconds, _ in results)
    assert longest < POOL_TIMEOUT + HOLD + SLACK, f"a session took {longest:.2f} s"
    with InfrastructureService.get_database_session() as db:
        assert db.execute(text("SELECT count(*) FROM writes")).scalar_one() == THREADS - len(errors)


def test_with_the_default_pool_a_session_waits_at_most_db_pool_timeout_for_each_of_connection_and_lock(
    writes_table: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    writes_table(monkeypatch)  # 5 + 10 connections for 64 threads
    hold = 0.4  # the 15 connections queue 6 s of writes: more than the old 5 s busy timeout
    results = run_writers(THREADS, hold)
    errors = [error for _, error in results if error is not None]
    assert {type(e) for e in errors} == {DatabaseConflictError, DatabasePoolExhaustedError}
    assert all("DB_POOL_TIMEOUT" in str(error) for error in errors)
    longest = max(seconds for seconds, _ in results)
    assert longest < 2 * POOL_TIMEOUT + hold + SLACK, f"a session took {longest:.2f} s"
