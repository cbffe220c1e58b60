"""Module listeners without a broker, through the facade, on a migrated SQLite file: records, batches, priority,
timeouts, other processes' listeners, resuming, pruning, the report line and the metrics."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from modules.infrastructure.infrastructure.messaging.lease_owners import host_label
from modules.infrastructure.module_api import (
    CheckStatus,
    DatabaseSession,
    Envelope,
    InfrastructureService,
    ListenerRetry,
    MessagingError,
)
from tests.listener_support import ended_pid, migrated_sqlite
from tests.metrics_support import sample

FAST = ListenerRetry(base_seconds=0.01, factor=2.0, cap_seconds=0.05, attempts=3)


@pytest.fixture
def db_path(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated SQLite file; listeners run only when the test calls run_listeners (LISTENER_WORKER=off)."""
    return migrated_sqlite(clean_env, monkeypatch)


def writes_effect(listener: str) -> Callable[[Envelope, DatabaseSession], None]:
    def handler(event: Envelope, db: DatabaseSession) -> None:
        db.execute(text("INSERT INTO effects VALUES (:e, :l)"), {"e": event.id, "l": listener})

    return handler


def effects(db_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db_path) as connection:
        return list(connection.execute("SELECT event_id, listener FROM effects ORDER BY rowid"))


def publish(event_type: str = "content.created", priority: int = 0, payload: Any = None) -> str:
    return InfrastructureService.publish_event("content.events", payload or {"n": 1}, event_type=event_type, source="content", priority=priority)


def statuses(db_path: Path) -> dict[tuple[str, str], str]:
    with sqlite3.connect(db_path) as connection:
        return {(e, lst): s for e, lst, s in connection.execute("SELECT event_id, listener, status FROM infrastructure_event_publications")}


def test_every_matching_listener_of_every_module_gets_each_event_once(db_path: Path) -> None:
    InfrastructureService.listen("content.*", writes_effect("a"), module="learning", name="a")
    InfrastructureService.listen("content.#", writes_effect("b"), module="analytics", name="b")
    InfrastructureService.listen("billing.*", writes_effect("c"), module="billing", name="c")
    ids = [publish() for _ in range(3)] + [publish("content.question.created")]
    outcomes = InfrastructureService.run_listeners()
    assert sorted(o.outcome for o in outcomes) == ["completed"] * 7
    assert sorted(effects(db_path)) == sorted([(i, "a") for i in ids[:3]] + [(i, "b") for i in ids])
    assert InfrastructureService.run_listeners() == []


def test_one_failing_handler_in_a_batch_does_not_undo_or_repeat_the_others_effects(db_path: Path) -> None:
    failing: set[str] = set()

    def sometimes(event: Envelope, db: DatabaseSession) -> None:
        writes_effect("flaky")(event, db)
        if event.id in failing:
            raise RuntimeError("downstream is away")

    InfrastructureService.listen("content.created", sometimes, module="learning", name="flaky", retry=FAST)
    ids = [publish() for _ in range(10)]
    failing.add(ids[4])
    outcomes = {o.event_id: o.outcome for o in InfrastructureService.run_listeners()}
    assert outcomes[ids[4]] == "retry" and all(outcomes[i] == "completed" for i in ids if i != ids[4])
    assert sorted(e for e, _ in effects(db_path)) == sorted(i for i in ids if i != ids[4])  # each once, the failed one never
    failing.clear()
    time.sleep(0.06)
    assert [o.outcome for o in InfrastructureService.run_listeners()] == ["completed"]
    assert sorted(e for e, _ in effects(db_path)) == sorted(ids)


def test_a_higher_priority_overtakes_a_backlog(db_path: Path) -> None:
    order: list[int] = []
    InfrastructureService.listen("content.created", lambda e, db: order.append(e.priority), module="learning", name="ordered")
    for _ in range(250):
        publish(priority=0)
    publish(priority=9)
    InfrastructureService.run_listeners(max_publications=1)
    assert order == [9]


def test_a_handler_that_hangs_is_a_failed_attempt_and_its_late_work_never_commits(db_path: Path) -> None:
    release = threading.Event()

    def hangs(event: Envelope, db: DatabaseSession) -> None:
        release.wait(5)  # before writing: on SQLite a hung handler that wrote holds the file's write lock
        writes_effect("slow")(event, db)

    InfrastructureService.listen("content.created", hangs, module="learning", name="slow", timeout=0.2, retry=FAST)
    publish()
    started = time.monotonic()
    [outcome] = InfrastructureService.run_listeners()
    assert outcome.outcome == "retry" and "TimeoutError" in (outcome.error or "")
    assert time.monotonic() - started < 2
    release.set()
    time.sleep(0.3)  # the abandoned handler returns; its transaction must be rolled back
    assert effects(db_path) == []


