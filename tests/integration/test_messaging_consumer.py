"""InfrastructureService.consume on the real RabbitMQ: acks, retries, dead-lettering, stopping."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pika
import pytest

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
