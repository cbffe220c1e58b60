"""Module queues on the real RabbitMQ: every listening module gets every matching event, retries wait, failures dead-letter.

Module names carry a random test prefix; each test deletes the queues it made (module queue, its
dead-letter queue and retry buckets). The publication records are a recording fake of the
``ListenerDelivery`` port; a broker restart happens on the private node.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pika
import pytest

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.messaging.envelope import new_envelope
from modules.infrastructure.domain.messaging.listeners import Listener, ListenerRetry, new_listener
from modules.infrastructure.domain.messaging.publications import DeliveryOutcome
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.infrastructure.messaging.dead_letter_replay import replay_dead_letters
from modules.infrastructure.infrastructure.messaging.event_topology import (
    LISTENER_HEADER,
    MAX_STEP,
    bucket_ms,
    dead_letter_queue,
    module_queue,
    retry_queue,
)
from modules.infrastructure.infrastructure.messaging.listener_consumer import ModuleQueueConsumer, prepare_module_queue
from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import BrokerSettings, PikaMessagePublisher
from tests.integration.private_rabbitmq import PrivateRabbitMQ
from tests.integration.test_messaging_rabbitmq import Broker, broker  # noqa: F401 (fixture)

WAIT = 30.0


@dataclass
class RecordingDelivery:
    """A ``ListenerDelivery`` that records each (event id, listener) call and its time, and fails as scripted.

    ``failures[listener identity]`` is how many times in a row that listener fails an event before it
    succeeds (``None``: always); ``down`` is how many calls raise ``MessagingError`` (the database down).
    """

    failures: dict[str, int | None] = field(default_factory=dict)
    down: int = 0
    calls: list[tuple[str, str, float]] = field(default_factory=list)
    outages: int = 0
    _attempts: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def deliver(self, envelope: Envelope, body: str, listeners: Sequence[Listener]) -> list[DeliveryOutcome]:
        with self._lock:
            if self.down > 0:
                self.down -= 1
                self.outages += 1
                raise MessagingError("Reading the publication records failed: the database is down (test)")
            outcomes = []
            for listener in listeners:
                key = (envelope.id, listener.identity)
                self._attempts[key] += 1
                attempt = self._attempts[key]
                self.calls.append((envelope.id, listener.identity, time.monotonic()))
                failing = listener.identity in self.failures and (
                    self.failures[listener.identity] is None or attempt <= (self.failures[listener.identity] or 0)
                )
                if not failing:
                    outcomes.append(DeliveryOutcome(listener.identity, envelope.id, "completed"))
                elif attempt >= listener.retry.attempts:
                    outcomes.append(DeliveryOutcome(listener.identity, envelope.id, "failed", error="RuntimeError: password=hunter2 down"))
                else:
                    delay = listener.retry.delay(attempt)
                    outcomes.append(DeliveryOutcome(listener.identity, envelope.id, "retry", retry_in=delay, error="RuntimeError"))
            return outcomes

    def deliver_many(self, events: Sequence[tuple[Envelope, str, Sequence[Listener]]]) -> list[list[DeliveryOutcome]]:
        with self._lock:
            if self.down > 0:  # one outage fails the whole batch, as a database that is down would
                self.down -= 1
                self.outages += 1
                raise MessagingError("Reading the publication records failed: the database is down (test)")
        return [self.deliver(envelope, body, listeners) for envelope, body, listeners in events]

    def reopen(self, event_id: str, listener: str) -> None:
        with self._lock:
            self._attempts[(event_id, listener)] = 0
            self.failures.pop(listener, None)

    def seen(self, listener: str | None = None) -> list[str]:
        with self._lock:
            return [event_id for event_id, identity, _ in self.calls if listener is None or identity == listener]


class Modules:
    """Unique module names on one broker, and clean-up of every queue their consumers may have made."""

    def __init__(self, url: str) -> None:
        self.settings = BrokerSettings(urls=(url,), reconnect_attempts=30)
        self.prefix = f"infra_test_{uuid.uuid4().hex[:8]}"
        self.made: list[str] = []
        self.consumers: list[ModuleQueueConsumer] = []

    def new(self, name: str) -> str:
        module = f"{self.prefix}_{name}"
        self.made.append(module)
        return module

    def consumer(self, module: str, listeners: list[Listener], delivery: RecordingDelivery, prefetch: int = 10) -> ModuleQueueConsumer:
        consumer = ModuleQueueConsumer(self.settings, module, lambda: listeners, delivery, prefetch=prefetch)
        self.consumers.append(consumer)
        return consumer

    def cleanup(self) -> None:
        for consumer in self.consumers:
            consumer.stop(timeout=10)
        connection = pika.BlockingConnection(pika.URLParameters(self.settings.urls[0]))
        try:
            channel = connection.channel()
            for module in self.made:
                queue = module_queue(module)
                for name in (queue, dead_letter_queue(queue), *(retry_queue(queue, bucket_ms(s)) for s in range(MAX_STEP + 1))):
                    channel.queue_delete(name)
        finally:
            connection.close()


@pytest.fixture
def modules(rabbitmq_url: str) -> Iterator[Modules]:
    made = Modules(rabbitmq_url)
    yield made
    made.cleanup()


def listener(module: str, pattern: str, name: str, retry: ListenerRetry | None = None) -> Listener:
    return new_listener(pattern, lambda _event, _db: None, module=module, name=name, retry=retry)


def failing(modules: Modules, name: str, retry: ListenerRetry, failures: int | None) -> tuple[Listener, RecordingDelivery, str]:
    """A module consumed in the background whose listener ``name`` fails ``failures`` times per event (None: always)
    and whose listener ``steady`` never fails; the failing listener, the recording delivery and the module's queue.
    """
    module = modules.new(name)
    kind = f"{modules.prefix}.{name}.happened"
    flaky, steady = listener(module, kind, name, retry), listener(module, kind, "steady")
    queue = prepare_module_queue(modules.settings, module, [kind])
    delivery = RecordingDelivery(failures={flaky.identity: failures})
    modules.consumer(module, [flaky, steady], delivery).start()
    return flaky, delivery, queue


def publish(settings: BrokerSettings, destination: str, event_type: str, n: int, priority: int = 0) -> list[str]:
    """``n`` events of ``event_type`` through the outbox's publisher, all confirmed; their ids."""
    publisher = PikaMessagePublisher(settings)
    try:
        batch = [new_envelope(destination, {"n": i}, event_type=event_type, source="tests", priority=priority) for i in range(n)]
        outcomes = publisher.publish_batch(batch)
    finally:
        publisher.close()
    assert all(outcome.confirmed for outcome in outcomes), outcomes
    return [envelope.id for envelope, _ in batch]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"within {timeout:g} s: {what}")
        time.sleep(0.05)