def test_a_listener_registered_in_another_process_gets_records_here(db_path: Path) -> None:
    with InfrastructureService.get_database_session() as db:
        db.execute(text(
            "INSERT INTO infrastructure_event_listeners VALUES ('reports.daily', 'reports', 'content.#', '2026-12-01 00:00:00', '2026-12-01 00:00:00')"
        ))
    event_id = publish()
    assert statuses(db_path) == {(event_id, "reports.daily"): "pending"}
    [record] = InfrastructureService.list_publications(listener="reports.daily")
    assert (record.event_id, record.status, record.attempts) == (event_id, "pending", 0)
    assert InfrastructureService.forget_listener("reports.daily") is True
    publish()
    assert len(statuses(db_path)) == 1


def test_a_rolled_back_transaction_leaves_no_record(db_path: Path) -> None:
    InfrastructureService.listen("content.created", writes_effect("a"), module="learning", name="a")
    with pytest.raises(RuntimeError), InfrastructureService.get_database_session() as db:
        InfrastructureService.publish_event("content.events", {"n": 1}, event_type="content.created", source="content", session=db)
        raise RuntimeError("nothing commits")
    assert statuses(db_path) == {} and InfrastructureService.run_listeners() == []


def test_records_a_killed_worker_had_claimed_run_again_when_its_listener_registers(db_path: Path) -> None:
    event_id = publish()
    with sqlite3.connect(db_path) as connection:  # a listener another run registered, and its claim that never ended
        connection.execute("INSERT INTO infrastructure_event_listeners VALUES ('learning.a', 'learning', 'content.created', '2026-12-01', '2026-12-01')")
    InfrastructureService.reset()
    publish_id = publish()
    with sqlite3.connect(db_path) as connection:
        connection.execute(  # a worker of this host whose process has ended
            "UPDATE infrastructure_event_publications SET lease_owner = ?, next_attempt_at = '2999-01-01 00:00:00'", (f"{host_label()}:{ended_pid()}:x",)
        )
    InfrastructureService.listen("content.created", writes_effect("a"), module="learning", name="a")
    assert [o.outcome for o in InfrastructureService.run_listeners()] == ["completed"]
    assert effects(db_path) == [(publish_id, "a")] and event_id != publish_id


def test_completed_records_past_the_retention_are_pruned(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTENER_RETENTION_HOURS", "0")
    InfrastructureService.reset()
    InfrastructureService.listen("content.created", writes_effect("a"), module="learning", name="a")
    publish()
    InfrastructureService.run_listeners()
    InfrastructureService.run_listeners()  # the prune runs at the end of a drain
    assert statuses(db_path) == {}


def test_the_report_and_the_metrics_show_listeners_pending_failed_and_lag(db_path: Path) -> None:
    def fails(event: Envelope, db: DatabaseSession) -> None:
        raise ValueError("cannot reach postgresql://app:hunter2@db.internal/app")

    InfrastructureService.listen("content.created", fails, module="learning", name="fails", retry=ListenerRetry(attempts=1))
    InfrastructureService.listen("content.created", writes_effect("ok"), module="analytics", name="ok")
    InfrastructureService.listen("other.thing", writes_effect("idle"), module="analytics", name="idle")
    publish()
    InfrastructureService.run_listeners()
    publish()
    check = InfrastructureService.validate_environment().checks["messaging"]
    assert check.status is CheckStatus.DEGRADED
    assert "listeners: 3 registered (analytics.idle, analytics.ok, learning.fails), 2 publications pending, 1 failed" in check.detail
    [failed] = InfrastructureService.list_publications(status="failed")
    assert failed.listener == "learning.fails" and "hunter2" not in (failed.last_error or "")
    text_ = InfrastructureService.metrics_text()
    assert sample("infrastructure_listener_deliveries_total", text_, listener="analytics.ok", outcome="completed") == 1
    assert sample("infrastructure_listener_deliveries_total", text_, listener="learning.fails", outcome="failed") == 1
    assert sample("infrastructure_listener_pending", text_, listener="analytics.ok") == 1
    assert sample("infrastructure_listener_failed", text_, listener="learning.fails") == 1
    lag = sample("infrastructure_listener_lag_seconds", text_, listener="analytics.ok")
    assert lag is not None and lag >= 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: InfrastructureService.listen("content..x", writes_effect("a"), module="m"), "word 2 is empty"),
        (lambda: InfrastructureService.listen("content.*", "not callable", module="m"), "handler must be a function"),  # type: ignore[arg-type]
        (lambda: InfrastructureService.listen("content.*", writes_effect("a"), module="has space"), "module"),
        (lambda: InfrastructureService.listen("content.*", writes_effect("a"), module="m", timeout=1e9), "timeout"),
        (lambda: InfrastructureService.listen("content.*", writes_effect("a"), module="m", retry=5), "ListenerRetry"),  # type: ignore[arg-type]
        (lambda: InfrastructureService.list_publications(status="done"), "status"),
        (lambda: InfrastructureService.list_publications(limit=10**9), "limit"),
        (lambda: InfrastructureService.resubmit_publications(event_ids="abc"), "event_ids"),  # type: ignore[arg-type]
        (lambda: InfrastructureService.run_listeners(max_publications=0), "max_publications"),
        (lambda: InfrastructureService.replay_dead_letters("learning"), "needs a broker"),
    ],
    ids=["pattern", "handler", "module", "timeout", "retry", "status", "limit", "event_ids", "max_publications", "replay"],
)
def test_bad_arguments_are_a_messaging_error_naming_them(db_path: Path, call: Callable[[], object], message: str) -> None:
    with pytest.raises(MessagingError, match=message):
        call()
    assert statuses(db_path) == {}


