"""The bad-input sweep's consumed messages, on the real RabbitMQ: each malformed message goes to the
dead-letter queue with its reason, ``run()`` never raises for a message's content, nothing stays in the
queue, and a good message sent after them all still reaches the handler. Recorded in the sweep's table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest

from modules.infrastructure.domain.messaging.envelope import encode, new_envelope
from modules.infrastructure.module_api import Envelope, InfrastructureService
from tests.bad_input import CLEAR, OTHER, Case, Tally
from tests.integration.test_messaging_rabbitmq import Broker, broker, facade  # noqa: F401 (fixtures)


def envelope_body(**changes: Any) -> bytes:
    data = json.loads(encode(new_envelope("q", {"n": 1}, event_type="lesson.created", source="lessons")[0]))
    data.update(changes)
    return json.dumps(data).encode()


DEEP = ("[" * 100_000 + "]" * 100_000).encode()
# (name, body, AMQP headers, a word the dead letter's x-last-error must hold)
MESSAGES: list[tuple[str, bytes, dict[str, Any] | None, str]] = [
    ("not JSON", b"not json", None, "envelope"),
    ("empty body", b"", None, "envelope"),
    ("JSON but a list", b"[1, 2]", None, "envelope"),
    ("an envelope without an id", envelope_body(id=None), None, "id"),
    ("an envelope with a numeric type", envelope_body(type=7), None, "type"),
    ("priority 1e400", envelope_body(priority=float("inf")).replace(b"Infinity", b"1e400"), None, "priority"),
    ("priority -3", envelope_body(priority=-3), None, "priority"),
    ("a correlation id of 12345", envelope_body(correlation_id=12345), None, "correlation_id"),
    ("headers a list", envelope_body(headers=[1, 2]), None, "headers"),
    ("100,000 levels of nesting", DEEP, None, "envelope"),
    ("bytes that are not UTF-8", b"\xff\xfe\xfd", None, "envelope"),
    ("x-attempts 'abc'", envelope_body(), {"x-attempts": "abc"}, "x-attempts"),
    ("x-attempts [1]", envelope_body(), {"x-attempts": [1]}, "x-attempts"),
    ("x-attempts -5", envelope_body(), {"x-attempts": -5}, "x-attempts"),
]
TALLY = Tally()


@pytest.fixture(scope="module", autouse=True)
def tally() -> Iterator[Tally]:
    yield TALLY
    TALLY.write()


def test_malformed_messages_are_dead_lettered_with_their_reason_and_the_consumer_goes_on(facade: Path, broker: Broker) -> None:
    queue = broker.new_queue()
    broker.created.append(f"{queue}.dead")
    seen: list[Envelope] = []

    def send(channel: Any) -> None:
        channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "classic"})
        for index, (_, body, headers, _) in enumerate(MESSAGES):
            channel.basic_publish("", queue, body, pika.BasicProperties(message_id=f"bad-{index}", headers=headers))
        channel.basic_publish("", queue, envelope_body(id="good-1"), pika.BasicProperties(message_id="good-1"))

    broker.channel_call(send)
    consumer = InfrastructureService.consume(queue, seen.append)
    handled = consumer.run(max_messages=len(MESSAGES) + 1, idle_timeout=5)  # must not raise for any of them
    dead = {properties.message_id: properties for properties, _ in broker.drain(f"{queue}.dead", timeout=10)}
    for index, (name, _, _, word) in enumerate(MESSAGES):
        properties = dead.get(f"bad-{index}")
        reason = (properties.headers or {}).get("x-last-error", "") if properties else ""
        kind = CLEAR if properties is not None and word.lower() in reason.lower() else OTHER
        TALLY.add(Case("consumed messages", name, lambda: None), kind, reason or "not in the dead-letter queue")
    assert handled == len(MESSAGES) + 1
    assert [envelope.id for envelope in seen] == ["good-1"], "the good message after them all reaches the handler"
    assert broker.message_count(queue) == 0, "nothing stays in the queue"
    assert [row for row in TALLY.rows if row["outcome"] != CLEAR] == []
