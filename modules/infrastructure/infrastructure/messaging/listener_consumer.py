"""``ModuleQueueConsumer``: one module's queue on RabbitMQ, each event handed to the module's matching listeners.

The publication records live behind the ``ListenerDelivery`` port; this side turns its outcomes into
broker moves: a ``retry`` waits in a bucket queue whose TTL sends it back (only to that listener,
named in ``x-listener``), a ``failed`` goes to the module's dead-letter queue, and the event is acked
only once those copies are confirmed. With the database down the event is requeued after a pause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import NackError, UnroutableError

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.messaging.envelope import decode
from modules.infrastructure.domain.messaging.listeners import MAX_ATTEMPTS, Listener
from modules.infrastructure.domain.messaging.ports import ListenerDelivery
from modules.infrastructure.domain.messaging.publications import DeliveryOutcome
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.domain.policies.backoff import backoff_delay
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.messaging.broker_errors import BrokerErrors
from modules.infrastructure.infrastructure.messaging.event_topology import (
    LISTENER_HEADER,
    RETRY_HEADER,
    bucket_for,
    declare_module_queue,
    declare_retry_queue,
    module_queue,
    retry_bucket_ms,
)
from modules.infrastructure.infrastructure.messaging.forwarded_headers import ERROR_HEADER, describe, short_reason, with_headers
from modules.infrastructure.infrastructure.messaging.process_span import with_header_trace
from modules.infrastructure.infrastructure.messaging.publication_model import MAX_EVENT_ID
from modules.infrastructure.infrastructure.messaging.queue_consumer import MAX_PREFETCH, QueueConsumer, republish
from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import BrokerSettings, connection_parameters

logger = logging.getLogger(__name__)

# After the records could not be written, the event goes back to the queue after up to 0.5, 1, 2 ... 5 s (jittered).
DATABASE_BACKOFF_BASE, DATABASE_BACKOFF_CAP = 0.5, 5.0


def prepare_module_queue(settings: BrokerSettings, module: str, patterns: Sequence[str], redactor: Redactor | None = None) -> str:
    """Declare ``module``'s queue, dead-letter queue and pattern bindings on a short-lived connection; the queue's name.

    Called when a listener registers, so events are routed to the queue from then on even before a
    consumer runs. Raises ``MessagingError`` when the broker cannot be reached or refuses a declaration.
    """
    with BrokerErrors(settings.urls, redactor or Redactor())(f"Declaring the listener queue of module '{module}'"):
        connection = pika.BlockingConnection(connection_parameters(settings))
        try:
            return declare_module_queue(connection.channel(), settings.queue_type, module, patterns)
        finally:
            if connection.is_open:
                connection.close()


class ModuleQueueConsumer(QueueConsumer):
    """Consumes ``infrastructure.listeners.<module>``; several processes of one module share its messages.

    ``listeners()`` is read for every message (listeners of other modules are ignored), and at every
    (re)connect to bind the queue to their patterns. Delivery is at least once; the publication records
    behind ``delivery`` skip what already completed.
    """

    def __init__(
        self,
        settings: BrokerSettings,
        module: str,
        listeners: Callable[[], Sequence[Listener]],
        delivery: ListenerDelivery,
        *,
        prefetch: int = 10,
        redactor: Redactor | None = None,
    ) -> None:
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or not 1 <= prefetch <= MAX_PREFETCH:
            shown = prefetch if isinstance(prefetch, int) else type(prefetch).__name__
            raise MessagingError(f"A module consumer's prefetch must be a whole number from 1 to {MAX_PREFETCH:,}, got {shown}")
        super().__init__(settings, module_queue(module), prefetch=prefetch, redactor=redactor)
        self.module = module
        self._listeners = listeners
        self._delivery = delivery
        self._database_failures = 0

    def _own_listeners(self) -> list[Listener]:
        return [listener for listener in self._listeners() if listener.module == self.module]

    def _prepare(self, channel: BlockingChannel) -> None:
        patterns = [listener.pattern.text for listener in self._own_listeners()]
        declare_module_queue(channel, self.settings.queue_type, self.module, patterns)

    def _deliver(self, channel: BlockingChannel, method: Any, properties: Any, body: bytes) -> None:
        self._deliver_batch(channel, [(method, properties, body)])

    def _deliver_batch(self, channel: BlockingChannel, messages: Sequence[tuple[Any, Any, bytes]]) -> None:
        """Run the matching listeners of every message at once; retry or dead-letter per outcome; ack each.

        When the records are out of reach, every message is requeued after a pause.
        """
        runnable: list[_Received] = []
        for method, properties, body in messages:
            received = self._read(channel, method, properties, body)
            if received is not None:
                runnable.append(received)
        outcomes = self._run_listeners([(r.envelope, r.text, r.listeners) for r in runnable])
        if outcomes is None:
            self._stopping.wait(backoff_delay(self._database_failures - 1, base=DATABASE_BACKOFF_BASE, cap=DATABASE_BACKOFF_CAP))
            for received in runnable:
                channel.basic_nack(received.method.delivery_tag, requeue=True)
            return
        for received, of_event in zip(runnable, outcomes):
            by_identity = {listener.identity: listener for listener in received.listeners}
            try:
                for outcome in of_event:
                    self._settle(channel, received.properties, received.body, received.headers, outcome, by_identity.get(outcome.listener))
            except (UnroutableError, NackError) as exc:  # a queue was deleted under us, or the broker refused the copy
                logger.warning("Event %s on '%s' requeued: a retry or dead-letter copy was refused (%s)", received.envelope.id, self.queue, exc)
                self._prepare(channel)  # declare again what may have gone
                self._stopping.wait(DATABASE_BACKOFF_BASE)
                channel.basic_nack(received.method.delivery_tag, requeue=True)
                continue
            self._ack(channel, received.method)

    def _read(self, channel: BlockingChannel, method: Any, properties: Any, body: bytes) -> _Received | None:
        """The message's event and the listeners to run; None when it was dead-lettered (malformed, or for no listener here)."""
        headers = dict(properties.headers or {})
        try:
            envelope, text = decode(body), body.decode("utf-8")
            if len(envelope.id) > MAX_EVENT_ID:  # another producer's id: its record could never be written, for ever
                raise MessagingError(f"Not an event this module can record: its id is {len(envelope.id)} characters, over {MAX_EVENT_ID}")
        except (MessagingError, UnicodeDecodeError) as exc:
            logger.warning("Message %r on '%s' is malformed; dead-lettered: %s", properties.message_id, self.queue, exc)
            republish(channel, self.dead_letter_queue, properties, body, with_headers(headers, {ERROR_HEADER: short_reason(str(exc))}))
            self._ack(channel, method)
            return None
        envelope = with_header_trace(envelope, headers)
        wanted = headers.get(LISTENER_HEADER)
        listeners = [
            listener
            for listener in self._own_listeners()
            if listener.pattern.matches(envelope.type) and (wanted is None or listener.identity == wanted)
        ]
        if wanted is not None and not listeners:
            reason = f"listener '{wanted}' is not registered in this process of module '{self.module}'"
            logger.warning("Event %s for %s dead-lettered: %s", envelope.id, wanted, reason)
            republish(channel, self.dead_letter_queue, properties, body, with_headers(headers, {ERROR_HEADER: reason}))
            self._ack(channel, method)
            return None
        return _Received(method, properties, body, headers, envelope, text, listeners)

    def _run_listeners(self, events: list[tuple[Envelope, str, list[Listener]]]) -> list[list[DeliveryOutcome]] | None:
        """The outcomes per event; None when the records could not be written (the database is down) or delivery broke."""
        if not events:
            return []
        try:
            outcomes = self._delivery.deliver_many(events)
        except MessagingError as exc:
            logger.warning("%d event(s) on '%s' requeued: their records are out of reach: %s", len(events), self.queue, exc)
        except Exception as exc:  # deliver catches handlers' failures; anything else must not end the consumer either
            logger.error("%d event(s) on '%s' requeued: delivery failed: %s", len(events), self.queue, self._redactor.redact(describe(exc)))
        else:
            self._database_failures = 0
            return outcomes
        self._database_failures += 1
        return None

    def _settle(
        self, channel: BlockingChannel, properties: Any, body: bytes, headers: dict[str, Any], outcome: DeliveryOutcome,
        listener: Listener | None,
    ) -> None:
        """A ``retry`` waits in its bucket, a ``failed`` goes to the dead-letter queue; both only for that listener."""
        if outcome.outcome == "retry":
            delay = outcome.retry_in if outcome.retry_in is not None else 1.0
            number = _retry_number(headers) + 1
            wait_ms = bucket_for(listener.retry, delay, number) if listener is not None else retry_bucket_ms(delay)
            bucket = declare_retry_queue(channel, self.settings.queue_type, self.queue, wait_ms)
            copy = {key: value for key, value in headers.items() if key not in ("x-death", ERROR_HEADER)}
            added = {LISTENER_HEADER: outcome.listener, RETRY_HEADER: number}
            republish(channel, bucket, properties, body, with_headers(copy, added))
        elif outcome.outcome == "failed":
            error = short_reason(self._redactor.redact(outcome.error or "the listener failed its last attempt"))
            added = {LISTENER_HEADER: outcome.listener, ERROR_HEADER: error}
            republish(channel, self.dead_letter_queue, properties, body, with_headers(headers, added))

    def _ack(self, channel: BlockingChannel, method: Any) -> None:
        channel.basic_ack(method.delivery_tag)
        self.handled += 1


@dataclass(frozen=True)
class _Received:
    """A message to hand to listeners: the delivery, its event and the module's listeners that match."""

    method: Any
    properties: Any
    body: bytes
    headers: dict[str, Any]
    envelope: Envelope
    text: str
    listeners: list[Listener]


def _retry_number(headers: dict[str, Any]) -> int:
    """The retry a copy waited for (``x-retry``), 0 for an original message or a header that is not a small count."""
    value = headers.get(RETRY_HEADER, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ATTEMPTS else 0
