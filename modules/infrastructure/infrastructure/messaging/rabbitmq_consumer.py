"""``PikaConsumer``: one queue, manual acks, retries with an attempt count, then a dead-letter queue."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.messaging.envelope import decode
from modules.infrastructure.domain.messaging.fields import AMQP_SHORT_STRING, name_problem
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.domain.policies.backoff import backoff_delay
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.messaging import pika_header_decoding
from modules.infrastructure.infrastructure.messaging.broker_errors import REFUSED_CREDENTIALS, BrokerErrors
from modules.infrastructure.infrastructure.messaging.forwarded_headers import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    describe,
    forwarded_headers,
)
from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import (
    RECONNECTABLE,
    BrokerSettings,
    connection_parameters,
)

logger = logging.getLogger(__name__)

MAX_ATTEMPTS_HEADER = 2**31 - 1  # a count that stays an AMQP 32-bit integer when raised by one
MAX_PREFETCH = 65535  # basic.qos carries the prefetch count as an unsigned 16-bit number
DEAD_SUFFIX = ".dead"
_POLL = 0.5
STAY_IN_QUEUE = "Unacknowledged messages stay in the queue."


def earlier_attempts(headers: Mapping[str, Any] | None) -> int:
    """The ``x-attempts`` count of earlier deliveries (0 for a new message); ``MessagingError`` when it is malformed."""
    value = (headers or {}).get(ATTEMPTS_HEADER, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ATTEMPTS_HEADER:
        shown = value if isinstance(value, int) else type(value).__name__
        raise MessagingError(f"Malformed header: {ATTEMPTS_HEADER} must be a whole number from 0 to {MAX_ATTEMPTS_HEADER:,}, got {shown}")
    return value


class PikaConsumer:
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
        self.settings, self.queue, self.dead_letter_queue = settings, queue, f"{queue}{DEAD_SUFFIX}"
        pika_header_decoding.install()  # once per process: a timestamp header out of range must not end the connection
        self._handler = handler
        self._prefetch, self._max_attempts = prefetch, max_attempts
        self._redactor = redactor or Redactor()
        self._errors = BrokerErrors(settings.urls, self._redactor)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.handled = 0

    def run(self, *, max_messages: int | None = None, idle_timeout: float | None = None) -> int:
        """Consume until ``stop()``, Ctrl-C, ``max_messages`` handled, or ``idle_timeout`` seconds without a message.

        Reconnects after a connection loss (unacked messages are redelivered). Returns the number handled;
        raises ``MessagingError`` when the broker fails otherwise, or reconnecting gave up.
        """
        self._stopping.clear()
        try:
            with self._errors(f"Consuming '{self.queue}'", STAY_IN_QUEUE):
                self._consume_with_reconnects(max_messages, idle_timeout)
        except KeyboardInterrupt:
            logger.info("Consumer of '%s' interrupted; stopping cleanly", self.queue)
        return self.handled

    def start(self, **run_options: Any) -> None:
        """Run in a background thread (it owns its own connection)."""
        self._thread = threading.Thread(target=self.run, kwargs=run_options, name=f"consumer-{self.queue}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the message in hand, cancel the subscription and close; waits for a background thread."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _consume_with_reconnects(self, max_messages: int | None, idle_timeout: float | None) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._consume(max_messages, idle_timeout)
                return
            except REFUSED_CREDENTIALS:
                raise  # reconnecting cannot help; the seam says what to check
            except RECONNECTABLE as exc:
                failures += 1
                if failures > self.settings.reconnect_attempts:
                    doing = f"Consuming '{self.queue}' after {self.settings.reconnect_attempts} reconnect attempts"
                    raise self._errors.error(exc, doing, STAY_IN_QUEUE) from exc
                logger.warning("Consumer of '%s' lost its connection (%s); reconnecting", self.queue, type(exc).__name__)
                self._stopping.wait(backoff_delay(failures - 1, base=0.5, cap=5.0))

    def _consume(self, max_messages: int | None, idle_timeout: float | None) -> None:
        connection = pika.BlockingConnection(connection_parameters(self.settings))
        try:
            channel = connection.channel()
            arguments = {"x-queue-type": self.settings.queue_type}
            channel.queue_declare(self.queue, durable=True, arguments=arguments)
            channel.queue_declare(self.dead_letter_queue, durable=True, arguments=arguments)
            channel.confirm_delivery()
            channel.basic_qos(prefetch_count=self._prefetch)
            last_message = time.monotonic()
            for method, properties, body in channel.consume(self.queue, inactivity_timeout=_POLL):
                if method is not None:
                    self._deliver(channel, method, properties, body)
                    last_message = time.monotonic()
                if self._stopping.is_set() or (max_messages is not None and self.handled >= max_messages):
                    break
                if idle_timeout is not None and time.monotonic() - last_message >= idle_timeout:
                    break
            channel.cancel()
        finally:
            if connection.is_open:
                connection.close()

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
        headers = forwarded_headers(properties.headers, attempts, error)
        forwarded = pika.BasicProperties(
            message_id=properties.message_id,
            content_type=properties.content_type,
            delivery_mode=pika.DeliveryMode.Persistent,
            timestamp=properties.timestamp,
            type=properties.type,
            correlation_id=properties.correlation_id,
            app_id=properties.app_id,
            headers=headers,
        )
        channel.basic_publish("", queue, body, forwarded, mandatory=True)
