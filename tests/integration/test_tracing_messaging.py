"""Traces across the real RabbitMQ: the span that published an event is the parent of its ``process`` span, in another
module's listener (on its broker queue) or a consumer, however long the event waited in the outbox; the AMQP message
carries ``traceparent``; an outside producer's ``traceparent`` header is continued; a malformed one starts a new trace
and the message is handled all the same.

Spans are recorded by ``RecordingTracing`` (the export is ``test_tracing_export.py``'s subject). Events go through a
scratch PostgreSQL database, relayed only when the test says so; module names and queues carry a random prefix and are
deleted afterwards.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
from sqlalchemy import text

from modules.infrastructure.domain.messaging.envelope import encode, new_envelope
from modules.infrastructure.domain.tracing.trace_context import TraceContext
from modules.infrastructure.infrastructure.messaging.event_topology import module_queue
from modules.infrastructure.module_api import DatabaseSession, Envelope, InfrastructureService
from modules.infrastructure.module_api.testing import RecordedSpan, RecordingTracing
from tests.integration.postgres_scratch import scratch_database, use_postgres
from tests.integration.test_listeners_broker_postgres import consumed
from tests.integration.test_messaging_module_queues import Modules
from tests.integration.test_messaging_rabbitmq import Broker, broker  # noqa: F401 (fixture)
from tests.waiting import wait_for

WAIT = 20.0
IN_THE_OUTBOX = 1.5  # seconds an event waits unrelayed: its listener runs long after the publishing span ended
THEIRS = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"  # an outside producer's span
MALFORMED: list[object] = [
    "garbage",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  # no flags
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff is invalid
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",  # upper-case hex
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" + "x" * 1000,
    12345,
]


class Listened:
    """A listener's handler noting each event and the trace current while it ran."""

    def __init__(self) -> None:
        self.events: list[Envelope] = []
        self.traces: list[TraceContext | None] = []
        self._lock = threading.Lock()

    def __call__(self, event: Envelope, db: DatabaseSession) -> None:
        with self._lock:
            self.events.append(event)
            self.traces.append(InfrastructureService.current_trace())


def only(spans: list[RecordedSpan], name: str) -> RecordedSpan:
    [span] = [span for span in spans if span.name == name]
    return span


@pytest.fixture
def made(rabbitmq_url: str) -> Iterator[Modules]:
    modules = Modules(rabbitmq_url)
    yield modules
    InfrastructureService.reset()  # the module consumers stop before their queues go
    modules.cleanup()


@pytest.fixture
def tracing(clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str, rabbitmq_url: str, made: Modules) -> Iterator[RecordingTracing]:
    """The facade on a migrated scratch database and the real broker, listeners on module queues, the outbox relayed
    only by ``relay_outbox()``; every span recorded."""
    settings = {"APP_ENV": "test", "RABBITMQ_URL": rabbitmq_url, "OUTBOX_RELAY": "off", "LISTENER_WORKER": "thread", "LISTENER_POLL_INTERVAL": "0.2"}
    recorder = RecordingTracing()
    with scratch_database(postgres_url, "infra_traced") as url:
        use_postgres(monkeypatch, url, **settings)
        InfrastructureService.migrate()
        try:
            with InfrastructureService.override(tracing=recorder):
                yield recorder
        finally:
            InfrastructureService.reset()  # no connection of ours left when the database is dropped


def publish_in_a_request(destination: str, kind: str) -> tuple[str, TraceContext]:
    """An event published in a request's span and its own session; the event's id and the request's context."""
    with InfrastructureService.trace("POST /lessons", kind="server") as request:
        with InfrastructureService.get_database_session() as db:
            event_id = InfrastructureService.publish_event(destination, {"id": 1}, event_type=kind, source="lessons", session=db)
        context = request.trace_context
    assert context is not None
    return event_id, context


