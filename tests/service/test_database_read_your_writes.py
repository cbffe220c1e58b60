"""Read your writes on SQLite files: the primary and a "replica" that never receives the primary's rows.

The replica file is a separate database, so a read that reaches it cannot see a row just written
on the primary: which database a read-only session reached shows in what it sees.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import Integer, String, insert, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from modules.infrastructure.module_api import DatabaseSession, InfrastructureService, InvalidArgumentError
from tests.threads import on_another_thread

session = InfrastructureService.get_database_session


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[str] = mapped_column(String(50))


@pytest.fixture
def databases(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A primary and a replica file, each with an empty ``note`` table; reads remember writes for 30 s."""
    for name in ("replica", "primary"):
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / name}.db")
        InfrastructureService.reset()
        with session() as db:
            db.execute(text("CREATE TABLE note (id integer primary key, body text)"))
    configure(monkeypatch, clean_env)
    return clean_env


def configure(monkeypatch: pytest.MonkeyPatch, folder: Path, seconds: str = "30") -> None:
    monkeypatch.setenv("DATABASE_REPLICA_URLS", f"sqlite:///{folder / 'replica'}.db")
    monkeypatch.setenv("DB_READ_YOUR_WRITES_SECONDS", seconds)
    InfrastructureService.reset()


def notes(consistency_key: str | int | None = None) -> int:
    """How many notes a read-only session sees: 0 on the replica, the rows written on the primary."""
    with session(read_only=True, consistency_key=consistency_key) as db:
        return int(db.execute(text("SELECT count(*) FROM note")).scalar_one())


def write(consistency_key: str | int | None = None) -> None:
    with session(consistency_key=consistency_key) as db:
        db.execute(text("INSERT INTO note (body) VALUES ('hello')"))


def test_reads_go_to_the_replica_until_the_thread_writes_then_to_the_primary(databases: Path) -> None:
    assert notes() == 0
    write()
    assert notes() == 1  # this thread wrote: the primary, which has the row
    assert on_another_thread(notes) == 0  # another thread: the replica


def test_a_key_given_to_the_write_sends_that_key_s_reads_to_the_primary_on_any_thread(databases: Path) -> None:
    write(consistency_key="user-7")
    assert on_another_thread(lambda: notes("user-7")) == 1
    assert on_another_thread(lambda: notes(7)) == 0  # another key: the replica
    assert notes("user-8") == 0  # a key is the scope of its read, even on the thread that wrote
    assert notes() == 1  # the writing thread without a key: the primary


def test_an_int_key_and_its_text_are_one_key(databases: Path) -> None:
    write(consistency_key=42)
    assert on_another_thread(lambda: notes("42")) == 1


def test_after_the_window_reads_go_back_to_the_replica(databases: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, databases, seconds="0.3")
    write()
    assert notes() == 1
    time.sleep(0.35)
    assert notes() == 0


def test_a_window_of_zero_turns_it_off(databases: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, databases, seconds="0")
    write()
    assert notes() == 0


def test_a_session_that_only_read_or_rolled_back_is_no_write(databases: Path) -> None:
    with session() as db:
        db.execute(text("SELECT count(*) FROM note"))
        db.execute(text("WITH n AS (SELECT 1) SELECT * FROM n"))
    with pytest.raises(RuntimeError):
        with session() as db:
            db.execute(text("INSERT INTO note (body) VALUES ('dropped')"))
            raise RuntimeError("changed my mind")
    db = session()
    db.execute(text("INSERT INTO note (body) VALUES ('dropped')"))
    db.rollback()
    db.commit()
    db.close()
    assert notes() == 0


def test_an_orm_flush_counts_as_a_write(databases: Path) -> None:
    with session() as db:
        db.add(Note(body="hello"))
    assert notes() == 1


def test_core_dml_through_execute_counts_as_a_write(databases: Path) -> None:
    with session() as db:
        db.execute(insert(Note).values(body="hello"))
    assert notes() == 1


