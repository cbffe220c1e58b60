"""The ``MessagePublisher`` port's contract, run against ``RecordingPublisher`` (tests/service) and
``PikaMessagePublisher`` on a real RabbitMQ (tests/integration).

A test class inherits ``PublisherContract`` and provides these fixtures:

- ``publisher``: the publisher under test (closed by the fixture afterwards);
- ``new_queue``: a callable returning a fresh destination name each call (deleted afterwards);
- ``delivered``: a callable ``queue -> [(message_id, body), ...]``, what reached that queue, in order;
- ``refused_destination``: a destination this publisher's broker refuses;
- ``unreachable_publisher``: the same kind of publisher, with its broker out of reach::

    class TestRecordingPublisher(PublisherContract):
        @pytest.fixture
        def publisher(self): return RecordingPublisher(refuse_destinations={"amq.refused"})
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from modules.infrastructure.domain.messaging.envelope import decode, new_envelope
from modules.infrastructure.domain.messaging.ports import MessagePublisher, PublishOutcome
from modules.infrastructure.module_api import Envelope, MessagingError

NewQueue = Callable[[], str]
Delivered = Callable[[str], list[tuple[str, bytes]]]


def message(destination: str, n: int = 0, **options: object) -> tuple[Envelope, bytes]:
    """One encoded event for ``destination`` with payload ``{"n": n}``."""
    options.setdefault("event_type", "contract.tested")
    options.setdefault("source", "contract")
    return new_envelope(destination, {"n": n, "text": "grüß dich"}, **options)  # type: ignore[arg-type]


def ids(messages: list[tuple[Envelope, bytes]]) -> list[str]:
    return [envelope.id for envelope, _ in messages]


class PublisherContract:
    """What every ``MessagePublisher`` does, whatever broker sits behind it."""

    def test_one_confirmed_outcome_per_message_in_order(
        self, publisher: MessagePublisher, new_queue: NewQueue, delivered: Delivered
    ) -> None:
        queue = new_queue()
        batch = [message(queue, n) for n in range(5)]
        outcomes = publisher.publish_batch(batch)
        assert outcomes == [PublishOutcome(envelope.id, True, None) for envelope, _ in batch]
        assert [message_id for message_id, _ in delivered(queue)] == ids(batch)

    def test_the_body_arrives_unchanged_and_decodes_to_the_envelope(
        self, publisher: MessagePublisher, new_queue: NewQueue, delivered: Delivered
    ) -> None:
        queue = new_queue()
        envelope, body = message(queue, 7, correlation_id="corr-1", priority=3, headers={"tenant": "t1"})
        publisher.publish_batch([(envelope, body)])
        [(message_id, received)] = delivered(queue)
        assert message_id == envelope.id
        assert received == body
        assert decode(received) == envelope

    def test_an_empty_batch_gets_an_empty_answer(self, publisher: MessagePublisher) -> None:
        assert publisher.publish_batch([]) == []

    def test_one_batch_may_span_several_destinations(
        self, publisher: MessagePublisher, new_queue: NewQueue, delivered: Delivered
    ) -> None:
        queues = [new_queue() for _ in range(3)]
        batch = [message(queues[n % 3], n) for n in range(9)]
        outcomes = publisher.publish_batch(batch)
        assert [o.message_id for o in outcomes] == ids(batch) and all(o.confirmed for o in outcomes)
        for queue in queues:
            expected = [envelope.id for envelope, _ in batch if envelope.destination == queue]
            assert [message_id for message_id, _ in delivered(queue)] == expected

    def test_a_big_batch_keeps_its_order(
        self, publisher: MessagePublisher, new_queue: NewQueue, delivered: Delivered
    ) -> None:
        queue = new_queue()
        batch = [message(queue, n) for n in range(500)]
        assert all(o.confirmed for o in publisher.publish_batch(batch))
        assert [message_id for message_id, _ in delivered(queue)] == ids(batch)

    def test_a_refused_destination_refuses_only_its_own_messages(
        self, publisher: MessagePublisher, new_queue: NewQueue, delivered: Delivered, refused_destination: str
    ) -> None:
        queue = new_queue()
        batch = [message(queue, 1), message(refused_destination, 2), message(queue, 3)]
        outcomes = publisher.publish_batch(batch)
        assert [o.message_id for o in outcomes] == ids(batch)
        assert [o.confirmed for o in outcomes] == [True, False, True]
        assert outcomes[1].error, "a refusal says why"
        assert outcomes[0].error is None and outcomes[2].error is None
        assert [message_id for message_id, _ in delivered(queue)] == [ids(batch)[0], ids(batch)[2]]

    def test_the_publisher_keeps_working_after_a_refusal(
        self, publisher: MessagePublisher, new_queue: NewQueue, delivered: Delivered, refused_destination: str
    ) -> None:
        assert not publisher.publish_batch([message(refused_destination)])[0].confirmed
        queue = new_queue()
        later = [message(queue, n) for n in range(3)]
        assert all(o.confirmed for o in publisher.publish_batch(later))
        assert [message_id for message_id, _ in delivered(queue)] == ids(later)

    def test_threads_may_publish_at_the_same_time(
        self, publisher: MessagePublisher, new_queue: NewQueue, delivered: Delivered
    ) -> None:
        queues = [new_queue() for _ in range(4)]
        batches = {queue: [[message(queue, 10 * b + n) for n in range(10)] for b in range(5)] for queue in queues}
        errors: list[BaseException] = []
        refused: list[PublishOutcome] = []
        start = threading.Barrier(len(queues))

        def publish(queue: str) -> None:
            try:
                start.wait(timeout=10)
                for batch in batches[queue]:
                    refused.extend(o for o in publisher.publish_batch(batch) if not o.confirmed)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=publish, args=(queue,)) for queue in queues]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a publishing thread hung"
        assert errors == [] and refused == []
        for queue in queues:
            expected = [envelope.id for batch in batches[queue] for envelope, _ in batch]
            assert [message_id for message_id, _ in delivered(queue)] == expected

    def test_an_unreachable_broker_is_a_messaging_error(
        self, unreachable_publisher: MessagePublisher, new_queue: NewQueue
    ) -> None:
        with pytest.raises(MessagingError) as caught:
            unreachable_publisher.publish_batch([message(new_queue())])
        assert str(caught.value)

    def test_close_may_be_called_twice(self, publisher: MessagePublisher, new_queue: NewQueue) -> None:
        publisher.publish_batch([message(new_queue())])
        publisher.close()
        publisher.close()