def test_a_listener_in_another_module_continues_the_publishing_trace_when_the_event_is_relayed_later(
    tracing: RecordingTracing, made: Modules, broker: Broker, rabbitmq_url: str
) -> None:
    module, kind, destination = made.new("analytics"), f"{made.prefix}.lesson.created", broker.new_queue()
    listened = Listened()
    identity = InfrastructureService.listen(kind, listened, module=module, name="count")
    wait_for(lambda: consumed(rabbitmq_url, module_queue(module)), WAIT, "the module's consumer on its queue")
    event_id, request = publish_in_a_request(destination, kind)
    time.sleep(IN_THE_OUTBOX)
    assert InfrastructureService.relay_outbox().sent == 1
    wait_for(lambda: len(listened.events) == 1, WAIT, f"{identity} ran")
    wait_for(lambda: len(tracing.named(f"process {kind}")) == 1, 5, "the process span ended")
    spans = tracing.spans()
    tree = tracing.tree()
    create, process = only(spans, f"create {destination}"), only(spans, f"process {kind}")
    send = only(spans, "send infrastructure.outbox")
    assert create.trace_id == request.trace_id and process.trace_id == request.trace_id, tree
    assert process.parent_id == create.span_id and process.kind == "consumer", tree
    assert process.start - create.end >= IN_THE_OUTBOX * 1e9 * 0.9, "the listener ran after the event's wait"
    assert process.attributes["infrastructure.event.handler"] == identity and process.attributes["messaging.message.id"] == event_id
    assert send.trace_id != request.trace_id, "the relay's batch is a trace of its own; each event carries its publisher's"
    [event] = listened.events
    assert event.trace is not None and event.trace.span_id == create.span_id
    [current] = listened.traces
    assert current is not None and current.span_id == process.span_id, "the handler runs inside its process span"
    print(f"\n{tree}")


def test_the_relayed_message_carries_the_publishing_spans_traceparent_in_its_amqp_headers(tracing: RecordingTracing, broker: Broker) -> None:
    destination = broker.new_queue()
    publish_in_a_request(destination, "lessons.created")
    assert InfrastructureService.relay_outbox().sent == 1
    [(properties, body)] = broker.drain(destination)
    create = only(tracing.spans(), f"create {destination}")
    traceparent = f"00-{create.trace_id}-{create.span_id}-"
    assert properties.headers["traceparent"].startswith(traceparent) and int(properties.headers["traceparent"][-2:], 16) & 1  # sampled
    assert json.loads(body)["traceparent"] == properties.headers["traceparent"]  # and in the envelope, for a listener reading it there


def publish_raw(broker: Broker, queue: str, messages: list[tuple[bytes, dict[str, Any]]], declare: bool = True) -> None:
    """Publish as an outside producer would: ``(body, AMQP headers)`` on a durable classic queue (declared unless it is
    a module's, which exists with arguments of its own)."""

    def declare_and_publish(channel: pika.adapters.blocking_connection.BlockingChannel) -> None:
        if declare:
            channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "classic"})
        for number, (body, headers) in enumerate(messages):
            channel.basic_publish("", queue, body, pika.BasicProperties(message_id=f"outside-{number}", headers=headers or None))

    broker.channel_call(declare_and_publish)


def envelope_body(queue: str, kind: str, **fields: object) -> bytes:
    """A valid envelope's JSON, with ``fields`` added or replaced as they are (a malformed ``traceparent``)."""
    envelope, _ = new_envelope(queue, {"n": 1}, event_type=kind, source="outside")
    return json.dumps({**json.loads(encode(envelope)), **fields}).encode()


def consume_all(queue: str, count: int) -> tuple[list[Envelope], list[TraceContext | None]]:
    handled: list[Envelope] = []
    traces: list[TraceContext | None] = []

    def handle(envelope: Envelope) -> None:
        handled.append(envelope)
        traces.append(InfrastructureService.current_trace())
        with InfrastructureService.get_database_session() as db:  # the handler's own spans are children of its process span
            db.execute(text("SELECT 1"))

    assert InfrastructureService.consume(queue, handle).run(max_messages=count, idle_timeout=5) == count
    return handled, traces


