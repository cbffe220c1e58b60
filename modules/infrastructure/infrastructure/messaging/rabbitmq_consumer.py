"""``PikaConsumer``: one queue, manual acks, retries with an attempt count, then a dead-letter queue."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.tracing.ports import NO_TRACING, Tracer
from modules.infrastructure.infrastructure.messaging.process_span import process_span
from modules.infrastructure.domain.messaging.envelope import decode
from modules.infrastructure.domain.messaging.fields import AMQP_SHORT_STRING, name_problem
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.messaging.forwarded_headers import ATTEMPTS_HEADER, describe, forwarded_headers
from modules.infrastructure.infrastructure.messaging.queue_consumer import DEAD_SUFFIX, MAX_PREFETCH, QueueConsumer, republish
from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import BrokerSettings

logger = logging.getLogger(__name__)

MAX_ATTEMPTS_HEADER = 2**31 - 1  # a count that stays an AMQP 32-bit integer when raised by one


def earlier_attempts(headers: Mapping[str, Any] | None) -> int:
    """The ``x-attempts`` count of earlier deliveries (0 for a new message); ``MessagingError`` when it is malformed."""
    value = (headers or {}).get(ATTEMPTS_HEADER, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ATTEMPTS_HEADER:
        shown = value if isinstance(value, int) else type(value).__name__
        raise MessagingError(f"Malformed header: {ATTEMPTS_HEADER} must be a whole number from 0 to {MAX_ATTEMPTS_HEADER:,}, got {shown}")
    return value


class PikaConsumer(QueueConsumer):
    """Hands each message's envelope to ``handler`` and acks it once the handler returns.

    An exception means "try again": the message is republished (confirmed) with its attempt
    count raised, then acked; after ``max_attempts`` it goes to ``<queue>.dead`` instead, as
    does a body that is not an envelope. Delivery is at least once, so handlers must be
    idempotent: ``envelope.id`` is the same on every delivery of an event.
    """

    def __init__(
        self,
        settings: BrokerSettings,
        queue: str,
        handler: Callable[[Envelope], Any],
        *,
        prefetch: int = 10,
        max_attempts: int = 5,
        redactor: Redactor | None = None,
        tracer: Tracer = NO_TRACING,
    ) -> None:
        problem = name_problem("queue", queue)
        if problem is None and len(queue.encode()) > AMQP_SHORT_STRING - len(DEAD_SUFFIX):
            problem = f"queue is too long for its dead-letter queue '<queue>{DEAD_SUFFIX}' to fit AMQP's {AMQP_SHORT_STRING} bytes"
        if problem:
            raise MessagingError(f"consume needs a queue name it can use: {problem}")
        if not callable(handler):
            raise MessagingError(f"consume's handler must be a function of one Envelope, not {type(handler).__name__}")
        for name, value, most in (("prefetch", prefetch, MAX_PREFETCH), ("max_attempts", max_attempts, MAX_ATTEMPTS_HEADER)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
                shown = value if isinstance(value, int) else type(value).__name__
                raise MessagingError(f"consume's {name} must be a whole number at least 1 and at most {most:,}, got {shown}")
        super().__init__(settings, queue, prefetch=prefetch, redactor=redactor)
        self._handler = handler
        self._max_attempts = max_attempts
        self._tracer = tracer

    def _prepare(self, channel: BlockingChannel) -> None:
        arguments = {"x-queue-type": self.settings.queue_type}
        channel.queue_declare(self.queue, durable=True, arguments=arguments)
        channel.queue_declare(self.dead_letter_queue, durable=True, arguments=arguments)

    def _deliver(self, channel: BlockingChannel, method: Any, properties: Any, body: bytes) -> None:
        """Hand the message to the handler, retry it, or dead-letter it; what it holds never stops the consumer."""
        attempts = 1
        try:
            attempts = earlier_attempts(properties.headers) + 1
            envelope = decode(body)
        except MessagingError as exc:
            logger.warning("Message %r on '%s' is malformed; dead-lettered: %s", properties.message_id, self.queue, exc)
            self._forward(channel, self.dead_letter_queue, properties, body, attempts, str(exc))
        else:
            try:
                with process_span(self._tracer, envelope, self.queue, properties.headers):
                    self._handler(envelope)
            except Exception as exc:  # the handler's failure decides retry or dead-letter, never the loop
                error = self._redactor.redact(describe(exc))
                target = self.dead_letter_queue if attempts >= self._max_attempts else self.queue
                logger.warning("Handler failed for event %s (attempt %d/%d): %s", envelope.id, attempts, self._max_attempts, error)
                self._forward(channel, target, properties, body, attempts, error)
        channel.basic_ack(method.delivery_tag)
        self.handled += 1

    def _forward(self, channel: BlockingChannel, queue: str, properties: Any, body: bytes, attempts: int, error: str) -> None:
        """Republish (to retry or to the dead-letter queue) and wait for the confirm before the original is acked."""
        republish(channel, queue, properties, body, forwarded_headers(properties.headers, attempts, error))
