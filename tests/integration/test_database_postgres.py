"""Facade sessions on the real PostgreSQL: round trips, rollback, connection settings, the pool, error mapping.

Replica routing, transactions with retry, Alembic and a server restart have files of their own
(``test_database_postgres_*.py``). Every test points the facade at ``postgres_url`` through the
environment (``clean_env`` + ``use_postgres``) and uses only ``InfrastructureService``.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from modules.infrastructure.module_api import (
    DatabaseConflictError,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabasePoolExhaustedError,
    DatabaseQueryError,
    DatabaseReadOnlyError,
    DatabaseStatementTimeoutError,
    InfrastructureService,
)
from tests.integration.postgres_scratch import (
    scalar,
    scratch_table,
    terminate_backend,
    unique_name,
    use_postgres,
)

session = InfrastructureService.get_database_session


@pytest.fixture
def postgres(clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> str:
    """The facade on the test PostgreSQL with default settings; returns the URL."""
    use_postgres(monkeypatch, postgres_url)
    return postgres_url


def backend_pid(db) -> int:
    return db.execute(text("SELECT pg_backend_pid()")).scalar_one()


def count_rows(url: str, table: str) -> int:
    return int(scalar(url, f"SELECT count(*) FROM {table}"))


# --- round trips and transactions -------------------------------------------------------------


def test_select_1_on_a_connection_named_after_its_server_backend(postgres: str) -> None:
    with session() as db:
        assert db.execute(text("SELECT 1")).scalar_one() == 1
        pid = backend_pid(db)
        assert re.fullmatch(r"primary/pid-\d+", db.connection_id), db.connection_id
        assert db.connection_id == f"primary/pid-{pid}"


def test_the_plain_style_works_and_returns_the_connection(postgres: str) -> None:
    db = session()
    try:
        assert db.execute(text("SELECT 1")).scalar() == 1
        db.commit()
    finally:
        db.close()
    (stats,) = InfrastructureService.get_database_stats()
    assert (stats.label, stats.checked_out, stats.checked_in) == ("primary", 0, 1)


def test_the_block_commits_on_success(postgres: str) -> None:
    with scratch_table(postgres, "id serial PRIMARY KEY, note text NOT NULL") as table:
        with session() as db:
            db.execute(text(f"INSERT INTO {table} (note) VALUES ('kept')"))
        assert count_rows(postgres, table) == 1


def test_an_exception_in_the_block_rolls_back_and_propagates_unchanged(postgres: str) -> None:
    with scratch_table(postgres, "id serial PRIMARY KEY, note text NOT NULL") as table:
        with pytest.raises(RuntimeError, match="business rule"):
            with session() as db:
                db.execute(text(f"INSERT INTO {table} (note) VALUES ('lost')"))
                assert db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 1  # visible inside
                raise RuntimeError("business rule failed")
        assert count_rows(postgres, table) == 0
        (stats,) = InfrastructureService.get_database_stats()
        assert stats.checked_out == 0


def test_a_failed_statement_rolls_back_the_whole_block(postgres: str) -> None:
    with scratch_table(postgres, "id integer PRIMARY KEY") as table:
        with pytest.raises(DatabaseIntegrityError):
            with session() as db:
                db.execute(text(f"INSERT INTO {table} VALUES (1)"))
                db.execute(text(f"INSERT INTO {table} VALUES (1)"))
        assert count_rows(postgres, table) == 0
        with session() as db:  # the pooled connection is clean again
            db.execute(text(f"INSERT INTO {table} VALUES (2)"))
        assert count_rows(postgres, table) == 1


# --- connection settings ----------------------------------------------------------------------


def test_application_name_is_visible_in_pg_stat_activity(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    name = unique_name("infra-test-app")
    use_postgres(monkeypatch, postgres_url, DB_APPLICATION_NAME=name)
    with session() as db:
        pid = backend_pid(db)
        assert db.execute(text("SHOW application_name")).scalar_one() == name
        # Seen from another connection, as an operator would see it.
        seen = scalar(postgres_url, "SELECT application_name FROM pg_stat_activity WHERE pid = :pid", pid=pid)
    assert seen == name


def test_without_a_statement_timeout_setting_the_server_default_applies(postgres: str) -> None:
    with session() as db:
        assert db.execute(text("SHOW statement_timeout")).scalar_one() == "0"


def test_a_statement_over_the_statement_timeout_fails_fast_as_a_database_error(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    use_postgres(monkeypatch, postgres_url, DB_STATEMENT_TIMEOUT_MS="100")
    with session() as db:
        assert db.execute(text("SHOW statement_timeout")).scalar_one() == "100ms"

    started = time.perf_counter()
    with pytest.raises(DatabaseError) as raised:
        with session() as db:
            db.execute(text("SELECT pg_sleep(1)"))
    elapsed = time.perf_counter() - started

    assert elapsed < 0.9, f"the 100 ms statement timeout took {elapsed:.2f} s"
    error = raised.value
    # SQLSTATE 57014 query_canceled has a class of its own. It must not look like a lost connection
    # or a conflict: neither is true, and a retry loop would run the slow statement again.
    assert type(error) is DatabaseStatementTimeoutError
    assert not isinstance(error, (DatabaseConnectionError, DatabaseConflictError, DatabasePoolExhaustedError))
    assert "statement timeout" in str(error) and "DB_STATEMENT_TIMEOUT_MS (100 ms)" in str(error)
    assert isinstance(error.__cause__, psycopg2.errors.QueryCanceled)  # chained to the driver's error
    assert error.__cause__.pgcode == "57014"
    with session() as db:  # the connection survived the cancelled statement
        assert db.execute(text("SELECT 1")).scalar_one() == 1


# --- the pool ---------------------------------------------------------------------------------


def test_32_threads_x_100_sessions_share_a_pool_of_5_plus_5_and_return_every_connection(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    name = unique_name("infra-test-pool")
    use_postgres(
        monkeypatch,
        postgres_url,
        DB_POOL_SIZE="5",
        DB_MAX_OVERFLOW="5",
        DB_POOL_TIMEOUT="30",
        DB_APPLICATION_NAME=name,
    )
    threads_count, sessions_each = 32, 100
    start = threading.Barrier(threads_count, timeout=10)
    errors: list[BaseException] = []
    connection_ids: set[str] = set()
    completed = [0]
    lock = threading.Lock()

    def work() -> None:
        try:
            start.wait()
            for _ in range(sessions_each):
                with session() as db:
                    assert db.execute(text("SELECT 1")).scalar_one() == 1
                    with lock:
                        connection_ids.add(db.connection_id)
                        completed[0] += 1
        except BaseException as exc:  # collected and asserted below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=work, name=f"pool-{n}") for n in range(threads_count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not [t.name for t in threads if t.is_alive()], "threads still running after 60 s"

    assert errors == [], f"{len(errors)} threads failed, first: {errors[:1]!r}"
    assert completed[0] == threads_count * sessions_each
    assert 1 <= len(connection_ids) <= 10  # never more connections than pool + overflow
    (stats,) = InfrastructureService.get_database_stats()
    assert stats.checked_out == 0
    assert stats.size == 5
    assert stats.max_overflow == 5
    assert stats.checked_in <= 10 and stats.overflow <= 5
    open_on_server = scalar(postgres_url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = :n", n=name)
    assert open_on_server == stats.checked_in  # kept only what the pool holds


def test_shutdown_closes_every_pooled_connection_on_the_server(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    name = unique_name("infra-test-close")
    use_postgres(monkeypatch, postgres_url, DB_APPLICATION_NAME=name)
    held = [session() for _ in range(3)]
    for db in held:
        db.close()
    count = "SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"
    assert scalar(postgres_url, count, n=name) == 3

    InfrastructureService.shutdown()

    deadline = time.monotonic() + 5
    while scalar(postgres_url, count, n=name):
        assert time.monotonic() < deadline, "server backends still open 5 s after shutdown()"
        time.sleep(0.05)


def test_pool_exhaustion_fails_within_the_timeout_naming_pool_size_overflow_and_timeout(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    use_postgres(monkeypatch, postgres_url, DB_POOL_SIZE="1", DB_MAX_OVERFLOW="0", DB_POOL_TIMEOUT="0.3")
    held = session()
    try:
        started = time.perf_counter()
        with pytest.raises(DatabasePoolExhaustedError) as raised:
            session()
        elapsed = time.perf_counter() - started
        (stats,) = InfrastructureService.get_database_stats()
        assert (stats.size, stats.checked_out, stats.checked_in) == (1, 1, 0)
    finally:
        held.close()

    assert 0.29 <= elapsed < 1.5, f"gave up after {elapsed:.2f} s, DB_POOL_TIMEOUT is 0.3 s"
    message = str(raised.value)
    for fact in ("'primary'", "pool size 1", "max overflow 0", "0.3 s", "may not be being closed"):
        assert fact in message, f"{fact!r} missing from: {message}"
    assert isinstance(raised.value.__cause__, sa_exc.TimeoutError)
    with session() as db:  # free again once the holder closed
        assert db.execute(text("SELECT 1")).scalar_one() == 1


# --- driver errors on the real server ---------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "expected", "pgcode"),
    [
        ("INSERT INTO {table} VALUES (1), (1)", DatabaseIntegrityError, "23505"),  # unique_violation
        ("INSERT INTO {table} VALUES (NULL)", DatabaseIntegrityError, "23502"),  # not_null_violation
        ("SELEC 1", DatabaseQueryError, "42601"),  # syntax_error
        ("SELECT no_such_column FROM {table}", DatabaseQueryError, "42703"),  # undefined_column
        ("SELECT 1 / 0", DatabaseQueryError, "22012"),  # division_by_zero (DataError)
    ],
    ids=["unique", "not-null", "syntax", "unknown-column", "division-by-zero"],
)
def test_server_errors_map_to_the_matching_database_error(
    postgres: str, statement: str, expected: type[DatabaseError], pgcode: str
) -> None:
    with scratch_table(postgres, "id integer PRIMARY KEY") as table:
        with pytest.raises(DatabaseError) as raised:
            with session() as db:
                db.execute(text(statement.format(table=table)))
    assert type(raised.value) is expected
    assert isinstance(raised.value.__cause__, psycopg2.Error)  # chained to the driver's error
    assert raised.value.__cause__.pgcode == pgcode


def test_a_refused_connection_is_a_connection_error_without_the_password(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = "pw-" + unique_name("secret")
    use_postgres(monkeypatch, f"postgresql://app:{password}@127.0.0.1:1/nowhere")
    started = time.perf_counter()
    with pytest.raises(DatabaseConnectionError) as raised:
        session()
    assert time.perf_counter() - started < 5
    assert password not in str(raised.value)
    assert "127.0.0.1" in str(raised.value)
    assert isinstance(raised.value.__cause__, psycopg2.OperationalError)


def test_a_connection_killed_under_an_open_block_raises_a_connection_error(postgres: str) -> None:
    with pytest.raises(DatabaseConnectionError) as raised:
        with session() as db:
            pid = backend_pid(db)
            terminate_backend(postgres, pid)
            db.execute(text("SELECT 1"))
    assert isinstance(raised.value.__cause__, psycopg2.OperationalError)  # chained to the driver's error

    (stats,) = InfrastructureService.get_database_stats()
    assert stats.checked_out == 0
    with session() as db:  # the pool replaced the dead connection
        assert backend_pid(db) != pid


def test_a_connection_killed_under_a_plain_session_raises_a_connection_error(postgres: str) -> None:
    db = session()
    try:
        terminate_backend(postgres, backend_pid(db))
        with pytest.raises(DatabaseConnectionError):
            db.execute(text("SELECT 1"))
    finally:
        db.close()


def test_an_insert_in_a_read_only_session_is_a_read_only_error(postgres: str) -> None:
    with scratch_table(postgres, "id integer PRIMARY KEY") as table:
        with pytest.raises(DatabaseReadOnlyError, match="read_only=True") as raised:
            with session(read_only=True) as db:
                db.execute(text(f"INSERT INTO {table} VALUES (1)"))
        assert raised.value.__cause__.pgcode == "25006"  # read_only_sql_transaction
        assert count_rows(postgres, table) == 0


def test_a_plain_session_maps_errors_of_query_methods(postgres: str) -> None:
    """Without ``with``: a ``Query`` runs its statement on the session itself, out of any wrapper's reach."""
    from sqlalchemy import Column, Integer, MetaData, Table

    missing = Table(unique_name("no_such_table"), MetaData(), Column("id", Integer, primary_key=True))
    db = session()
    try:
        with pytest.raises(DatabaseQueryError, match="does not exist") as raised:
            db.query(missing).all()
        assert raised.value.__cause__.pgcode == "42P01"  # undefined_table
        db.rollback()
        with pytest.raises(DatabaseQueryError):
            db.query(missing).count()
    finally:
        db.close()


def test_a_dead_idle_connection_is_replaced_by_the_pre_ping_without_an_error(postgres: str) -> None:
    """The error mapping stays out of the pool's pre-ping: a mapped error there would stop the reconnect."""
    with session() as db:
        pid = backend_pid(db)
    terminate_backend(postgres, pid)  # the connection now idles in the pool, dead
    with session() as db:
        assert backend_pid(db) != pid
