"""InfrastructureService.consume on the real RabbitMQ: acks, retries, dead-lettering, stopping."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pika
import pika.data
import pytest

from modules.infrastructure.domain.messaging.envelope import encode, new_envelope
from modules.infrastructure.module_api import Envelope, InfrastructureService, MessagingError
from tests.integration.test_messaging_rabbitmq import Broker, broker, facade, publish  # noqa: F401 (fixtures)


def relayed(queue: str, n: int) -> list[str]:
    ids = publish(queue, n)
    assert InfrastructureService.relay_outbox().sent == n
    return ids


def dead_letters(broker: Broker, queue: str) -> list[tuple[pika.BasicProperties, bytes]]:
    broker.created.append(f"{queue}.dead")
    return broker.drain(f"{queue}.dead", timeout=5)


def test_the_handler_gets_each_envelope_and_the_message_is_acked(facade: Path, broker: Broker) -> None:
    queue = broker.new_queue()
    ids = relayed(queue, 5)
    seen: list[Envelope] = []
    consumer = InfrastructureService.consume(queue, seen.append, prefetch=2)
    assert consumer.run(max_messages=5, idle_timeout=10) == 5
    assert [e.id for e in seen] == ids
    assert {e.type for e in seen} == {"lesson.created"} and [e.payload["n"] for e in seen] == [0, 1, 2, 3, 4]
    assert broker.message_count(queue) == 0, "every message must have been acked"
    assert dead_letters(broker, queue) == []


def test_a_failing_handler_is_retried_then_dead_lettered_with_the_attempts_and_error(
    facade: Path, broker: Broker
) -> None:
    queue = broker.new_queue()
    good, poison, later = relayed(queue, 3)
    calls: dict[str, int] = {}

    def handle(envelope: Envelope) -> None:
        calls[envelope.id] = calls.get(envelope.id, 0) + 1
        if envelope.id == poison:
            raise ValueError("cannot index this lesson")

    consumer = InfrastructureService.consume(queue, handle, max_attempts=3)
    consumer.run(idle_timeout=2)
    assert calls == {good: 1, poison: 3, later: 1}
    [(properties, body)] = dead_letters(broker, queue)
    assert properties.message_id == poison
    assert properties.headers["x-attempts"] == 3
    assert properties.headers["x-last-error"] == "ValueError: cannot index this lesson"
    assert broker.message_count(queue) == 0


def test_a_handler_that_recovers_is_not_dead_lettered(facade: Path, broker: Broker) -> None:
    queue = broker.new_queue()
    [event_id] = relayed(queue, 1)
    failures = iter([RuntimeError("database busy")])

    def handle(envelope: Envelope) -> None:
        error = next(failures, None)
        if error:
            raise error

    InfrastructureService.consume(queue, handle, max_attempts=5).run(idle_timeout=2)
    assert dead_letters(broker, queue) == []
    assert broker.message_count(queue) == 0


def test_a_body_that_is_not_an_envelope_goes_straight_to_the_dead_letter_queue(facade: Path, broker: Broker) -> None:
    queue = broker.new_queue()

    def declare_and_publish(channel: pika.adapters.blocking_connection.BlockingChannel) -> None:
        channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "classic"})
        channel.basic_publish("", queue, b"not json", pika.BasicProperties(message_id="raw-1"))

    broker.channel_call(declare_and_publish)
    handled: list[Envelope] = []
    InfrastructureService.consume(queue, handled.append).run(idle_timeout=2)
    assert handled == []
    [(properties, body)] = dead_letters(broker, queue)
    assert (properties.message_id, body) == ("raw-1", b"not json")
    assert "Not an event envelope" in properties.headers["x-last-error"]


def raw_envelope(queue: str, **raw: str) -> bytes:
    """A valid envelope's JSON with ``raw`` JSON literals in place of some fields (``priority="1e400"``)."""
    fields = {"id": "raw", "type": "t", "source": "s", "destination": queue, "timestamp": "2026-01-01T00:00:00+00:00"}
    literals = {name: json.dumps(value) for name, value in fields.items()} | raw
    return ("{" + ",".join(f"{json.dumps(name)}:{literal}" for name, literal in literals.items()) + "}").encode()


