"""Records whose worker ended mid-attempt (a kill, a crash in the handler): the attempt counts, and after the last
one the record is failed instead of crashing every worker that claims it. On a migrated SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import DatabaseSession, Envelope, InfrastructureService, ListenerRetry
from tests.listener_support import ended_owner, migrated_sqlite

RETRY = ListenerRetry(base_seconds=0.001, factor=1.0, cap_seconds=0.001, attempts=3)


@pytest.fixture
def db_path(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return migrated_sqlite(clean_env, monkeypatch)


def claimed_by_a_dead_worker(db_path: Path, event_id: str, attempts: int) -> None:
    with sqlite3.connect(db_path) as connection:
        connection.execute(
            "UPDATE infrastructure_event_publications SET lease_owner = ?, attempts = ?, next_attempt_at = '2999-01-01 00:00:00' WHERE event_id = ?",
            (ended_owner(), attempts, event_id),
        )


def record(db_path: Path, event_id: str) -> tuple[str, int, str | None]:
    with sqlite3.connect(db_path) as connection:
        [(status, attempts, error)] = connection.execute("SELECT status, attempts, last_error FROM infrastructure_event_publications WHERE event_id = ?", (event_id,))
    return str(status), int(attempts), None if error is None else str(error)


def register(seen: list[str]) -> None:
    def handler(event: Envelope, db: DatabaseSession) -> None:
        db.execute(text("SELECT 1"))
        seen.append(event.id)

    InfrastructureService.listen("content.created", handler, module="learning", name="counted", retry=RETRY)


def publish() -> str:
    return InfrastructureService.publish_event("content.events", {"n": 1}, event_type="content.created", source="content")


def test_an_attempt_lost_with_its_worker_is_counted_and_the_record_runs_again(db_path: Path) -> None:
    seen: list[str] = []
    InfrastructureService.listen("content.created", lambda event, db: None, module="learning", name="counted", retry=RETRY)
    event_id = publish()
    InfrastructureService.reset()  # the process that had it "died"
    claimed_by_a_dead_worker(db_path, event_id, attempts=0)
    register(seen)  # resumes: the dead worker's claim is due now
    outcomes = InfrastructureService.run_listeners()
    assert [(o.event_id, o.outcome) for o in outcomes] == [(event_id, "completed")] and seen == [event_id]
    assert record(db_path, event_id) == ("completed", 2, None)  # the lost attempt, then this one


def test_a_record_whose_last_attempt_was_lost_is_failed_without_running_again(db_path: Path) -> None:
    seen: list[str] = []
    InfrastructureService.listen("content.created", lambda event, db: None, module="learning", name="counted", retry=RETRY)
    event_id, other = publish(), publish()
    InfrastructureService.reset()
    claimed_by_a_dead_worker(db_path, event_id, attempts=RETRY.attempts - 1)
    register(seen)
    outcomes = {o.event_id: o for o in InfrastructureService.run_listeners()}
    assert outcomes[event_id].outcome == "failed" and "WorkerLost" in (outcomes[event_id].error or "")
    assert outcomes[other].outcome == "completed" and seen == [other]  # the other event was not held back
    status, attempts, error = record(db_path, event_id)
    assert (status, attempts) == ("failed", RETRY.attempts) and error is not None and error.startswith("WorkerLost:")
    [failed] = InfrastructureService.list_publications(status="failed")
    assert failed.event_id == event_id
    assert InfrastructureService.resubmit_publications(event_ids=[event_id]) == 1
    assert [o.outcome for o in InfrastructureService.run_listeners()] == ["completed"] and seen == [other, event_id]