def test_a_session_committing_several_times_counts_each_write(databases: Path) -> None:
    db = session(consistency_key="k")
    db.execute(text("SELECT 1"))
    db.commit()
    assert on_another_thread(lambda: notes("k")) == 0
    db.execute(text("INSERT INTO note (body) VALUES ('second')"))
    db.commit()
    db.close()
    assert on_another_thread(lambda: notes("k")) == 1


def test_run_in_transaction_counts_as_a_write_once_committed_even_when_it_only_read(databases: Path) -> None:
    with sqlite3.connect(databases / "primary.db") as primary:  # a row the facade did not write: no write noted
        primary.execute("INSERT INTO note (body) VALUES ('outside')")
    assert on_another_thread(lambda: notes("k")) == 0
    InfrastructureService.run_in_transaction(lambda db: db.execute(text("SELECT 1")).scalar_one(), consistency_key="k")
    assert on_another_thread(lambda: notes("k")) == 1
    assert on_another_thread(lambda: notes("other")) == 0


def test_a_failed_run_in_transaction_is_no_write(databases: Path) -> None:
    def fail(db: DatabaseSession) -> None:
        db.execute(text("INSERT INTO note (body) VALUES ('dropped')"))
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        InfrastructureService.run_in_transaction(fail, consistency_key="k")
    with sqlite3.connect(databases / "primary.db") as primary:
        primary.execute("INSERT INTO note (body) VALUES ('outside')")
    assert on_another_thread(lambda: notes("k")) == 0 and notes() == 0


def test_publish_event_counts_as_a_write(databases: Path) -> None:
    InfrastructureService.migrate()
    on_another_thread(lambda: InfrastructureService.publish_event("lessons", {"id": 1}, event_type="lesson.created", source="lessons"))
    with session(read_only=True) as db:  # this thread published nothing: the replica, which has no outbox table
        assert db.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'infrastructure_outbox'")).scalar_one() == 0
    InfrastructureService.publish_event("lessons", {"id": 1}, event_type="lesson.created", source="lessons")
    with session(read_only=True) as db:
        assert db.execute(text("SELECT count(*) FROM infrastructure_outbox")).scalar_one() == 2


def test_publish_event_in_the_caller_s_session_counts_for_its_key(databases: Path) -> None:
    InfrastructureService.migrate()
    with session(consistency_key="user-7") as db:
        InfrastructureService.publish_event("lessons", {"id": 1}, event_type="lesson.created", source="lessons", session=db)
    assert on_another_thread(lambda: notes("user-7")) == 0  # the primary (no note written)...
    with session(read_only=True, consistency_key="user-7") as db:
        assert db.execute(text("SELECT count(*) FROM infrastructure_outbox")).scalar_one() == 1  # ...which has the outbox row


@pytest.mark.parametrize("key", ["", True, 1.5, "x" * 201])
def test_a_bad_consistency_key_is_refused_by_name(databases: Path, key: object) -> None:
    with pytest.raises(InvalidArgumentError, match="consistency_key takes"):
        session(read_only=True, consistency_key=key)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="consistency_key takes"):
        InfrastructureService.run_in_transaction(lambda db: None, consistency_key=key)  # type: ignore[arg-type]


def test_without_replicas_a_key_is_still_checked_and_every_session_is_on_the_primary(clean_env: Path) -> None:
    with session(consistency_key="user-7") as db:
        db.execute(text("CREATE TABLE note (id integer primary key, body text)"))
        db.execute(text("INSERT INTO note (body) VALUES ('hello')"))
    assert on_another_thread(lambda: notes("someone-else")) == 1
    with pytest.raises(InvalidArgumentError):
        session(consistency_key="")


def test_sessions_carry_the_write_listeners_only_while_the_feature_is_on(databases: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with session() as db:
        assert len(db.session.dispatch.do_orm_execute) == 1
    configure(monkeypatch, databases, seconds="0")
    with session() as db:
        assert len(db.session.dispatch.do_orm_execute) == 0  # no statement pays for a listener that would do nothing
    monkeypatch.delenv("DATABASE_REPLICA_URLS")
    monkeypatch.setenv("DB_READ_YOUR_WRITES_SECONDS", "30")
    InfrastructureService.reset()
    with session() as db:
        assert len(db.session.dispatch.do_orm_execute) == 0