def test_a_consumer_continues_an_outside_producers_trace_from_the_amqp_header(tracing: RecordingTracing, broker: Broker) -> None:
    queue = broker.new_queue()
    ours = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    publish_raw(broker, queue, [
        (envelope_body(queue, "orders.placed"), {"traceparent": THEIRS, "tracestate": "vendor=1"}),
        (envelope_body(queue, "orders.placed", traceparent=ours), {"traceparent": THEIRS}),  # the header wins
        (envelope_body(queue, "orders.placed", traceparent=ours), {}),  # else the envelope's
    ])
    handled, traces = consume_all(queue, 3)
    processes = tracing.named("process orders.placed")
    sessions = tracing.named("database session")
    assert len(handled) == 3 and len(processes) == 3 and len(sessions) == 3, tracing.tree()
    expected = [THEIRS, THEIRS, ours]
    for process, session, current, parent in zip(processes, sessions, traces, expected, strict=True):
        assert (process.trace_id, process.parent_id) == (parent[3:35], parent[36:52]) and process.kind == "consumer"
        assert process.attributes["messaging.destination.name"] == queue
        assert current is not None and current.span_id == process.span_id
        assert session.parent_id == process.span_id and session.trace_id == process.trace_id
    assert traces[0] is not None and traces[0].tracestate == "vendor=1"
    assert broker.message_count(queue) == 0


def test_a_malformed_traceparent_starts_a_new_trace_and_the_message_is_still_handled(tracing: RecordingTracing, broker: Broker) -> None:
    queue = broker.new_queue()
    messages = [(envelope_body(queue, "orders.placed"), {"traceparent": bad}) for bad in MALFORMED]
    messages += [(envelope_body(queue, "orders.placed", traceparent=bad), {}) for bad in MALFORMED]
    messages += [(envelope_body(queue, "orders.placed", traceparent=bad, tracestate="x" * 5000), {"traceparent": bad}) for bad in MALFORMED]
    publish_raw(broker, queue, messages)
    handled, _ = consume_all(queue, len(messages))
    processes = tracing.named("process orders.placed")
    assert len(handled) == len(messages) == len(processes)
    assert all(process.parent_id == "" for process in processes), tracing.tree()
    assert len({process.trace_id for process in processes}) == len(processes), "each a trace of its own"
    assert THEIRS[3:35] not in {process.trace_id for process in processes}
    assert all(event.trace is None for event in handled)
    assert broker.message_count(queue) == 0
    broker.created.append(f"{queue}.dead")
    assert broker.drain(f"{queue}.dead") == [], "nothing dead-lettered"


def listening_module(made: Modules, rabbitmq_url: str, name: str) -> tuple[str, str, Listened]:
    """A module with one listener running on its broker queue: the event type it listens to, its queue, its handler."""
    module, kind, listened = made.new(name), f"{made.prefix}.{name}.happened", Listened()
    InfrastructureService.listen(kind, listened, module=module, name="keep")
    queue = module_queue(module)
    wait_for(lambda: consumed(rabbitmq_url, queue), WAIT, "the module's consumer on its queue")
    return kind, queue, listened


def test_a_listener_given_an_event_with_a_malformed_traceparent_runs_it_in_a_new_trace(
    tracing: RecordingTracing, made: Modules, rabbitmq_url: str, broker: Broker
) -> None:
    kind, queue, listened = listening_module(made, rabbitmq_url, "audit")
    publish_raw(broker, queue, [(envelope_body("orders", kind, traceparent=bad), {"traceparent": bad}) for bad in MALFORMED], declare=False)
    wait_for(lambda: len(listened.events) == len(MALFORMED), WAIT, "every event handled")
    wait_for(lambda: len(tracing.named(f"process {kind}")) == len(MALFORMED), 5, "every process span ended")
    processes = tracing.named(f"process {kind}")
    assert all(process.parent_id == "" for process in processes), tracing.tree()
    assert all(event.trace is None for event in listened.events)
    assert InfrastructureService.list_publications(status="incomplete") == []
    assert broker.message_count(f"{queue}.dead") == 0


def test_a_listener_continues_an_outside_producers_trace_from_the_amqp_header(
    tracing: RecordingTracing, made: Modules, rabbitmq_url: str, broker: Broker
) -> None:
    kind, queue, listened = listening_module(made, rabbitmq_url, "billing")
    publish_raw(broker, queue, [(envelope_body("orders", kind), {"traceparent": THEIRS})], declare=False)
    wait_for(lambda: len(tracing.named(f"process {kind}")) == 1, WAIT, "the event handled")
    [process] = tracing.named(f"process {kind}")
    assert (process.trace_id, process.parent_id) == (THEIRS[3:35], THEIRS[36:52]), tracing.tree()
    [event] = listened.events
    assert event.trace is not None and event.trace.traceparent == THEIRS