@pytest.mark.parametrize("ending", ["commit", "rollback", "close"])
def test_a_handler_cannot_end_the_transaction_it_shares_with_its_record_and_its_batch(db_path: Path, ending: str) -> None:
    def ends(event: Envelope, db: DatabaseSession) -> None:
        writes_effect("ends")(event, db)
        getattr(db, ending)()

    InfrastructureService.listen("content.created", writes_effect("first"), module="analytics", name="first")
    InfrastructureService.listen("content.created", ends, module="learning", name="ends", retry=FAST)
    event_id = publish()
    outcomes = {o.listener: o for o in InfrastructureService.run_listeners()}
    assert outcomes["analytics.first"].outcome == "completed"
    assert outcomes["learning.ends"].outcome == "retry" and f"{ending}() is not available to a listener" in (outcomes["learning.ends"].error or "")
    assert effects(db_path) == [(event_id, "first")]


def test_a_slow_batch_hands_back_what_it_did_not_reach_before_its_claim_runs_out(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modules.infrastructure.infrastructure.messaging import due_publications

    monkeypatch.setattr(due_publications, "BATCH_SECONDS", 0.15)
    handled: list[str] = []

    def slow(event: Envelope, db: DatabaseSession) -> None:
        time.sleep(0.05)
        handled.append(event.id)
        writes_effect("slow")(event, db)

    InfrastructureService.listen("content.created", slow, module="learning", name="slow")
    ids = [publish() for _ in range(12)]
    outcomes = InfrastructureService.run_listeners()
    assert sorted(o.event_id for o in outcomes) == sorted(ids) and {o.outcome for o in outcomes} == {"completed"}
    assert sorted(handled) == sorted(ids)  # each handler ran once: what was handed back had not been attempted
    with sqlite3.connect(db_path) as connection:
        assert set(connection.execute("SELECT attempts, lease_owner FROM infrastructure_event_publications")) == {(1, None)}


@pytest.mark.parametrize("then", ["raises", "commits"])
def test_a_handler_s_savepoint_commits_nothing_of_its_own_on_sqlite(db_path: Path, then: str) -> None:
    def in_a_savepoint(event: Envelope, db: DatabaseSession) -> None:
        with db.session.begin_nested():  # the handler's first statement, inside a savepoint
            writes_effect("nested")(event, db)
        if then == "raises":
            raise RuntimeError("the rest failed")
        db.session.commit()

    InfrastructureService.listen("content.created", in_a_savepoint, module="learning", name="nested", retry=ListenerRetry(attempts=1))
    publish()
    [outcome] = InfrastructureService.run_listeners()
    assert outcome.outcome == "failed" and effects(db_path) == []


def test_a_handler_that_is_async_or_a_generator_is_refused_and_a_returned_coroutine_fails_its_attempt(db_path: Path) -> None:
    async def asynchronous(event: Envelope, db: DatabaseSession) -> None:
        writes_effect("async")(event, db)

    def generator(event: Envelope, db: DatabaseSession) -> Any:
        yield writes_effect("generator")(event, db)

    for handler in (asynchronous, generator):
        with pytest.raises(MessagingError, match="plain function"):
            InfrastructureService.listen("content.created", handler, module="learning")

    class ReturnsCoroutine:
        def __call__(self, event: Envelope, db: DatabaseSession) -> Any:
            return asynchronous(event, db)

    InfrastructureService.listen("content.created", ReturnsCoroutine(), module="learning", name="sneaky", retry=ListenerRetry(attempts=1))
    publish()
    [outcome] = InfrastructureService.run_listeners()
    assert outcome.outcome == "failed" and "plain function" in (outcome.error or "") and effects(db_path) == []


def test_a_huge_exception_message_is_cut_before_it_is_redacted(db_path: Path) -> None:
    def raises_a_body(event: Envelope, db: DatabaseSession) -> None:
        raise ValueError("x" * 5_000_000)

    InfrastructureService.listen("content.created", raises_a_body, module="learning", name="body", retry=ListenerRetry(attempts=1))
    publish()
    started = time.monotonic()
    [outcome] = InfrastructureService.run_listeners()
    assert outcome.outcome == "failed" and len(outcome.error or "") <= 2000
    assert time.monotonic() - started < 5
