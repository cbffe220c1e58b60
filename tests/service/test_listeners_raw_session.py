"""A handler that ends its transaction through the raw SQLAlchemy session (``db.session.commit()``, ...) must be
refused like ``db.commit()``: the transaction carries its record's completion and the other handlers of its batch.

Without the guard, ``db.session.commit()`` committed the batch's other handlers' work without their records
(their effect then ran twice), and ``db.session.rollback()`` undid it while their records completed (lost).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import DatabaseSession, Envelope, InfrastructureService, ListenerRetry
from tests.listener_support import migrated_sqlite

QUICK = ListenerRetry(base_seconds=0.001, factor=1.0, cap_seconds=0.001, attempts=3)


@pytest.fixture
def db_path(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return migrated_sqlite(clean_env, monkeypatch)


def writes(listener: str, then: Callable[[DatabaseSession], object] = lambda db: None) -> Callable[[Envelope, DatabaseSession], None]:
    def handler(event: Envelope, db: DatabaseSession) -> None:
        db.execute(text("INSERT INTO effects VALUES (:e, :l)"), {"e": event.id, "l": listener})
        then(db)

    return handler


def effects(db_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db_path) as connection:
        return sorted(connection.execute("SELECT event_id, listener FROM effects"))


ENDINGS: dict[str, Callable[[DatabaseSession], object]] = {
    "session.commit": lambda db: db.session.commit(),
    "session.rollback": lambda db: db.session.rollback(),
    "session.close": lambda db: db.session.close(),
    "connection.commit": lambda db: db.session.connection().commit(),
    "connection.rollback": lambda db: db.session.connection().rollback(),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_ending_the_transaction_through_the_raw_session_fails_the_attempt_and_leaves_the_batch_once(db_path: Path, ending: str) -> None:
    InfrastructureService.listen("content.created", writes("first"), module="analytics", name="first")
    InfrastructureService.listen("content.created", writes("ends", ENDINGS[ending]), module="learning", name="ends", retry=QUICK)
    event_id = InfrastructureService.publish_event("content.events", {"n": 1}, event_type="content.created", source="content")
    outcomes = {o.listener: o for o in InfrastructureService.run_listeners()}
    assert outcomes["analytics.first"].outcome == "completed"
    assert outcomes["learning.ends"].outcome == "retry", outcomes["learning.ends"]
    assert "is not available to a listener" in (outcomes["learning.ends"].error or ""), outcomes["learning.ends"].error
    assert effects(db_path) == [(event_id, "first")]  # once: not committed early, not undone


def test_a_savepoint_inside_a_handler_still_works(db_path: Path) -> None:
    def with_savepoint(event: Envelope, db: DatabaseSession) -> None:
        savepoint = db.session.begin_nested()
        db.execute(text("INSERT INTO effects VALUES (:e, 'undone')"), {"e": event.id})
        savepoint.rollback()
        with db.session.begin_nested():
            db.execute(text("INSERT INTO effects VALUES (:e, 'kept')"), {"e": event.id})

    InfrastructureService.listen("content.created", with_savepoint, module="learning", name="savepoint")
    event_id = InfrastructureService.publish_event("content.events", {"n": 1}, event_type="content.created", source="content")
    assert [o.outcome for o in InfrastructureService.run_listeners()] == ["completed"]
    assert effects(db_path) == [(event_id, "kept")]
