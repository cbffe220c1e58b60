"""``PikaMessagePublisher``: events to RabbitMQ, a batch per AMQP transaction, never losing one silently."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.exceptions import AMQPChannelError, AMQPConnectionError, ConnectionWrongStateError

from modules.infrastructure.domain.policies.backoff import backoff_delay
from modules.infrastructure.domain.ports import PublishOutcome
from modules.infrastructure.domain.secrets import Redactor, mask_url
from modules.infrastructure.module_api.errors import MessagingError
from modules.infrastructure.module_api.types import Envelope, MessagingConfig

logger = logging.getLogger(__name__)

# What a broker restart, a killed broker or a down broker raises; worth reconnecting for.
RECONNECTABLE = (AMQPConnectionError, ConnectionWrongStateError)


@dataclass(frozen=True)
class BrokerSettings:
    urls: tuple[str, ...]
    queue_type: str = "classic"
    heartbeat: int = 60
    blocked_timeout: float = 30.0
    connect_timeout: float = 5.0
    reconnect_attempts: int = 5


@dataclass
class _Link:
    """One thread's connection and channel, with what was declared on it."""

    connection: BlockingConnection
    channel: BlockingChannel
    declared: set[str] = field(default_factory=set)
    returned: set[str] = field(default_factory=set)


def broker_settings(config: MessagingConfig) -> BrokerSettings:
    """The broker settings of the module's configuration."""
    return BrokerSettings(
        urls=config.rabbitmq_urls,
        queue_type=config.queue_type,
        heartbeat=config.heartbeat,
        blocked_timeout=config.blocked_timeout,
        connect_timeout=config.connect_timeout,
    )


def connection_parameters(settings: BrokerSettings) -> list[pika.URLParameters]:
    """One parameter set per node, shuffled so clients spread over the cluster (pika refuses multi-host URLs)."""
    nodes = []
    for url in settings.urls:
        params = pika.URLParameters(url)
        params.heartbeat = settings.heartbeat
        params.blocked_connection_timeout = settings.blocked_timeout
        params.socket_timeout = settings.connect_timeout
        params.stack_timeout = settings.connect_timeout * 2
        params.connection_attempts = 1
        nodes.append(params)
    random.shuffle(nodes)
    return nodes


