"""Listeners without a broker on a real PostgreSQL (a scratch database per test), run by the worker thread.

Backoff waits the configured delays; a listener that keeps failing ends ``failed`` with its redacted
error and is delivered once resubmitted; a rolled-back transaction's event reaches no listener; a
handler that hangs past its timeout is a failed attempt whose late work never commits; a handler
raising ``SystemExit`` or ``KeyboardInterrupt`` fails its attempt without stopping the worker.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import DatabaseSession, Envelope, InfrastructureService, ListenerRetry
from tests.integration.postgres_scratch import scratch_database, use_postgres
from tests.waiting import wait_for

SECRET = "tok-LISTENER-5b1e07c9-SECRET"  # set as PARTNER_API_KEY: the redactor knows it
URL_PASSWORD = "hunter2listener"
EFFECTS = "listener_effects"
QUICK = ListenerRetry(base_seconds=0.01, factor=1.0, cap_seconds=0.01, attempts=5)
WAIT = 15.0
SLACK = 0.25  # seconds a retry may come after its delay: the worker's poll (0.01 s) and a loaded machine


@pytest.fixture
def postgres_listeners(clean_env: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The facade on a migrated scratch database with a worker thread polling every 10 ms and an effects table."""
    with scratch_database(postgres_url, "infra_listeners") as url:
        monkeypatch.setenv("PARTNER_API_KEY", SECRET)
        use_postgres(
            monkeypatch, url, APP_ENV="test", LLM_PROVIDER="local", OUTBOX_RELAY="off",
            LISTENER_WORKER="thread", LISTENER_POLL_INTERVAL="0.01",
        )
        InfrastructureService.migrate()
        with InfrastructureService.get_database_session() as db:
            db.execute(text(f"CREATE TABLE {EFFECTS} (event_id varchar(36) NOT NULL, attempt integer NOT NULL)"))
        try:
            yield
        finally:
            InfrastructureService.reset()  # no connection of ours left when the database is dropped


def effect(db: DatabaseSession, event: Envelope, attempt: int) -> None:
    db.execute(text(f"INSERT INTO {EFFECTS} (event_id, attempt) VALUES (:e, :a)"), {"e": event.id, "a": attempt})


def effects(event_id: str) -> list[int]:
    """The attempts whose work committed for ``event_id``."""
    with InfrastructureService.get_database_session() as db:
        return [row[0] for row in db.execute(text(f"SELECT attempt FROM {EFFECTS} WHERE event_id = :e ORDER BY attempt"), {"e": event_id})]


def record(event_id: str) -> tuple[str, int] | None:
    """(status, attempts) of the one record of ``event_id``, or None."""
    with InfrastructureService.get_database_session() as db:
        rows = db.execute(text("SELECT status, attempts FROM infrastructure_event_publications WHERE event_id = :e"), {"e": event_id}).all()
    assert len(rows) <= 1
    return None if not rows else (rows[0][0], rows[0][1])


def publish(event_type: str = "reactor.poked") -> str:
    return InfrastructureService.publish_event("reactor", {"at": time.time()}, event_type=event_type, source="tests")


def test_a_handler_failing_three_times_is_retried_after_the_configured_delays(postgres_listeners: None) -> None:
    calls: list[float] = []
    retry = ListenerRetry(base_seconds=0.2, factor=2.0, cap_seconds=0.5, attempts=5)

    def flaky(event: Envelope, db: DatabaseSession) -> None:
        calls.append(time.monotonic())
        if len(calls) <= 3:
            raise ConnectionError("the partner is down")
        effect(db, event, len(calls))

    InfrastructureService.listen("reactor.*", flaky, module="reactor", name="flaky", retry=retry)
    event_id = publish()
    wait_for(lambda: record(event_id) == ("completed", 4), WAIT, "the fourth attempt completed")
    gaps = [later - earlier for earlier, later in itertools.pairwise(calls)]
    expected = [0.2, 0.4, 0.5]  # base, base * factor, then the cap
    print("gaps between attempts", [round(gap, 3) for gap in gaps], "for delays", expected)
    assert len(gaps) == 3
    for gap, delay in zip(gaps, expected):
        assert delay / 2 <= gap <= delay + SLACK, f"waited {gap:.3f} s for a delay of {delay} s (jitter: half to all of it)"
    assert effects(event_id) == [4]


