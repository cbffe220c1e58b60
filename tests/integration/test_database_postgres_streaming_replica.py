"""Read replicas for real: a private PostgreSQL primary and a hot standby streaming its WAL (``pg_basebackup -R``).

Both run on 127.0.0.1 on ports of their own in a scratch folder, and are stopped by their pids at
the end; the shared PostgreSQL is not touched. ``pg_is_in_recovery()`` tells which server a session
reached (true on the standby only). Replication lag is made as long as a test needs by pausing WAL
replay on the standby (``pg_wal_replay_pause()``): the standby receives the primary's writes and
shows none of them until replay resumes. What holds:

- the lag is real: right after a commit on the primary, the standby does not have the row;
- read your writes: a read-only session of the writing thread, or of the write's consistency key on
  any thread, goes to the primary and sees the row; another key's read goes to the standby, which does
  not have it yet; once ``DB_READ_YOUR_WRITES_SECONDS`` have passed, reads go back to the standby;
- a stopped standby: read-only sessions fall back to the primary, with one warning;
- the standby is read-only: a write on a replica session is a ``DatabaseReadOnlyError``, and even a
  transaction that asks to be read-write is refused by the server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import DatabaseError, DatabaseReadOnlyError, DatabaseSession, InfrastructureService
from tests.integration.postgres_scratch import unique_name, use_postgres
from tests.integration.private_postgres import PrivatePostgres, PrivateStandby
from tests.threads import on_another_thread

session = InfrastructureService.get_database_session
ROUTING_LOGGER = "modules.infrastructure.infrastructure.database.database"


@dataclass(frozen=True)
class Replication:
    primary: PrivatePostgres
    standby: PrivateStandby
    table: str


@pytest.fixture(scope="module")
def primary() -> Iterator[PrivatePostgres]:
    with PrivatePostgres() as server:
        yield server


@pytest.fixture
def replication(primary: PrivatePostgres) -> Iterator[Replication]:
    """A fresh standby of the primary (so a test may pause or stop it), with a table of notes on both."""
    table = unique_name("notes")
    with PrivateStandby(primary) as standby:
        standby.primary_query(f"CREATE TABLE {table} (id serial PRIMARY KEY, body text NOT NULL)")
        assert standby.caught_up(), "the standby did not replay the CREATE TABLE"
        try:
            yield Replication(primary, standby, table)
        finally:
            InfrastructureService.reset()  # no facade connection outlives the standby


def configure(monkeypatch: pytest.MonkeyPatch, replication: Replication, seconds: str = "30") -> None:
    use_postgres(
        monkeypatch, replication.primary.url,
        DATABASE_REPLICA_URLS=replication.standby.url, DB_READ_YOUR_WRITES_SECONDS=seconds, DB_CONNECT_TIMEOUT="2",
    )


@dataclass(frozen=True)
class Read:
    on_standby: bool
    notes: int


def read(replication: Replication, consistency_key: str | None = None) -> Read:
    """Where a read-only session went and how many notes it saw there."""
    with session(read_only=True, consistency_key=consistency_key) as db:
        on_standby = db.execute(text("SELECT pg_is_in_recovery()")).scalar_one()
        notes = db.execute(text(f"SELECT count(*) FROM {replication.table}")).scalar_one()
        return Read(bool(on_standby), int(notes))


def write_note(replication: Replication, consistency_key: str | None = None) -> None:
    with session(consistency_key=consistency_key) as db:
        db.execute(text(f"INSERT INTO {replication.table} (body) VALUES ('hello')"))


def test_before_any_write_reads_go_to_the_standby(clean_env: Path, monkeypatch: pytest.MonkeyPatch, replication: Replication) -> None:
    configure(monkeypatch, replication)
    assert read(replication) == Read(on_standby=True, notes=0)


def test_reads_right_after_a_write_see_it_on_the_primary_while_the_lagging_standby_does_not_have_it(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, replication: Replication
) -> None:
    configure(monkeypatch, replication)
    replication.standby.pause_replay()

    write_note(replication, consistency_key="user-1")

    # The lag is real: the standby has received nothing it shows.
    assert replication.standby.query(f"SELECT count(*) FROM {replication.table}") == 0
    assert replication.standby.primary_query(f"SELECT count(*) FROM {replication.table}") == 1
    # Read your writes: the writing thread, and the write's key on any thread, read on the primary.
    assert read(replication) == Read(on_standby=False, notes=1)
    assert on_another_thread(lambda: read(replication, "user-1")) == Read(on_standby=False, notes=1)
    # Anyone else reads on the standby, which does not have the row yet.
    assert on_another_thread(lambda: read(replication, "user-2")) == Read(on_standby=True, notes=0)
    assert on_another_thread(lambda: read(replication)) == Read(on_standby=True, notes=0)
    assert read(replication, "user-2") == Read(on_standby=True, notes=0)  # a key is the scope of its read, even here

    replication.standby.resume_replay()
    assert replication.standby.caught_up()
    assert on_another_thread(lambda: read(replication, "user-2")) == Read(on_standby=True, notes=1)


def test_after_the_window_reads_go_back_to_the_standby(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, replication: Replication
) -> None:
    configure(monkeypatch, replication, seconds="1")
    replication.standby.pause_replay()

    write_note(replication)
    assert read(replication) == Read(on_standby=False, notes=1)
    time.sleep(1.1)
    assert read(replication) == Read(on_standby=True, notes=0)  # back on the standby, still lagging (replay paused)


def test_run_in_transaction_and_publish_event_count_as_writes(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, replication: Replication
) -> None:
    configure(monkeypatch, replication)
    InfrastructureService.migrate()
    assert replication.standby.caught_up()
    replication.standby.pause_replay()

    def add(db: DatabaseSession) -> None:
        db.execute(text(f"INSERT INTO {replication.table} (body) VALUES ('in a transaction')"))

    on_another_thread(lambda: InfrastructureService.run_in_transaction(add, consistency_key="user-3"))
    assert read(replication, "user-3") == Read(on_standby=False, notes=1)
    assert read(replication) == Read(on_standby=True, notes=0)

    def publish() -> Read:
        InfrastructureService.publish_event("lessons", {"id": 1}, event_type="lesson.created", source="lessons")
        return read(replication)

    assert on_another_thread(publish) == Read(on_standby=False, notes=1)


def test_a_stopped_standby_sends_reads_to_the_primary(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, replication: Replication, caplog: pytest.LogCaptureFixture
) -> None:
    configure(monkeypatch, replication, seconds="0")
    assert read(replication).on_standby  # the pool now holds a connection to the standby

    replication.standby.stop()
    with caplog.at_level(logging.WARNING, logger=ROUTING_LOGGER):
        reads = [read(replication) for _ in range(3)]

    assert reads == [Read(on_standby=False, notes=0)] * 3
    warnings = [r.getMessage() for r in caplog.records if r.name == ROUTING_LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "replica-1 unreachable" in warnings[0] and "using the primary" in warnings[0], warnings


def test_the_standby_is_read_only(clean_env: Path, monkeypatch: pytest.MonkeyPatch, replication: Replication) -> None:
    configure(monkeypatch, replication)

    with pytest.raises(DatabaseReadOnlyError, match="read-only transaction"):
        with session(read_only=True) as db:
            assert db.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
            db.execute(text(f"INSERT INTO {replication.table} (body) VALUES ('refused')"))

    # Not only the session's flag: the standby itself refuses a read-write transaction.
    with pytest.raises(DatabaseError, match="during recovery") as raised:
        with session(read_only=True) as db:
            db.execute(text("COMMIT"))  # end the read-only transaction the session opened
            db.execute(text("BEGIN READ WRITE"))
    assert "replica-1" in str(raised.value)  # 0A000 on the standby: the server's own refusal, named

    assert replication.standby.primary_query(f"SELECT count(*) FROM {replication.table}") == 0
