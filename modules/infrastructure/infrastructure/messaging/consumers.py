"""``Consumers``: makes the consumers ``consume()`` hands out, and stops every one of them at shutdown."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from modules.infrastructure.domain.config.values import MessagingConfig
from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.tracing.ports import NO_TRACING, Tracer
from modules.infrastructure.domain.messaging.ports import Consumer
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.domain.secrets import Redactor

STOP_TIMEOUT = 5.0


class Consumers:
    """One RabbitMQ consumer per ``consume()`` call, each on its own connection; ``close()`` stops them all."""

    def __init__(self, config: MessagingConfig, redactor: Redactor, tracer: Tracer = NO_TRACING) -> None:
        self._config = config
        self._tracer = tracer
        self._redactor = redactor
        self._made: weakref.WeakSet[Consumer] = weakref.WeakSet()  # a running consumer is held by its thread
        self._lock = threading.Lock()

    def consume(self, queue: str, handler: Callable[[Envelope], Any], *, prefetch: int = 10, max_attempts: int = 5) -> Consumer:
        """A consumer of ``queue`` (not yet running); raises ``MessagingError`` without ``RABBITMQ_URL``."""
        if not self._config.rabbitmq_urls:
            raise MessagingError("consume needs a broker: set RABBITMQ_URL")
        from modules.infrastructure.infrastructure.messaging.rabbitmq_consumer import PikaConsumer
        from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import broker_settings

        consumer = PikaConsumer(
            broker_settings(self._config), queue, handler, prefetch=prefetch, max_attempts=max_attempts, redactor=self._redactor,
            tracer=self._tracer,
        )
        with self._lock:
            self._made.add(consumer)
        return consumer

    def close(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask every consumer to stop after the message in hand, then wait up to ``timeout`` in all for them."""
        with self._lock:
            consumers = list(self._made)
        for consumer in consumers:
            consumer.stop(timeout=0)
        deadline = time.monotonic() + timeout
        for consumer in consumers:
            consumer.stop(timeout=max(0.0, deadline - time.monotonic()))

    def after_fork(self) -> None:
        """In a forked child: the consumers' threads and connections stayed with the parent."""
        self._made = weakref.WeakSet()
        self._lock = threading.Lock()
