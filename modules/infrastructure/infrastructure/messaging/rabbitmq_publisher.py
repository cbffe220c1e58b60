"""``PikaMessagePublisher``: events to RabbitMQ with publisher confirms, never losing one silently.

Each event is published once to the ``infrastructure.outbox`` exchange, which routes it to its
destination queue and, by type, to the queues of the modules listening to it (``event_topology``).
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pika
from pika.exceptions import AMQPConnectionError, ConnectionWrongStateError

from modules.infrastructure.domain.config.values import MessagingConfig, TLSFiles
from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.messaging.ports import PublishInterrupted, PublishOutcome
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.domain.policies.backoff import backoff_delay
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.messaging.broker_errors import REFUSED_CREDENTIALS, BrokerErrors
from modules.infrastructure.infrastructure.messaging.confirming_link import ConfirmingLink, LinkLost
from modules.infrastructure.infrastructure.messaging.event_topology import DESTINATION_HEADER
from modules.infrastructure.infrastructure.messaging.tls_context import amqps_context, ssl_options

logger = logging.getLogger(__name__)

# What a broker restart, a killed broker or a down broker raises; worth reconnecting for.
RECONNECTABLE = (AMQPConnectionError, ConnectionWrongStateError)
STAY_IN_OUTBOX = "The events stay in the outbox."
# After a blocked connection was lost, publish_batch refuses at once for 1, 2, 4 ... up to this many seconds.
BLOCKED_COOLDOWN_CAP = 30.0


@dataclass(frozen=True)
class BrokerSettings:
    urls: tuple[str, ...]
    queue_type: str = "classic"
    heartbeat: int = 60
    blocked_timeout: float = 30.0
    connect_timeout: float = 5.0
    reconnect_attempts: int = 5
    ssl_context: ssl.SSLContext | None = None  # of amqps:// URLs without ssl_options (None: the system's CAs)


def broker_settings(config: MessagingConfig) -> BrokerSettings:
    """The broker settings of the module's configuration."""
    return BrokerSettings(
        urls=config.rabbitmq_urls,
        queue_type=config.queue_type,
        heartbeat=config.heartbeat,
        blocked_timeout=config.blocked_timeout,
        connect_timeout=config.connect_timeout,
        ssl_context=amqps_context(config.tls) if any(url.startswith("amqps:") for url in config.rabbitmq_urls) else None,
    )


def connection_parameters(settings: BrokerSettings) -> list[pika.URLParameters]:
    """One parameter set per node, shuffled so clients spread over the cluster (pika refuses multi-host URLs)."""
    nodes = []
    for url in settings.urls:
        params = pika.URLParameters(url)
        named = set(parse_qs(urlsplit(url).query))  # a URL's own option wins over the setting (README, Configuration)
        defaults = {
            "heartbeat": settings.heartbeat,
            "blocked_connection_timeout": settings.blocked_timeout,
            "socket_timeout": settings.connect_timeout,
            "stack_timeout": settings.connect_timeout * 2,
        }
        for option, value in defaults.items():
            if option not in named:
                setattr(params, option, value)
        params.connection_attempts = 1  # the publisher and consumer reconnect themselves, with backoff
        if urlsplit(url).scheme == "amqps" and "ssl_options" not in named:
            params.ssl_options = ssl_options(settings.ssl_context or amqps_context(TLSFiles()), params.host)
        nodes.append(params)
    random.shuffle(nodes)
    return nodes


