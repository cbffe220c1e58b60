"""``QueueConsumer``: the subscription loop both consumers share: own connection, reconnects with backoff, clean stop.

A subclass declares what it consumes (``_prepare``, run on every (re)connect) and handles each
message (``_deliver``), acking or nacking it itself; ``republish`` sends a copy with confirms.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

from modules.infrastructure.domain.policies.backoff import backoff_delay
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.messaging import pika_header_decoding
from modules.infrastructure.infrastructure.messaging.broker_errors import REFUSED_CREDENTIALS, BrokerErrors
from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import (
    RECONNECTABLE,
    BrokerSettings,
    connection_parameters,
)

logger = logging.getLogger(__name__)

MAX_PREFETCH = 65535  # basic.qos carries the prefetch count as an unsigned 16-bit number
DEAD_SUFFIX = ".dead"
POLL = 0.5
STAY_IN_QUEUE = "Unacknowledged messages stay in the queue."


class QueueConsumer:
    """Consumes ``queue`` with manual acks until stopped; what a message holds is the subclass's to handle."""

    def __init__(self, settings: BrokerSettings, queue: str, *, prefetch: int, redactor: Redactor | None) -> None:
        self.settings, self.queue, self.dead_letter_queue = settings, queue, f"{queue}{DEAD_SUFFIX}"
        pika_header_decoding.install()  # once per process: a timestamp header out of range must not end the connection
        self._prefetch = prefetch
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

    def _prepare(self, channel: BlockingChannel) -> None:
        """Declare what is consumed; run on every (re)connect."""
        raise NotImplementedError

    def _deliver(self, channel: BlockingChannel, method: Any, properties: Any, body: bytes) -> None:
        """Handle one message and ack (or nack) it; nothing it holds may raise out of here."""
        raise NotImplementedError

    def _deliver_batch(self, channel: BlockingChannel, messages: Sequence[tuple[Any, Any, bytes]]) -> None:
        """Handle the messages received together (one at a time unless a subclass does better)."""
        for method, properties, body in messages:
            self._deliver(channel, method, properties, body)

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
            self._prepare(channel)
            channel.confirm_delivery()
            channel.basic_qos(prefetch_count=self._prefetch)
            last_message = time.monotonic()
            consuming = channel.consume(self.queue, inactivity_timeout=POLL)
            for method, properties, body in consuming:
                if method is not None:
                    batch = [(method, properties, body)]
                    # The messages already received (up to the prefetch) are handled together.
                    while len(batch) < self._prefetch and channel.get_waiting_message_count() > 0:
                        batch.append(next(consuming))
                    self._deliver_batch(channel, batch)
                    last_message = time.monotonic()
                if self._stopping.is_set() or (max_messages is not None and self.handled >= max_messages):
                    break
                if idle_timeout is not None and time.monotonic() - last_message >= idle_timeout:
                    break
            channel.cancel()
        finally:
            if connection.is_open:
                connection.close()


def republish(channel: BlockingChannel, queue: str, properties: Any, body: bytes, headers: Mapping[str, Any]) -> None:
    """A persistent copy of a message, with ``headers``, to ``queue``; returns once the broker confirmed it.

    The channel must be in confirm mode: pika then raises when the broker returns or nacks the copy.
    """
    copy = pika.BasicProperties(
        message_id=properties.message_id,
        content_type=properties.content_type,
        delivery_mode=pika.DeliveryMode.Persistent,
        timestamp=properties.timestamp,
        type=properties.type,
        correlation_id=properties.correlation_id,
        priority=properties.priority,
        app_id=properties.app_id,
        headers=dict(headers),
    )
    channel.basic_publish("", queue, body, copy, mandatory=True)