def test_poison_messages_are_dead_lettered_with_the_reason_and_the_consumer_goes_on(facade: Path, broker: Broker) -> None:
    """Each of these used to escape run() and stay unacked at the head of the queue, killing every restart."""
    queue = broker.new_queue()
    good = encode(new_envelope(queue, {"n": 1}, event_type="lesson.created", source="lessons")[0])
    poison: list[tuple[str, bytes, dict[str, object], str]] = [
        ("deep", b"[" * 100_000 + b"]" * 100_000, {}, "RecursionError"),
        ("priority-1e400", raw_envelope(queue, priority="1e400"), {}, "priority must be a whole number from 0 to 9, not float"),
        ("correlation-int", raw_envelope(queue, correlation_id="12345"), {}, "correlation_id must be a string or None"),
        ("payload-1e400", raw_envelope(queue, payload="1e400"), {}, "payload is a float that is not finite"),
        ("payload-lone-surrogate", raw_envelope(queue, payload='"\\ud800"'), {}, "lone surrogate"),
        ("attempts-text", good, {"x-attempts": "abc"}, "x-attempts must be a whole number from 0 to 2,147,483,647, got str"),
        ("attempts-list", good, {"x-attempts": [1]}, "x-attempts must be a whole number from 0 to 2,147,483,647, got list"),
        ("attempts-huge", good, {"x-attempts": 2**40}, f"got {2**40}"),
        ("attempts-negative", good, {"x-attempts": -1}, "got -1"),
    ]

    def declare_and_publish(channel: pika.adapters.blocking_connection.BlockingChannel) -> None:
        channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "classic"})
        for message_id, body, headers, _ in poison:
            channel.basic_publish("", queue, body, pika.BasicProperties(message_id=message_id, headers=headers or None))
        channel.basic_publish("", queue, good, pika.BasicProperties(message_id="good"))

    broker.channel_call(declare_and_publish)
    handled: list[Envelope] = []
    consumer = InfrastructureService.consume(queue, handled.append)
    assert consumer.run(idle_timeout=2) == len(poison) + 1
    assert [e.payload for e in handled] == [{"n": 1}], "the good message after the poison ones was handled"
    assert broker.message_count(queue) == 0, "nothing left unacked at the head of the queue"
    dead = dead_letters(broker, queue)
    assert [properties.message_id for properties, _ in dead] == [message_id for message_id, *_ in poison]
    for (properties, body), (message_id, sent, _, reason) in zip(dead, poison, strict=True):
        assert body == sent, message_id
        assert reason in properties.headers["x-last-error"], (message_id, properties.headers["x-last-error"])
        assert properties.headers["x-attempts"] >= 1