def test_every_module_gets_every_matching_event_and_the_consumers_of_one_module_share_them(
    modules: Modules, broker: Broker  # noqa: F811
) -> None:
    kind = modules.prefix
    content, analytics = modules.new("content"), modules.new("analytics")
    one_word = listener(content, f"{kind}.*", "on_any")
    every = listener(analytics, f"{kind}.#", "on_all")
    for module, pattern in ((content, one_word.pattern.text), (analytics, every.pattern.text)):
        prepare_module_queue(modules.settings, module, [pattern])
    delivery = RecordingDelivery()
    first, second = (modules.consumer(content, [one_word, every], delivery, prefetch=1) for _ in range(2))
    third = modules.consumer(analytics, [one_word, every], delivery)
    for consumer in (first, second, third):
        consumer.start()
    wait_until(lambda: broker.consumer_count(module_queue(content)) == 2, "both consumers of one module subscribed")
    destination = broker.new_queue()
    created = publish(modules.settings, destination, f"{kind}.created", 40)
    nested = publish(modules.settings, destination, f"{kind}.question.created", 5)
    other = publish(modules.settings, destination, f"{kind}x.created", 3)
    wait_until(lambda: len(delivery.seen()) == 40 + 45, "each matching event delivered to each listener")
    assert Counter(delivery.seen(one_word.identity)) == Counter(created)
    assert Counter(delivery.seen(every.identity)) == Counter(created + nested)
    assert not set(other) & set(delivery.seen())
    assert first.handled > 0 and second.handled > 0 and first.handled + second.handled == 40
    assert broker.ids(destination) == created + nested + other, "the named queue still gets every event sent to it"