def test_a_listener_that_keeps_failing_ends_failed_with_its_redacted_error_and_resubmission_delivers_it(postgres_listeners: None) -> None:
    fixed = threading.Event()
    attempts: list[str] = []

    def partner(event: Envelope, db: DatabaseSession) -> None:
        attempts.append(event.id)
        if not fixed.is_set():
            raise RuntimeError(f"partner refused key {SECRET} at https://app:{URL_PASSWORD}@partner.invalid/orders")
        effect(db, event, attempts.count(event.id))

    retry = ListenerRetry(base_seconds=0.01, factor=1.0, cap_seconds=0.01, attempts=3)
    identity = InfrastructureService.listen("reactor.*", partner, module="reactor", name="partner", retry=retry)
    first = publish()
    wait_for(lambda: record(first) == ("failed", 3), WAIT, "the first event failed after 3 attempts")
    second = publish()
    wait_for(lambda: len(InfrastructureService.list_publications(status="failed")) == 2, WAIT, "both events failed")

    failed = InfrastructureService.list_publications(status="failed", listener=identity)
    assert [p.event_id for p in failed] == [first, second]  # oldest first
    for publication in failed:
        assert (publication.status, publication.attempts, publication.next_attempt_at) == ("failed", 3, None)
        assert publication.last_error is not None and publication.last_error.startswith("RuntimeError: partner refused key")
        assert SECRET not in publication.last_error and URL_PASSWORD not in publication.last_error, publication.last_error
    assert InfrastructureService.list_publications(status="pending") == []
    assert [(s.listener, s.pending, s.failed) for s in InfrastructureService.listener_status()] == [(identity, 0, 2)]
    assert attempts.count(first) == attempts.count(second) == 3

    fixed.set()
    assert InfrastructureService.resubmit_publications(listener=identity, event_ids=[first]) == 1
    wait_for(lambda: record(first) == ("completed", 1), WAIT, "the resubmitted event delivered")
    assert InfrastructureService.resubmit_publications(listener=identity) == 1
    wait_for(lambda: record(second) == ("completed", 1), WAIT, "the second resubmitted event delivered")
    assert (effects(first), effects(second)) == ([4], [4])
    assert InfrastructureService.list_publications(status="incomplete") == []
    assert InfrastructureService.resubmit_publications(listener=identity) == 0


def test_an_event_whose_transaction_rolls_back_reaches_no_listener(postgres_listeners: None) -> None:
    seen: list[str] = []

    def note(event: Envelope, db: DatabaseSession) -> None:
        seen.append(event.id)

    InfrastructureService.listen("reactor.*", note, module="reactor", name="note")
    rolled_back: list[str] = []
    with pytest.raises(RuntimeError), InfrastructureService.get_database_session() as db:
        rolled_back.append(InfrastructureService.publish_event("reactor", {}, event_type="reactor.poked", source="tests", session=db))
        db.flush()
        raise RuntimeError("the caller's work failed")

    def in_transaction(db: DatabaseSession) -> None:
        rolled_back.append(InfrastructureService.publish_event("reactor", {}, event_type="reactor.poked", source="tests", session=db))
        raise ValueError("the caller's work failed")

    with pytest.raises(ValueError):
        InfrastructureService.run_in_transaction(in_transaction, retries=0)
    after = publish()  # committed after the rolled-back ones: once it is delivered, the worker has looked
    wait_for(lambda: record(after) == ("completed", 1), WAIT, "the committed event delivered")
    assert seen == [after]
    assert [record(event_id) for event_id in rolled_back] == [None, None]
    with InfrastructureService.get_database_session() as db:
        assert db.execute(text("SELECT count(*) FROM infrastructure_outbox")).scalar() == 1


