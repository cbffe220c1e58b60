"""Listeners on RabbitMQ through the facade, on a scratch PostgreSQL database and the session's private node:
retries wait at the backoff's delays, a failing listener's event is dead-lettered and replayed or resubmitted,
a rolled-back event reaches nobody, and a priority 9 event overtakes a backlog.

Each test's modules carry a random prefix; their queues (module queue, dead letters, retry buckets)
are deleted afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pika
import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import DatabaseSession, Envelope, InfrastructureService, ListenerRetry
from modules.infrastructure.infrastructure.messaging.event_topology import dead_letter_queue, module_queue
from tests.integration.postgres_scratch import scratch_database, use_postgres
from tests.integration.private_rabbitmq import PrivateRabbitMQ
from tests.integration.test_messaging_module_queues import Modules

WAIT = 20.0
SLACK = 0.5  # seconds a retry may come later than its bucket's wait: the failure's bookkeeping, the TTL timer, the redelivery
RESUBMITTED_WITHIN = 5.0  # a resubmitted record runs at the worker's next look (LISTENER_POLL_INTERVAL 0.2 s here)


@dataclass
class Flaky:
    """A handler that fails its first ``failures`` calls per event (None: until ``fixed``), noting each call's time."""

    failures: int | None
    calls: list[tuple[str, float]] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    fixed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: Envelope, db: DatabaseSession) -> None:
        with self._lock:
            self.calls.append((event.id, time.monotonic()))
            attempt = sum(1 for event_id, _ in self.calls if event_id == event.id)
            failing = not self.fixed and (self.failures is None or attempt <= self.failures)
        if failing:
            raise RuntimeError(f"flaky failure {attempt}")
        with self._lock:
            self.done.append(event.id)

    def times(self, event_id: str) -> list[float]:
        with self._lock:
            return [moment for seen, moment in self.calls if seen == event_id]


def wait_until(condition: Callable[[], object], seconds: float, what: str | Callable[[], str]) -> float:
    """Poll ``condition`` until true; the seconds it took, or a failed test naming ``what`` (a callable: read then)."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"{what() if callable(what) else what}: not within {seconds:g} s"
        time.sleep(0.02)
    return time.monotonic() - started


def record(event_id: str, listener: str) -> tuple[str, int] | None:
    """The (status, attempts) of the listener's publication record of ``event_id``, None when there is none."""
    with InfrastructureService.get_database_session() as db:
        row = db.execute(
            text("SELECT status, attempts FROM infrastructure_event_publications WHERE event_id = :e AND listener = :l"), {"e": event_id, "l": listener}
        ).first()
    return None if row is None else (row[0], row[1])


def queued(url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        connection.close()


def consumed(url: str, queue: str) -> bool:
    """True once ``queue`` exists and has a consumer: its bindings are in place and a process reads it."""
    try:
        connection = pika.BlockingConnection(pika.URLParameters(url))
    except pika.exceptions.AMQPError:
        return False
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.consumer_count) > 0
    except pika.exceptions.ChannelClosedByBroker:  # 404: not declared yet
        return False
    finally:
        if connection.is_open:
            connection.close()


@pytest.fixture
def node(private_rabbitmq: PrivateRabbitMQ) -> PrivateRabbitMQ:
    return private_rabbitmq


@pytest.fixture
def made(node: PrivateRabbitMQ) -> Iterator[Modules]:
    modules = Modules(node.url)
    yield modules
    InfrastructureService.reset()  # consumers closed before their queues go
    modules.cleanup()


@pytest.fixture
def broker_facade(clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str, node: PrivateRabbitMQ, made: Modules) -> Iterator[str]:
    """The facade on a migrated scratch database, relaying right after each commit to the private node; the database URL."""
    settings = {"APP_ENV": "test", "LLM_PROVIDER": "local", "RABBITMQ_URL": node.url, "OUTBOX_RELAY": "immediate",
                "LISTENER_WORKER": "thread", "LISTENER_POLL_INTERVAL": "0.2"}
    with scratch_database(postgres_url, "infra_broker_listen") as url:
        use_postgres(monkeypatch, url, **settings)
        InfrastructureService.migrate()
        try:
            yield url
        finally:
            InfrastructureService.reset()  # the scratch database is dropped with no connection of ours left


def publish(kind: str, priority: int = 0) -> str:
    return InfrastructureService.publish_event("broker_listen", {"at": time.time()}, event_type=kind, source="tests", priority=priority)


def new_kind(made: Modules) -> str:
    return f"{made.prefix}.happened"


def test_retries_wait_the_backoff_delays_on_the_broker(broker_facade: str, made: Modules) -> None:
    module, kind = made.new("backoff"), new_kind(made)
    retry = ListenerRetry(base_seconds=0.4, factor=2.0, cap_seconds=10.0, attempts=5)
    flaky = Flaky(failures=3)
    identity = InfrastructureService.listen(kind, flaky, module=module, name="flaky", retry=retry)
    event_id = publish(kind)
    wait_until(lambda: record(event_id, identity) == ("completed", 4), WAIT, "the fourth attempt completed the record")
    times = flaky.times(event_id)
    assert len(times) == 4 and flaky.done == [event_id]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    for number, gap in enumerate(gaps, start=1):
        ceiling = 0.4 * 2 ** (number - 1)  # ListenerRetry.delay draws from half to all of it; the bucket stays in that range
        assert ceiling / 2 * 0.98 <= gap <= ceiling + SLACK, f"retry {number} came after {gap:.3f} s, not within [{ceiling / 2:g}, {ceiling:g}] s: {gaps}"
    print(f"\nretry gaps {[round(g, 3) for g in gaps]} s")