class PikaMessagePublisher:
    """Publishes with ``mandatory=True`` and persistent delivery, one connection per thread.

    A batch is one AMQP transaction: it counts as confirmed when ``tx.commit-ok`` arrives, and a
    message the broker returned as unroutable is reported refused. After a connection loss the
    publisher reconnects with jittered backoff and publishes the whole batch again with the same
    message ids (the broker dropped the uncommitted transaction; a commit whose answer was lost
    can make a duplicate, which consumers detect by message id).
    """

    def __init__(
        self, settings: BrokerSettings, redactor: Redactor | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.settings = settings
        self._redactor = redactor or Redactor()
        self._sleep = sleep
        self._local = threading.local()
        self._links: list[_Link] = []
        self._links_lock = threading.Lock()

    def publish_batch(self, messages: Sequence[tuple[Envelope, bytes]]) -> list[PublishOutcome]:
        last_error: BaseException | None = None
        for attempt in range(self.settings.reconnect_attempts + 1):
            if attempt:
                self._sleep(backoff_delay(attempt - 1, base=0.5, cap=5.0))
            try:
                return self._publish(self._link(), messages)
            except RECONNECTABLE as exc:
                last_error = exc
                logger.warning("RabbitMQ connection lost (%s); reconnecting, attempt %d", type(exc).__name__, attempt + 1)
                self._drop_link()
        nodes = ", ".join(mask_url(u) for u in self.settings.urls)
        raise MessagingError(
            f"RabbitMQ unreachable at {nodes} after {self.settings.reconnect_attempts} reconnect attempts "
            f"({self._redactor.redact(type(last_error).__name__ + ': ' + str(last_error))}); the events stay in the outbox"
        ) from last_error

    def ping(self) -> float:
        """Seconds taken to open and close a connection to the broker; raises ``MessagingError``."""
        started = time.perf_counter()
        try:
            pika.BlockingConnection(connection_parameters(self.settings)).close()
        except RECONNECTABLE as exc:
            raise MessagingError(f"RabbitMQ unreachable: {self._redactor.redact(str(exc) or type(exc).__name__)}") from exc
        return time.perf_counter() - started

    def keepalive(self) -> None:
        """Serve heartbeats on this thread's idle connection (a sleeping thread would lose it)."""
        link = getattr(self._local, "link", None)
        if link is not None:
            try:
                link.connection.process_data_events(0)
            except RECONNECTABLE:
                self._drop_link()

    def close(self) -> None:
        """Close every thread's connection."""
        with self._links_lock:
            links, self._links = self._links, []
        for link in links:
            _close_quietly(link)
        self._local = threading.local()

    def after_fork(self) -> None:
        """In a forked child: forget the parent's sockets without closing them."""
        self._local = threading.local()
        self._links = []
        self._links_lock = threading.Lock()

    def _publish(self, link: _Link, messages: Sequence[tuple[Envelope, bytes]]) -> list[PublishOutcome]:
        refused = self._declare_all(link, {envelope.destination for envelope, _ in messages})
        link.returned.clear()
        for envelope, body in messages:
            if envelope.destination not in refused:
                link.channel.basic_publish("", envelope.destination, body, _properties(envelope), mandatory=True)
        link.channel.tx_commit()
        link.connection.process_data_events(0)  # basic.return frames came before commit-ok; deliver them
        outcomes = []
        for envelope, _ in messages:
            if envelope.destination in refused:
                outcomes.append(PublishOutcome(envelope.id, False, refused[envelope.destination]))
            elif envelope.id in link.returned:
                link.declared.discard(envelope.destination)  # the queue went away: declare it again next time
                outcomes.append(PublishOutcome(envelope.id, False, f"unroutable: no queue named '{envelope.destination}'"))
            else:
                outcomes.append(PublishOutcome(envelope.id, True))
        return outcomes

    def _declare_all(self, link: _Link, destinations: set[str]) -> dict[str, str]:
        """Declare each new destination as a durable queue; the ones the broker refused, with why."""
        refused: dict[str, str] = {}
        for destination in sorted(destinations - link.declared):
            try:
                arguments = {"x-queue-type": self.settings.queue_type}
                link.channel.queue_declare(destination, durable=True, arguments=arguments)
                link.declared.add(destination)
            except AMQPChannelError as exc:
                refused[destination] = f"queue '{destination}' refused by the broker: {exc}"
                link.channel = self._open_channel(link)
        return refused

    def _link(self) -> _Link:
        link = getattr(self._local, "link", None)
        if link is None or not link.connection.is_open:
            connection = pika.BlockingConnection(connection_parameters(self.settings))
            link = _Link(connection, None)  # type: ignore[arg-type]
            link.channel = self._open_channel(link)
            self._local.link = link
            with self._links_lock:
                self._links.append(link)
        return link

    def _open_channel(self, link: _Link) -> BlockingChannel:
        channel = link.connection.channel()
        channel.add_on_return_callback(lambda _ch, _method, props, _body: link.returned.add(props.message_id))
        channel.tx_select()
        return channel

    def _drop_link(self) -> None:
        link = getattr(self._local, "link", None)
        self._local.link = None
        if link is not None:
            _close_quietly(link)
            with self._links_lock:
                self._links = [other for other in self._links if other is not link]


def _properties(envelope: Envelope) -> pika.BasicProperties:
    return pika.BasicProperties(
        message_id=envelope.id,
        content_type="application/json",
        delivery_mode=pika.DeliveryMode.Persistent,
        timestamp=int(datetime.fromisoformat(envelope.timestamp).timestamp()),
        type=envelope.type,
        correlation_id=envelope.correlation_id,
        priority=envelope.priority,
        app_id=envelope.source,
    )


def _close_quietly(link: _Link) -> None:
    try:
        if link.connection.is_open:
            link.connection.close()
    except Exception:  # the connection is being thrown away either way
        logger.debug("Closing a RabbitMQ connection failed", exc_info=True)