def test_a_handler_that_hangs_past_its_timeout_is_a_failed_attempt_whose_late_work_never_commits(postgres_listeners: None) -> None:
    calls: list[int] = []
    late_work_done = threading.Event()

    def slow(event: Envelope, db: DatabaseSession) -> None:
        calls.append(len(calls) + 1)
        attempt = len(calls)
        effect(db, event, attempt)
        if attempt == 1:
            time.sleep(1.0)  # past the 0.2 s timeout: abandoned, then it returns with its work in the transaction
            late_work_done.set()

    identity = InfrastructureService.listen("reactor.*", slow, module="reactor", name="slow", timeout=0.2, retry=QUICK)
    event_id = publish()
    wait_for(lambda: record(event_id) == ("completed", 2), WAIT, "the second attempt completed after the first timed out")
    assert late_work_done.wait(WAIT), "the hung attempt returned"
    handler_thread = f"listener-{identity}"
    wait_for(lambda: not any(t.name == handler_thread and t.ident != threading.get_ident() for t in threading.enumerate() if t.is_alive()),
             WAIT, "the abandoned attempt's thread ended (its session closed)")
    assert effects(event_id) == [2]  # attempt 1's insert was rolled back when it came back late
    assert calls == [1, 2]


@pytest.mark.parametrize("fatal", [SystemExit(3), KeyboardInterrupt()], ids=["SystemExit", "KeyboardInterrupt"])
def test_a_handler_raising_a_base_exception_fails_its_attempt_and_the_worker_goes_on(postgres_listeners: None, fatal: BaseException) -> None:
    calls: list[str] = []

    def rude(event: Envelope, db: DatabaseSession) -> None:
        calls.append(event.id)
        if calls.count(event.id) <= 2:
            raise fatal
        effect(db, event, calls.count(event.id))

    InfrastructureService.listen("reactor.*", rude, module="reactor", name="rude", retry=QUICK)
    first = publish()
    wait_for(lambda: record(first) == ("completed", 3), WAIT, f"the third attempt completed after two {type(fatal).__name__}")
    assert any(t.name == "listener-worker" and t.is_alive() for t in threading.enumerate()), "the worker thread is alive"
    second = publish()
    wait_for(lambda: record(second) == ("completed", 3), WAIT, "the worker still delivers")
    assert (effects(first), effects(second)) == ([3], [3])


@pytest.mark.parametrize("ending", ["session.commit", "session.rollback", "connection.commit"])
def test_a_handler_ending_the_shared_transaction_underneath_fails_only_its_attempt(postgres_listeners: None, ending: str) -> None:
    """The raw SQLAlchemy session or connection cannot commit (or undo) the batch's other handlers' work either."""
    ends: Callable[[DatabaseSession], object] = {
        "session.commit": lambda db: db.session.commit(),
        "session.rollback": lambda db: db.session.rollback(),
        "connection.commit": lambda db: db.session.connection().commit(),
    }[ending]
    calls: list[str] = []

    def first(event: Envelope, db: DatabaseSession) -> None:
        effect(db, event, 0)

    def rude(event: Envelope, db: DatabaseSession) -> None:
        calls.append(event.id)
        effect(db, event, calls.count(event.id))
        if calls.count(event.id) == 1:
            ends(db)

    InfrastructureService.listen("reactor.*", first, module="analytics", name="first")
    InfrastructureService.listen("reactor.*", rude, module="reactor", name="rude", retry=QUICK)
    event_id = publish()
    wait_for(lambda: InfrastructureService.list_publications(status="incomplete") == [] and effects(event_id) == [0, 2], WAIT, "both delivered")
    assert effects(event_id) == [0, 2]  # the first listener's effect once, the rude one's only from its second attempt
