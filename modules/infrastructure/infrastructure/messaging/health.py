"""The ``messaging`` line of the start-up report: broker, latency, outbox pending and failed."""

from __future__ import annotations

from collections.abc import Callable

from modules.infrastructure.domain.errors import InfrastructureError, MessagingAuthenticationError
from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck
from modules.infrastructure.domain.messaging.ports import MessagePublisher
from modules.infrastructure.domain.secrets import mask_url
from modules.infrastructure.infrastructure.messaging.events import OutboxMessaging
from modules.infrastructure.infrastructure.messaging.module_events import ModuleEvents


class MessagingHealthCheck:
    """Outbox and listener counts always; with a broker configured, whether it answers: ``degraded`` when not, or
    when events or publications failed; ``error`` when it refuses the credentials."""

    name = "messaging"

    def __init__(
        self,
        messaging: Callable[[], OutboxMessaging],
        publisher: Callable[[], MessagePublisher | None],
        listeners: Callable[[], ModuleEvents],
    ) -> None:
        self._messaging = messaging
        self._publisher = publisher
        self._listeners = listeners

    def check(self) -> ComponentCheck:
        check = self._broker_check()
        listening, failed = self._listening()
        status = CheckStatus.DEGRADED if failed and check.status in (CheckStatus.OK, CheckStatus.SKIPPED) else check.status
        return ComponentCheck(self.name, status, f"{check.detail}; {listening}")

    def _listening(self) -> tuple[str, int]:
        """``listeners: N registered (...), P publications pending, F failed`` and the failed count."""
        try:
            statuses = self._listeners().statuses()
        except InfrastructureError as exc:
            return f"listener publications unavailable ({exc})", 0
        registered = [s.listener for s in statuses if s.pattern]
        pending, failed = sum(s.pending for s in statuses), sum(s.failed for s in statuses)
        names = f" ({', '.join(registered[:5])}{', ...' if len(registered) > 5 else ''})" if registered else ""
        return f"listeners: {len(registered) or 'none'} registered{names}, {pending} publications pending, {failed} failed", failed

    def _broker_check(self) -> ComponentCheck:
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
