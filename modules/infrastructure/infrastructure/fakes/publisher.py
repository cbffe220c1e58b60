"""``RecordingPublisher``: a ``MessagePublisher`` that records what it is handed, for tests.

It confirms, refuses or fails as scripted::

    publisher = RecordingPublisher()                      # confirms everything
    publisher = RecordingPublisher(refuse={message_id})   # refuses those message ids
    publisher = RecordingPublisher(refuse_destinations={"amq.nope"})
    publisher.fail_next(2)                                # the next 2 calls raise MessagingError
    with InfrastructureService.override(publisher=publisher): ...

``publisher.delivered`` is what a broker would now hold: the confirmed envelopes, in order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.messaging.ports import PublishOutcome
from modules.infrastructure.domain.messaging.values import Envelope


class RecordingPublisher:
    """A ``MessagePublisher`` that records batches and confirms, refuses or fails as scripted. Thread-safe."""

    def __init__(
        self,
        *,
        refuse: Iterable[str] = (),
        refuse_destinations: Iterable[str] = (),
        refusal: str = "refused by RecordingPublisher",
        error: MessagingError | None = None,
        ping_seconds: float = 0.002,
        during_publish: Callable[[Sequence[Envelope]], None] | None = None,
    ) -> None:
        self.refuse = set(refuse)
        self.refuse_destinations = set(refuse_destinations)
        self.refusal = refusal
        self.error = error  # raised by every call while set (a broker that is down)
        self.ping_seconds = ping_seconds
        self.during_publish = during_publish  # called with the batch before the publisher answers
        self.batches: list[list[Envelope]] = []  # every batch handed over, including refused messages
        self.delivered: list[Envelope] = []  # the confirmed messages, in the order they were confirmed
        self.bodies: dict[str, bytes] = {}
        self.calls = 0
        self.failed_calls = 0
        self.closed = 0
        self._fail_next = 0
        self._lock = threading.Lock()

    def fail_next(self, times: int = 1) -> None:
        """Make the next ``times`` calls raise ``MessagingError`` (then answer normally again)."""
        with self._lock:
            self._fail_next = times

    def publish_batch(self, messages: Sequence[tuple[Envelope, bytes]]) -> list[PublishOutcome]:
        envelopes = [envelope for envelope, _ in messages]
        with self._lock:
            self.calls += 1
            if self.error is not None or self._fail_next:
                self._fail_next = max(0, self._fail_next - 1)
                self.failed_calls += 1
                raise self.error or MessagingError("RecordingPublisher: broker unreachable (scripted)")
        if self.during_publish is not None:
            self.during_publish(envelopes)
        outcomes = []
        with self._lock:
            self.batches.append(envelopes)
            for envelope, body in messages:
                if envelope.id in self.refuse or envelope.destination in self.refuse_destinations:
                    outcomes.append(PublishOutcome(envelope.id, False, self.refusal))
                else:
                    self.delivered.append(envelope)
                    self.bodies[envelope.id] = bytes(body)
                    outcomes.append(PublishOutcome(envelope.id, True))
        return outcomes

    def delivered_to(self, destination: str) -> list[str]:
        """Message ids confirmed for ``destination``, in order."""
        with self._lock:
            return [envelope.id for envelope in self.delivered if envelope.destination == destination]

    @property
    def delivered_ids(self) -> list[str]:
        with self._lock:
            return [envelope.id for envelope in self.delivered]

    def ping(self) -> float:
        if self.error is not None:
            raise self.error
        return self.ping_seconds

    def close(self) -> None:
        self.closed += 1

    def after_fork(self) -> None:
        """Nothing is inherited but a lock another thread may have held."""
        self._lock = threading.Lock()
