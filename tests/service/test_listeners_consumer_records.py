"""The consuming side's records (what a module's RabbitMQ consumer calls, ``deliver_many``), without a broker:
a delivery that ended mid-attempt (a killed consumer) has that attempt counted on the next delivery, runs alone,
and a handler that kills its consumer every time ends ``failed`` instead of looping for ever."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from modules.infrastructure.domain.messaging.envelope import new_envelope
from modules.infrastructure.domain.messaging.listeners import Listener, new_listener
from modules.infrastructure.infrastructure.messaging.publication_runner import PublicationRunner
from modules.infrastructure.infrastructure.runtime import runtime
from modules.infrastructure.module_api import DatabaseSession, Envelope, ListenerRetry
from tests.listener_support import migrated_sqlite


@pytest.fixture
def db_path(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return migrated_sqlite(clean_env, monkeypatch)


def runner() -> PublicationRunner:
    return runtime.current().listeners.runner


def event(n: int) -> tuple[Envelope, str]:
    envelope, body = new_envelope("q", {"n": n}, event_type="content.created", source="content")
    return envelope, body.decode()


def record(db_path: Path, event_id: str) -> tuple[str, int, str | None, str | None]:
    with sqlite3.connect(db_path) as connection:
        return connection.execute(
            "SELECT status, attempts, lease_owner, last_error FROM infrastructure_event_publications WHERE event_id = ?", (event_id,)
        ).fetchone()


def listener(handler: object, attempts: int = 3) -> Listener:
    return new_listener("content.*", handler, module="learning", name="reacts", retry=ListenerRetry(attempts=attempts))


def test_a_delivery_that_ended_mid_attempt_is_counted_on_the_next_and_runs_alone(db_path: Path) -> None:
    ran: list[str] = []
    reacts = listener(lambda e, db: ran.append(e.id))
    (poisoned, poisoned_body), (other, other_body) = event(1), event(2)
    runner().deliver_many([(poisoned, poisoned_body, [reacts]), (other, other_body, [reacts])])  # both complete
    assert record(db_path, poisoned.id)[:2] == ("completed", 1)
    third, third_body = event(3)
    with sqlite3.connect(db_path) as connection:  # a consumer was killed while it ran the third event
        connection.execute(
            "INSERT INTO infrastructure_event_publications (event_id, listener, event_type, priority, body, status, attempts, "
            "next_attempt_at, lease_owner, created_at, updated_at) VALUES (?, 'learning.reacts', 'content.created', 0, ?, 'pending', 0, "
            "'2026-12-03 00:00:00', 'host:1:dead', '2026-12-03 00:00:00', '2026-12-03 00:00:00')", (third.id, third_body),
        )
    [[outcome]] = runner().deliver_many([(third, third_body, [reacts])])
    assert outcome.outcome == "completed" and ran[-1] == third.id
    assert record(db_path, third.id) == ("completed", 2, None, None)


def test_a_handler_that_kills_its_consumer_every_time_ends_failed(db_path: Path) -> None:
    def kills(event: Envelope, db: DatabaseSession) -> None:
        raise AssertionError("not reached: the record's attempts are used up by deliveries that died")

    reacts = listener(kills, attempts=2)
    poison, body = event(1)
    with sqlite3.connect(db_path) as connection:  # one lost attempt counted already, and the next delivery died too
        connection.execute(
            "INSERT INTO infrastructure_event_publications (event_id, listener, event_type, priority, body, status, attempts, "
            "next_attempt_at, lease_owner, created_at, updated_at) VALUES (?, 'learning.reacts', 'content.created', 0, ?, 'pending', 1, "
            "'2026-12-03 00:00:00', 'host:1:dead', '2026-12-03 00:00:00', '2026-12-03 00:00:00')", (poison.id, body),
        )
    [[outcome]] = runner().deliver_many([(poison, body, [reacts])])
    assert outcome.outcome == "failed" and "WorkerLost" in (outcome.error or "")
    assert record(db_path, poison.id)[:2] == ("failed", 2)


def test_a_record_another_live_delivery_holds_is_left_to_it(db_path: Path) -> None:
    ran: list[str] = []
    reacts = listener(lambda e, db: ran.append(e.id))
    held, body = event(1)
    with sqlite3.connect(db_path) as connection:  # a consumer on another host is running it, its claim good till 2999
        connection.execute(
            "INSERT INTO infrastructure_event_publications (event_id, listener, event_type, priority, body, status, attempts, "
            "next_attempt_at, lease_owner, created_at, updated_at) VALUES (?, 'learning.reacts', 'content.created', 0, ?, 'pending', 0, "
            "'2999-01-01 00:00:00', 'elsewhere:7:live', '2026-12-03 00:00:00', '2026-12-03 00:00:00')", (held.id, body),
        )
    [[outcome]] = runner().deliver_many([(held, body, [reacts])])
    assert outcome.outcome == "skipped" and ran == []
    assert record(db_path, held.id)[:3] == ("pending", 0, "elsewhere:7:live")


def test_an_event_for_a_listener_of_the_module_that_runs_in_another_process_is_recorded_for_it(db_path: Path) -> None:
    """A rolling deploy: this process of 'learning' lacks the new listener; the event must wait for the one that has it."""
    with sqlite3.connect(db_path) as connection:
        connection.execute("INSERT INTO infrastructure_event_listeners VALUES ('learning.added_later', 'learning', 'content.#', '2026-12-03', '2026-12-03')")
        connection.execute("INSERT INTO infrastructure_event_listeners VALUES ('analytics.other_module', 'analytics', 'content.#', '2026-12-03', '2026-12-03')")
    arrived, body = event(1)
    delivery = runtime.current().listeners.delivery_for("learning")
    assert delivery.deliver_many([(arrived, body, [])]) == [[]]
    with sqlite3.connect(db_path) as connection:
        rows = list(connection.execute("SELECT listener, status, lease_owner FROM infrastructure_event_publications"))
    assert rows == [("learning.added_later", "pending", None)]


def test_a_record_this_process_started_and_did_not_settle_runs_again_on_its_redelivery(db_path: Path) -> None:
    """A delivery that failed after starting its records (the database or the broker away) is requeued; the copy
    that comes back to this process must run, not wait for a claim that this very process holds."""
    ran: list[str] = []
    reacts = listener(lambda e, db: ran.append(e.id))
    requeued, body = event(1)
    owner = runner().owner
    with sqlite3.connect(db_path) as connection:
        connection.execute(
            "INSERT INTO infrastructure_event_publications (event_id, listener, event_type, priority, body, status, attempts, "
            "next_attempt_at, lease_owner, created_at, updated_at) VALUES (?, 'learning.reacts', 'content.created', 0, ?, 'pending', 0, "
            "'2999-01-01 00:00:00', ?, '2026-12-03 00:00:00', '2026-12-03 00:00:00')", (requeued.id, body, owner),
        )
    [[outcome]] = runner().deliver_many([(requeued, body, [reacts])])
    assert outcome.outcome == "completed" and ran == [requeued.id]
    assert record(db_path, requeued.id) == ("completed", 1, None, None)