def test_headers_too_large_to_forward_or_to_decode_never_stop_the_consumer(
    facade: Path, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frame error on forwarding, or a timestamp header past year 9999, used to drop the connection every time."""
    queue = broker.new_queue()
    good = encode(new_envelope(queue, {"n": 1}, event_type="lesson.created", source="lessons")[0])
    near_frame_max = {"h": "a" * 131_000}  # fits as sent; the added x-attempts and x-last-error did not

    def declare_and_publish(channel: pika.adapters.blocking_connection.BlockingChannel) -> None:
        channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "classic"})
        channel.basic_publish("", queue, b"not json", pika.BasicProperties(message_id="big-poison", headers=near_frame_max))
        channel.basic_publish("", queue, good, pika.BasicProperties(message_id="big-failing", headers=near_frame_max))
        channel.basic_publish("", queue, good, pika.BasicProperties(message_id="bad-str", headers={"kind": "bad-str"}))
        with monkeypatch.context() as forged:  # a millisecond epoch sent as an AMQP timestamp, as other clients can
            forged.setattr(pika.data.calendar, "timegm", lambda _: 1_764_700_000_000)
            far = {"sent": datetime(2026, 1, 1, tzinfo=timezone.utc)}
            channel.basic_publish("", queue, good, pika.BasicProperties(message_id="far-timestamp", headers=far))
        channel.basic_publish("", queue, good, pika.BasicProperties(message_id="good"))

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no message")

    handled: list[str] = []

    def handle(envelope: Envelope) -> None:
        handled.append(envelope.id)
        if len(handled) == 1:
            raise ValueError("the handler failed")
        if len(handled) == 2:
            raise Unprintable()

    broker.channel_call(declare_and_publish)
    consumer = InfrastructureService.consume(queue, handle, max_attempts=1)
    assert consumer.run(idle_timeout=2) == 5
    assert len(handled) == 4, "the far timestamp's message and the good one after it were handled"
    assert broker.message_count(queue) == 0
    dead = {properties.message_id: properties.headers for properties, _ in dead_letters(broker, queue)}
    assert set(dead) == {"big-poison", "big-failing", "bad-str"}
    for message_id in ("big-poison", "big-failing"):
        assert "dropped" in dead[message_id]["x-headers-dropped"] and "h" not in dead[message_id]
    assert "the body is not JSON" in dead["big-poison"]["x-last-error"]
    assert dead["big-failing"]["x-last-error"] == "ValueError: the handler failed"
    assert dead["bad-str"]["x-last-error"] == "Unprintable (its message could not be read)"
    assert dead["bad-str"]["kind"] == "bad-str", "headers that fit travel with the message"


def test_a_handler_error_that_is_not_valid_unicode_still_reaches_the_dead_letter_queue(facade: Path, broker: Broker) -> None:
    queue = broker.new_queue()
    [event_id] = relayed(queue, 1)

    def handle(envelope: Envelope) -> None:
        raise ValueError("bad text \ud800 from a handler")

    consumer = InfrastructureService.consume(queue, handle, max_attempts=1)
    assert consumer.run(idle_timeout=2) == 1
    [(properties, _)] = dead_letters(broker, queue)
    assert properties.message_id == event_id
    assert properties.headers["x-last-error"] == "ValueError: bad text ? from a handler"


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"queue": 7}, "queue must be a string, not int"),
        ({"queue": "q" * 252}, "too long for its dead-letter queue"),
        ({"queue": "a\nb"}, "queue contains a control character"),
        ({"handler": "print"}, "handler must be a function"),
        ({"prefetch": "10"}, "prefetch must be a whole number at least 1 and at most 65,535, got str"),
        ({"prefetch": 70_000}, "at most 65,535, got 70000"),
        ({"max_attempts": 0}, "max_attempts must be a whole number at least 1"),
        ({"max_attempts": True}, "max_attempts must be a whole number at least 1 and at most 2,147,483,647, got True"),
    ],
)
def test_consume_refuses_arguments_it_cannot_use_naming_them(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, rabbitmq_url: str, arguments: dict[str, object], reason: str
) -> None:
    monkeypatch.setenv("RABBITMQ_URL", rabbitmq_url)
    InfrastructureService.reset()
    call: dict[str, object] = {"queue": "lessons", "handler": print, **arguments}
    with pytest.raises(MessagingError) as caught:
        InfrastructureService.consume(call.pop("queue"), call.pop("handler"), **call)  # type: ignore[arg-type]
    assert reason in str(caught.value)


def test_stop_ends_a_consumer_running_in_the_background(facade: Path, broker: Broker) -> None:
    queue = broker.new_queue()
    seen: list[str] = []
    consumer = InfrastructureService.consume(queue, lambda e: seen.append(e.id))
    consumer.start()
    time.sleep(0.5)
    [event_id] = relayed(queue, 1)
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    consumer.stop(timeout=5)
    assert time.monotonic() - started < 3
    assert seen == [event_id]
    assert not any(t.name == f"consumer-{queue}" and t.is_alive() for t in threading.enumerate())


@pytest.mark.parametrize("how", ["shutdown", "reset"])
def test_shutdown_and_reset_stop_every_consumer_the_facade_made(facade: Path, broker: Broker, how: str) -> None:
    queues = [broker.new_queue(), broker.new_queue()]
    background = InfrastructureService.consume(queues[0], lambda e: None)
    background.start()
    foreground = InfrastructureService.consume(queues[1], lambda e: None)
    runner = threading.Thread(target=foreground.run, name="foreground-runner", daemon=True)
    runner.start()
    deadline = time.monotonic() + 10
    while broker.consumer_count(queues[0]) + broker.consumer_count(queues[1]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert broker.consumer_count(queues[0]) == broker.consumer_count(queues[1]) == 1
    started = time.monotonic()
    getattr(InfrastructureService, how)()
    assert time.monotonic() - started < 4
    runner.join(3)
    assert not runner.is_alive()
    assert not any(t.name == f"consumer-{queues[0]}" and t.is_alive() for t in threading.enumerate())
    assert broker.consumer_count(queues[0]) == broker.consumer_count(queues[1]) == 0


def test_consume_needs_a_broker_and_sane_arguments(clean_env: Path, monkeypatch: pytest.MonkeyPatch, rabbitmq_url: str) -> None:
    with pytest.raises(MessagingError, match="RABBITMQ_URL"):
        InfrastructureService.consume("lessons", print)
    monkeypatch.setenv("RABBITMQ_URL", rabbitmq_url)
    InfrastructureService.reset()
    with pytest.raises(MessagingError, match="queue name"):
        InfrastructureService.consume("  ", print)
    with pytest.raises(MessagingError, match="at least 1"):
        InfrastructureService.consume("lessons", print, prefetch=0)