class PikaMessagePublisher:
    """Publishes with ``mandatory=True`` and persistent delivery, one connection per thread.

    Up to ``window`` messages are in flight at once and each counts as delivered only when the
    broker confirms it; an unroutable (returned) or nacked message is reported refused. After a
    connection loss the publisher reconnects with jittered backoff and republishes only the
    messages not yet settled, with the same message ids (one in flight when the connection
    went may have been stored: consumers detect the duplicate by its id).

    A connection the broker blocked (a memory or disk alarm) is not replaced at once: the call
    fails, and calls in the next 1, 2, 4 ... 30 s fail without connecting (ADR 0016).
    """

    def __init__(
        self,
        settings: BrokerSettings,
        redactor: Redactor | None = None,
        sleep: Callable[[float], None] = time.sleep,
        window: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._redactor = redactor or Redactor()
        self._errors = BrokerErrors(settings.urls, self._redactor)
        self._sleep = sleep
        self._window = window
        self._clock = clock
        self._blocked_losses = 0  # blocked connections lost in a row, across threads: the alarm is the broker's
        self._blocked_until = float("-inf")
        self._local = threading.local()
        self._links: list[ConfirmingLink] = []
        self._links_lock = threading.Lock()

    def publish_batch(self, messages: Sequence[tuple[Envelope, bytes]]) -> list[PublishOutcome]:
        """Each message's outcome; raises ``MessagingError`` once reconnecting gave up (unsettled events stay pending).

        A message pika cannot encode is refused (``retryable=False``) without holding up the others.
        Refused credentials raise ``MessagingAuthenticationError`` at once: reconnecting cannot help.
        A failure after the broker settled some messages is ``PublishInterrupted``, carrying those outcomes.
        """
        doing = f"Publishing {len(messages)} event(s)"
        self._refuse_while_cooling_down(doing)
        settled: dict[str, PublishOutcome] = {}
        try:
            with self._errors(doing, STAY_IN_OUTBOX):
                return self._publish_with_reconnects(messages, settled)
        except MessagingError as exc:
            if not settled:
                raise
            raise PublishInterrupted(str(exc), list(settled.values())) from exc.__cause__ or exc

    def ping(self) -> float:
        """Seconds taken to open and close a connection to the broker; raises ``MessagingError``."""
        started = time.perf_counter()
        with self._errors("Connecting"):
            pika.BlockingConnection(connection_parameters(self.settings)).close()
        return time.perf_counter() - started

    def _publish_with_reconnects(
        self, messages: Sequence[tuple[Envelope, bytes]], results: dict[str, PublishOutcome]
    ) -> list[PublishOutcome]:
        """Publish, reconnecting after a lost link; ``results`` gathers every outcome settled, even if this raises."""
        remaining = list(messages)
        last_error: BaseException | None = None
        for attempt in range(self.settings.reconnect_attempts + 1):
            if attempt:
                self._sleep(backoff_delay(attempt - 1, base=0.5, cap=5.0))
            try:
                results.update(self._link().publish(remaining, _properties, self._window))
                self._blocked_losses = 0
            except REFUSED_CREDENTIALS:
                raise
            except RECONNECTABLE as exc:
                last_error = exc
                results.update(exc.settled if isinstance(exc, LinkLost) else {})
                if isinstance(exc, LinkLost) and exc.blocked:
                    self._drop_link()
                    raise self._blocked_error(len(messages) - len(results)) from exc
                logger.warning("RabbitMQ connection lost (%s); reconnecting, attempt %d", type(exc).__name__, attempt + 1)
                self._drop_link()
            except BaseException:
                self._drop_link()  # a link that failed in an unforeseen way is not used again
                raise
            remaining = [(envelope, body) for envelope, body in remaining if envelope.id not in results]
            if not remaining:
                return [results[envelope.id] for envelope, _ in messages]
            self._drop_link()  # the channel went away mid-batch: start the rest on a fresh connection
        doing = f"Publishing {len(remaining)} event(s) after {self.settings.reconnect_attempts} reconnect attempts"
        if last_error is None:  # every attempt returned, but without an outcome for these
            raise MessagingError(
                f"{doing} failed: RabbitMQ at {self._errors.nodes} settled none of them. "
                f"Check the broker's log and that RABBITMQ_URL names the right nodes. {STAY_IN_OUTBOX}"
            )
        raise self._errors.error(last_error, doing, STAY_IN_OUTBOX) from last_error

    def _blocked_error(self, unsettled: int) -> MessagingError:
        """Start (or lengthen) the cool-down after a blocked connection was lost; the error that says so."""
        self._blocked_losses += 1
        cooldown = min(BLOCKED_COOLDOWN_CAP, 2.0 ** (self._blocked_losses - 1))
        self._blocked_until = self._clock() + cooldown
        logger.warning("RabbitMQ blocked publishing (a resource alarm); not publishing again for %g s", cooldown)
        return MessagingError(
            f"Publishing {unsettled} event(s) failed: RabbitMQ at {self._errors.nodes} blocked the connection "
            f"(a resource alarm: the broker is low on memory or disk) until it was lost "
            f"(RABBITMQ_BLOCKED_TIMEOUT={self.settings.blocked_timeout:g} s). Free memory or disk on the broker; "
            f"publishing resumes in {cooldown:g} s. {STAY_IN_OUTBOX}"
        )

    def _refuse_while_cooling_down(self, doing: str) -> None:
        wait = self._blocked_until - self._clock()
        if wait > 0:
            raise MessagingError(
                f"{doing} refused: RabbitMQ at {self._errors.nodes} blocked the last connection (a resource alarm: "
                f"low on memory or disk); the next attempt is in {wait:.1f} s. {STAY_IN_OUTBOX}"
            )

    def close(self) -> None:
        """Close every thread's connection (each from the thread that calls this: links are idle then)."""
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

    def _link(self) -> ConfirmingLink:
        link: ConfirmingLink | None = getattr(self._local, "link", None)
        # An idle link may have missed heartbeats while its I/O loop was not running: replace it.
        # RABBITMQ_HEARTBEAT=0 turns heartbeats off, so no idle time makes a link stale.
        heartbeat = self.settings.heartbeat
        if link is not None and (not link.is_open or (heartbeat > 0 and time.monotonic() - link.last_used > heartbeat / 2)):
            self._drop_link()
            link = None
        if link is None:
            arguments = {"x-queue-type": self.settings.queue_type}
            link = ConfirmingLink(connection_parameters(self.settings), arguments, self.settings.connect_timeout * 2)
            self._local.link = link
            with self._links_lock:
                self._links.append(link)
        return link

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
        headers={DESTINATION_HEADER: envelope.destination, **(envelope.trace.headers() if envelope.trace else {})},
    )


def _close_quietly(link: ConfirmingLink) -> None:
    try:
        link.close()
    except Exception:  # the connection is being thrown away either way
        logger.debug("Closing a RabbitMQ connection failed", exc_info=True)