def test_a_failed_event_is_dead_lettered_and_a_replay_after_the_fix_delivers_it(broker_facade: str, made: Modules, node: PrivateRabbitMQ) -> None:
    module, kind = made.new("dead"), new_kind(made)
    flaky = Flaky(failures=None)
    identity = InfrastructureService.listen(kind, flaky, module=module, name="broken", retry=ListenerRetry(base_seconds=0.05, attempts=3))
    event_id = publish(kind)
    wait_until(lambda: record(event_id, identity) == ("failed", 3), WAIT, "the record failed after three attempts")
    dead = dead_letter_queue(module_queue(module))
    wait_until(lambda: queued(node.url, dead) == 1, WAIT, f"its copy in {dead}")
    [failed] = InfrastructureService.list_publications(status="failed", listener=identity)
    assert failed.event_id == event_id and "flaky failure 3" in (failed.last_error or "")

    flaky.fixed = True
    assert InfrastructureService.replay_dead_letters(module) == 1
    took = wait_until(lambda: record(event_id, identity) == ("completed", 1), WAIT, "the replayed event completed its record")
    assert flaky.done == [event_id] and queued(node.url, dead) == 0
    print(f"\nreplayed dead letter completed in {took:.2f} s")


def test_a_resubmitted_record_is_delivered_promptly_and_its_next_failure_retried_at_its_backoff(broker_facade: str, made: Modules) -> None:
    module, kind = made.new("resubmit"), new_kind(made)
    flaky = Flaky(failures=None)
    identity = InfrastructureService.listen(kind, flaky, module=module, name="broken", retry=ListenerRetry(base_seconds=0.2, cap_seconds=0.4, attempts=2))
    event_id = publish(kind)
    wait_until(lambda: record(event_id, identity) == ("failed", 2), WAIT, "the record failed after two attempts")

    flaky.failures, flaky.calls = 1, []  # resubmitted: fails once more, then succeeds
    flaky.fixed = False
    assert InfrastructureService.resubmit_publications(listener=identity) == 1
    took = wait_until(lambda: record(event_id, identity) == ("completed", 2), RESUBMITTED_WITHIN + 2 * 0.4, "the resubmitted record completed")
    assert flaky.done == [event_id] and len(flaky.times(event_id)) == 2
    print(f"\nresubmitted record completed in {took:.2f} s (one retry included)")


def test_a_rolled_back_event_reaches_no_listener(broker_facade: str, made: Modules) -> None:
    module, kind = made.new("rollback"), new_kind(made)
    flaky = Flaky(failures=0)
    identity = InfrastructureService.listen(kind, flaky, module=module, name="seen")
    rolled_back: list[str] = []
    with pytest.raises(RuntimeError, match="undo"):
        with InfrastructureService.get_database_session() as db:
            rolled_back.append(InfrastructureService.publish_event("broker_listen", {}, event_type=kind, source="tests", session=db))
            raise RuntimeError("undo")
    committed = publish(kind)  # published after the rolled-back one: once it is handled, the other would have been too
    wait_until(lambda: record(committed, identity) == ("completed", 1), WAIT, "the committed event completed")
    assert flaky.done == [committed] and [event_id for event_id, _ in flaky.calls] == [committed]
    assert record(rolled_back[0], identity) is None
    with InfrastructureService.get_database_session() as db:
        assert db.execute(text("SELECT count(*) FROM infrastructure_outbox WHERE message_id = :i"), {"i": rolled_back[0]}).scalar() == 0


def test_a_priority_9_event_overtakes_a_backlog(broker_facade: str, made: Modules, node: PrivateRabbitMQ, monkeypatch: pytest.MonkeyPatch) -> None:
    module, kind = made.new("priority"), new_kind(made)
    queue = module_queue(module)
    handled: list[str] = []

    def note(event: Envelope, db: DatabaseSession) -> None:
        handled.append(event.id)

    monkeypatch.setenv("LISTENER_WORKER", "off")  # the queue is declared and bound, nobody consumes it yet
    InfrastructureService.reset()
    InfrastructureService.listen(kind, note, module=module, name="note")
    backlog = [publish(kind) for _ in range(30)]
    urgent = publish(kind, priority=9)
    wait_until(lambda: queued(node.url, queue) == 31, WAIT, "the backlog and the urgent event queued")
    assert handled == []

    monkeypatch.setenv("LISTENER_WORKER", "thread")  # the module's consumer starts with this listen
    InfrastructureService.reset()
    InfrastructureService.listen(kind, note, module=module, name="note")
    wait_until(lambda: len(handled) == 31, WAIT, "every event handled")
    assert handled[0] == urgent, f"the priority 9 event came {handled.index(urgent) + 1}th"
    assert handled[1:] == backlog, "the backlog in publishing order"
