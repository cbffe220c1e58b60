"""The ``messaging`` line of the start-up report: broker, latency, outbox pending and failed."""

from __future__ import annotations

from collections.abc import Callable

from modules.infrastructure.domain.errors import InfrastructureError, MessagingAuthenticationError
from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck
from modules.infrastructure.domain.messaging.ports import MessagePublisher
from modules.infrastructure.domain.secrets import mask_url
from modules.infrastructure.infrastructure.messaging.events import OutboxMessaging


class MessagingHealthCheck:
    """Outbox counts always; with a broker configured, whether it answers: ``degraded`` when not, or when events
    failed; ``error`` when it refuses the credentials."""

    name = "messaging"

    def __init__(self, messaging: Callable[[], OutboxMessaging], publisher: Callable[[], MessagePublisher | None]) -> None:
        self._messaging = messaging
        self._publisher = publisher

    def check(self) -> ComponentCheck:
        try:
            counts = self._messaging().counts()
            waiting = f"{counts['pending']} events pending"
            outbox = f"outbox {counts['pending']} pending, {counts['failed']} failed"
            failed = counts["failed"]
        except InfrastructureError as exc:
            waiting = outbox = f"outbox unavailable ({exc})"
            failed = 0
        urls = self._messaging().config.rabbitmq_urls
        if not urls:
            return ComponentCheck(self.name, CheckStatus.SKIPPED, f"{waiting} (RABBITMQ_URL not set)")
        nodes = ", ".join(mask_url(u) for u in urls)
        try:
            publisher = self._publisher()
            latency = publisher.ping() * 1000 if publisher is not None else 0.0
        except MessagingAuthenticationError as exc:  # a wrong setting, not an outage: events would never leave
            return ComponentCheck(self.name, CheckStatus.ERROR, f"credentials refused at {nodes}: {exc}; {outbox}")
        except InfrastructureError as exc:
            return ComponentCheck(self.name, CheckStatus.DEGRADED, f"broker unreachable at {nodes}: {exc}; {outbox}")
        status = CheckStatus.DEGRADED if failed else CheckStatus.OK
        return ComponentCheck(self.name, status, f"RabbitMQ {nodes} reachable in {latency:.1f} ms, {outbox}")