def test_a_copy_naming_its_listener_goes_to_that_listener_only(modules: Modules) -> None:
    module = modules.new("lessons")
    kind = f"{modules.prefix}.lesson.created"
    both = [listener(module, kind, "index"), listener(module, kind, "notify")]
    queue = prepare_module_queue(modules.settings, module, [kind])
    envelope, body = new_envelope("unused", {"n": 1}, event_type=kind, source="tests")
    connection = pika.BlockingConnection(pika.URLParameters(modules.settings.urls[0]))
    headers = {LISTENER_HEADER: both[1].identity}
    connection.channel().basic_publish("", queue, body, pika.BasicProperties(message_id=envelope.id, headers=headers))
    connection.close()
    delivery = RecordingDelivery()
    assert modules.consumer(module, both, delivery).run(max_messages=1, idle_timeout=10) == 1
    assert [(event_id, identity) for event_id, identity, _ in delivery.calls] == [(envelope.id, both[1].identity)]


def test_a_failing_listener_waits_its_backoff_in_a_bucket_without_holding_up_later_events(
    modules: Modules, broker: Broker  # noqa: F811
) -> None:
    flaky, delivery, queue = failing(modules, "flaky", ListenerRetry(base_seconds=1.0, factor=2.0, cap_seconds=10.0, attempts=4), 2)
    [first] = publish(modules.settings, broker.new_queue(), flaky.pattern.text, 1)
    wait_until(lambda: len(delivery.seen(flaky.identity)) == 1, "the first attempt")
    later = publish(modules.settings, broker.new_queue(), flaky.pattern.text, 3)
    wait_until(lambda: delivery.seen(flaky.identity).count(first) == 3, "two retries of the failing listener")
    times = [at for event_id, identity, at in delivery.calls if (event_id, identity) == (first, flaky.identity)]
    # Retry n waits from half to all of min(cap, base * factor**(n-1)); the broker adds its own few milliseconds.
    assert 0.5 <= times[1] - times[0] <= 1.0 + 0.5
    assert 1.0 <= times[2] - times[1] <= 2.0 + 0.5
    assert set(later) <= set(delivery.seen(flaky.identity)[:4]), "later events were delivered while the first one waited"
    assert Counter(delivery.seen(f"{flaky.module}.steady")) == Counter([first, *later]), "a retry copy is for its listener only"
    wait_until(lambda: broker.message_count(queue) == 0, "the queue drained")


def test_after_its_last_attempt_an_event_is_dead_lettered_and_a_replay_delivers_it_again(
    modules: Modules, broker: Broker  # noqa: F811
) -> None:
    broken, delivery, queue = failing(modules, "broken", ListenerRetry(base_seconds=0.05, factor=2.0, cap_seconds=1.0, attempts=3), None)
    [event] = publish(modules.settings, broker.new_queue(), broken.pattern.text, 1)
    wait_until(lambda: broker.message_count(dead_letter_queue(queue)) == 1, "the event dead-lettered")
    assert delivery.seen(broken.identity) == [event] * 3 and delivery.seen(f"{broken.module}.steady") == [event]
    modules.consumers[-1].stop()
    [(properties, body)] = broker.drain(dead_letter_queue(queue))
    assert properties.message_id == event and properties.headers[LISTENER_HEADER] == broken.identity
    assert properties.headers["x-last-error"] == "RuntimeError: password=hunter2 down"  # redaction is the redactor's

    connection = pika.BlockingConnection(pika.URLParameters(modules.settings.urls[0]))
    connection.channel().basic_publish("", dead_letter_queue(queue), body, properties)  # drained to look: put back
    connection.close()
    reopened: list[tuple[str, str]] = []

    def reopen(event_id: str, identity: str) -> None:
        reopened.append((event_id, identity))
        delivery.reopen(event_id, identity)  # the fault is fixed and the record is pending again

    assert replay_dead_letters(modules.settings, broken.module, reopen, max_messages=None) == 1
    assert reopened == [(event, broken.identity)]
    assert modules.consumer(broken.module, [broken], delivery).run(max_messages=1, idle_timeout=10) == 1
    assert delivery.seen(broken.identity) == [event] * 4 and delivery.seen(f"{broken.module}.steady") == [event]
    assert broker.message_count(dead_letter_queue(queue)) == 0


