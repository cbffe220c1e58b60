"""``MeteredPublisher``: counts what the broker said about every event the relay handed it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from modules.infrastructure.domain.messaging.ports import MessagePublisher, PublishInterrupted, PublishOutcome
from modules.infrastructure.domain.messaging.values import Envelope

Count = Callable[[str, int], None]  # (outcome: "confirmed" | "refused" | "malformed" | "error", number of events)


class MeteredPublisher:
    """Wraps any ``MessagePublisher`` (the pika one or a fake) and reports each batch's outcomes to ``count``."""

    def __init__(self, publisher: MessagePublisher, count: Count) -> None:
        self._publisher = publisher
        self._count = count

    def publish_batch(self, messages: Sequence[tuple[Envelope, bytes]]) -> list[PublishOutcome]:
        try:
            outcomes = self._publisher.publish_batch(messages)
        except PublishInterrupted as exc:  # what the broker settled before the failure counts as such
            self._count_outcomes(list(exc.settled))
            self._count("error", len(messages) - len(exc.settled))
            raise
        except Exception:
            self._count("error", len(messages))
            raise
        self._count_outcomes(outcomes)
        return outcomes

    def _count_outcomes(self, outcomes: Sequence[PublishOutcome]) -> None:
        confirmed = sum(outcome.confirmed for outcome in outcomes)
        malformed = sum(not outcome.confirmed and not outcome.retryable for outcome in outcomes)
        self._count("confirmed", confirmed)
        self._count("refused", len(outcomes) - confirmed - malformed)
        self._count("malformed", malformed)

    def ping(self) -> float:
        return self._publisher.ping()

    def close(self) -> None:
        self._publisher.close()

    def after_fork(self) -> None:
        self._publisher.after_fork()
