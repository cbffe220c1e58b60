"""pika's exceptions at the publisher's and the consumer's public methods, with the broker scripted: every
one leaves as a ``MessagingError``, and outcomes settled before a lost link are kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from pika.exceptions import ChannelClosedByBroker, ChannelWrongStateError

from modules.infrastructure.domain.messaging.ports import PublishInterrupted, PublishOutcome
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.infrastructure.messaging.confirming_link import LinkLost
from modules.infrastructure.infrastructure.messaging.rabbitmq_consumer import PikaConsumer
from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import BrokerSettings, PikaMessagePublisher
from modules.infrastructure.module_api import MessagingError
from tests.contracts.publisher_contract import message

NODE = "amqp://app:s3cret-pw@broker.internal:5672/%2F"
MASKED = "amqp://app:****@broker.internal:5672/%2F"


class ScriptedLink:
    """Stands in for a ``ConfirmingLink``: raises each of ``failures`` in turn, then confirms what it is given."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.batches: list[list[str]] = []
        self.is_open = True
        self.last_used = float("inf")

    def publish(self, messages: Sequence[tuple[Envelope, bytes]], properties: Any, window: int) -> dict[str, PublishOutcome]:
        self.batches.append([envelope.id for envelope, _ in messages])
        if self.failures:
            raise self.failures.pop(0)
        return {envelope.id: PublishOutcome(envelope.id, True) for envelope, _ in messages}

    def close(self) -> None:
        self.is_open = False


def publisher_on(monkeypatch: pytest.MonkeyPatch, *links: ScriptedLink) -> PikaMessagePublisher:
    publisher = PikaMessagePublisher(BrokerSettings(urls=(NODE,)), sleep=lambda _s: None)
    queue = list(links)
    monkeypatch.setattr(publisher, "_link", lambda: queue[0] if len(queue) == 1 else queue.pop(0))
    return publisher


def test_a_channel_error_the_reconnect_loop_does_not_handle_leaves_publish_batch_as_a_messaging_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publisher = publisher_on(monkeypatch, ScriptedLink(ChannelWrongStateError("Channel is closed.")))
    with pytest.raises(MessagingError) as caught:
        publisher.publish_batch([message("lessons")])
    text = str(caught.value)
    assert MASKED in text and "RABBITMQ_URL" in text and "outbox" in text and "s3cret-pw" not in text
    assert isinstance(caught.value.__cause__, ChannelWrongStateError)


def test_outcomes_settled_before_the_link_was_lost_are_kept_and_not_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = message("lessons", 1), message("lessons", 2)
    settled = {first[0].id: PublishOutcome(first[0].id, True)}
    lost, fresh = ScriptedLink(LinkLost("connection closed", settled=settled)), ScriptedLink()
    outcomes = publisher_on(monkeypatch, lost, fresh).publish_batch([first, second])
    assert [o.confirmed for o in outcomes] == [True, True]
    assert fresh.batches == [[second[0].id]], "only the unsettled message is republished"


def test_giving_up_names_the_attempts_and_the_masked_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    failing = ScriptedLink(*(LinkLost("no answer within 10.0 s") for _ in range(6)))  # the first try and 5 reconnects
    with pytest.raises(MessagingError, match="after 5 reconnect attempts") as caught:
        publisher_on(monkeypatch, failing).publish_batch([message("lessons")])
    assert MASKED in str(caught.value) and isinstance(caught.value.__cause__, LinkLost)


