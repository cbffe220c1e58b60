"""Ports of messaging: the broker publisher the relay uses, and the consumer ``consume()`` returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.lifecycle import Resource
from modules.infrastructure.domain.messaging.listeners import Listener
from modules.infrastructure.domain.messaging.publications import DeliveryOutcome
from modules.infrastructure.domain.messaging.values import Envelope


@dataclass(frozen=True)
class PublishOutcome:
    """The broker's answer for one message: confirmed, or refused with the reason.

    ``retryable`` is False when the message itself can never be published (the client cannot
    encode it): the relay then fails its row at once instead of offering it again.
    """

    message_id: str
    confirmed: bool
    error: str | None = None
    retryable: bool = True


class PublishInterrupted(MessagingError):
    """The broker connection failed mid-batch; ``settled`` holds the outcomes the broker gave before, which still hold.

    The relay marks those sent (or refused) before it gives up, so a confirmed event is never offered again.
    """

    def __init__(self, message: str, settled: Sequence[PublishOutcome]) -> None:
        super().__init__(message)
        self.settled = tuple(settled)


class MessagePublisher(Resource, Protocol):
    """Publishes events to the broker and says, per message, whether the broker took it."""

    def publish_batch(self, messages: Sequence[tuple[Envelope, bytes]]) -> list[PublishOutcome]:
        """One outcome per message, in order; raises ``MessagingError`` when the broker cannot be reached.

        When the broker settled some of them first, the error is ``PublishInterrupted`` and carries those outcomes.
        """
        ...

    def ping(self) -> float:
        """Seconds a round trip to the broker takes; raises ``MessagingError`` when it does not answer."""
        ...


class Consumer(Protocol):
    """A running or runnable subscription to one queue (see ``InfrastructureService.consume``)."""

    queue: str
    dead_letter_queue: str

    def run(self, *, max_messages: int | None = None, idle_timeout: float | None = None) -> int: ...

    def start(self, **run_options: Any) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


class ListenerDelivery(Protocol):
    """Runs listeners on events; a handler's work commits with the completion of its publication record."""

    def deliver(self, envelope: Envelope, body: str, listeners: Sequence[Listener]) -> list[DeliveryOutcome]:
        """One outcome per listener, in order. Records the event for each listener first if it has no record yet.

        Never raises for a handler's failure (that is an outcome); raises ``MessagingError`` when the
        records cannot be read or written (the database is down): the caller then leaves the event to be
        delivered again.
        """
        ...

    def deliver_many(self, events: Sequence[tuple[Envelope, str, Sequence[Listener]]]) -> list[list[DeliveryOutcome]]:
        """``deliver`` for several events (each with its body and listeners) at once; one list of outcomes per event."""
        ...