def test_a_higher_priority_event_overtakes_a_backlog(modules: Modules, broker: Broker) -> None:  # noqa: F811
    module = modules.new("ranked")
    kind = f"{modules.prefix}.report.due"
    ranked = listener(module, kind, "ranked")
    prepare_module_queue(modules.settings, module, [kind])
    destination = broker.new_queue()
    backlog = publish(modules.settings, destination, kind, 20)
    [urgent] = publish(modules.settings, destination, kind, 1, priority=9)
    delivery = RecordingDelivery()
    assert modules.consumer(module, [ranked], delivery, prefetch=1).run(max_messages=21, idle_timeout=10) == 21
    assert delivery.seen()[0] == urgent and delivery.seen()[1:] == backlog


def test_the_consumer_survives_records_out_of_reach_and_delivers_once_they_are_back(modules: Modules, broker: Broker) -> None:  # noqa: F811
    module = modules.new("patient")
    kind = f"{modules.prefix}.user.joined"
    patient = listener(module, kind, "patient")
    queue = prepare_module_queue(modules.settings, module, [kind])
    delivery = RecordingDelivery(down=3)
    events = publish(modules.settings, broker.new_queue(), kind, 2)
    assert modules.consumer(module, [patient], delivery).run(max_messages=2, idle_timeout=15) == 2
    assert delivery.outages == 3
    assert sorted(delivery.seen()) == sorted(events)
    assert broker.message_count(queue) == 0 and broker.message_count(dead_letter_queue(queue)) == 0


def test_a_consumer_goes_on_after_a_broker_restart(private_rabbitmq: PrivateRabbitMQ) -> None:
    modules = Modules(private_rabbitmq.url)
    try:
        module = modules.new("durable")
        kind = f"{modules.prefix}.course.started"
        durable = listener(module, kind, "durable")
        prepare_module_queue(modules.settings, module, [kind])
        delivery = RecordingDelivery()
        modules.consumer(module, [durable], delivery).start()
        before = publish(modules.settings, "infra_test_restart_named", kind, 5)
        wait_until(lambda: len(delivery.seen()) == 5, "the events before the restart")
        private_rabbitmq.stop()
        private_rabbitmq.start()
        after = publish(modules.settings, "infra_test_restart_named", kind, 5)
        wait_until(lambda: set(delivery.seen()) == set(before + after), "the events after the restart", timeout=90)
    finally:
        modules.cleanup()


def test_an_event_no_queue_takes_is_still_refused_as_unroutable(modules: Modules, broker: Broker) -> None:  # noqa: F811
    module = modules.new("listening")
    heard, unheard = f"{modules.prefix}.heard", f"{modules.prefix}.unheard"
    prepare_module_queue(modules.settings, module, [heard])
    destination = broker.new_queue()
    publisher = PikaMessagePublisher(modules.settings)
    try:
        assert publisher.publish_batch([new_envelope(destination, {}, event_type=heard, source="tests")])[0].confirmed
        broker.delete(destination)  # the publisher declared and bound it, and remembers that
        lost = new_envelope(destination, {}, event_type=unheard, source="tests")
        [outcome] = publisher.publish_batch([lost])
        assert not outcome.confirmed and outcome.error == f"unroutable: no queue named '{destination}'"
        # The refusal made the publisher declare the queue again; a module listening to the type gets the event too.
        again = new_envelope(destination, {}, event_type=heard, source="tests")
        assert publisher.publish_batch([again])[0].confirmed
    finally:
        publisher.close()
    assert broker.ids(destination) == [again[0].id]
    assert broker.message_count(module_queue(module)) == 2


def test_a_malformed_message_is_dead_lettered_and_a_replay_leaves_it_there(modules: Modules, broker: Broker) -> None:  # noqa: F811
    module = modules.new("strict")
    queue = prepare_module_queue(modules.settings, module, [f"{modules.prefix}.#"])
    connection = pika.BlockingConnection(pika.URLParameters(modules.settings.urls[0]))
    connection.channel().basic_publish("", queue, b"not json", pika.BasicProperties(message_id="garbage"))
    connection.close()
    delivery = RecordingDelivery()
    assert modules.consumer(module, [], delivery).run(max_messages=1, idle_timeout=10) == 1
    assert delivery.calls == []
    assert replay_dead_letters(modules.settings, module, delivery.reopen, max_messages=None) == 0
    [(properties, body)] = broker.drain(dead_letter_queue(queue))
    assert (properties.message_id, body) == ("garbage", b"not json")
    assert properties.headers["x-last-error"].startswith("Not an event envelope: the body is not JSON")