def test_a_failure_after_some_confirms_carries_them_to_the_relay(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = message("lessons", 1), message("lessons", 2)
    settled = {first[0].id: PublishOutcome(first[0].id, True)}
    failing = ScriptedLink(LinkLost("connection closed", settled=settled), *(LinkLost("no answer") for _ in range(5)))
    with pytest.raises(PublishInterrupted, match="after 5 reconnect attempts") as caught:
        publisher_on(monkeypatch, failing).publish_batch([first, second])
    assert caught.value.settled == (settled[first[0].id],) and MASKED in str(caught.value)
    assert failing.batches[1:] == [[second[0].id]] * 5, "the confirmed message is never written again"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def blocked_publisher(monkeypatch: pytest.MonkeyPatch, link: ScriptedLink, clock: Clock) -> PikaMessagePublisher:
    publisher = PikaMessagePublisher(BrokerSettings(urls=(NODE,), blocked_timeout=2.0), sleep=lambda _s: None, clock=clock)
    monkeypatch.setattr(publisher, "_link", lambda: link)
    return publisher


def test_a_blocked_connection_ends_the_call_at_once_instead_of_reconnecting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each reconnect used to write the whole unconfirmed batch into the blocked broker, which stored every copy."""
    first, second = message("lessons", 1), message("lessons", 2)
    settled = {first[0].id: PublishOutcome(first[0].id, True)}
    link = ScriptedLink(LinkLost("connection closed: ConnectionBlockedTimeout", settled=settled, blocked=True))
    with pytest.raises(PublishInterrupted, match="resource alarm") as caught:
        blocked_publisher(monkeypatch, link, Clock()).publish_batch([first, second])
    assert len(link.batches) == 1, "no reconnect into a blocked broker"
    assert caught.value.settled == (settled[first[0].id],)
    assert "RABBITMQ_BLOCKED_TIMEOUT=2 s" in str(caught.value) and "s3cret-pw" not in str(caught.value)


def test_after_a_blocked_connection_calls_are_refused_without_connecting_for_a_growing_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    link = ScriptedLink(*(LinkLost("connection closed: ConnectionBlockedTimeout", blocked=True) for _ in range(8)))
    publisher = blocked_publisher(monkeypatch, link, clock)
    with pytest.raises(MessagingError, match="publishing resumes in 1 s"):
        publisher.publish_batch([message("lessons")])
    cooldowns: list[float] = []
    waited = 0.0
    while len(cooldowns) < 7:  # each call that reaches the link loses it blocked again
        clock.now += 0.5
        waited += 0.5
        tried = len(link.batches)
        with pytest.raises(MessagingError) as caught:
            publisher.publish_batch([message("lessons")])
        if len(link.batches) == tried:
            assert "blocked the last connection" in str(caught.value) and "s3cret-pw" not in str(caught.value)
            continue
        cooldowns.append(waited)
        waited = 0.0
    assert cooldowns == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    clock.now += 30.0
    publisher.publish_batch([message("lessons")])  # the alarm cleared: confirmed, and the next loss starts at 1 s again
    link.failures.append(LinkLost("connection closed: ConnectionBlockedTimeout", blocked=True))
    with pytest.raises(MessagingError, match="publishing resumes in 1 s"):
        publisher.publish_batch([message("lessons")])


def test_a_broker_refusal_leaves_the_consumer_as_a_messaging_error(monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = PikaConsumer(BrokerSettings(urls=(NODE,)), "lessons", lambda _e: None)

    def refused(*_args: object) -> None:
        raise ChannelClosedByBroker(406, "PRECONDITION_FAILED - inequivalent arg 'x-queue-type'")

    monkeypatch.setattr(consumer, "_consume", refused)
    with pytest.raises(MessagingError, match="Consuming 'lessons' failed") as caught:
        consumer.run()
    assert MASKED in str(caught.value) and "RABBITMQ_URL" in str(caught.value)
    assert isinstance(caught.value.__cause__, ChannelClosedByBroker)


def test_a_consumer_that_cannot_reconnect_gives_up_with_a_messaging_error(monkeypatch: pytest.MonkeyPatch) -> None:
    consumer = PikaConsumer(BrokerSettings(urls=(NODE,), reconnect_attempts=1), "lessons", lambda _e: None)
    calls = []

    def lost(*_args: object) -> None:
        calls.append(1)
        raise LinkLost("connection closed: (320) CONNECTION_FORCED")

    monkeypatch.setattr(consumer, "_consume", lost)
    with pytest.raises(MessagingError, match="after 1 reconnect attempts") as caught:
        consumer.run()
    assert len(calls) == 2 and MASKED in str(caught.value) and "s3cret-pw" not in str(caught.value)
