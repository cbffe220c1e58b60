"""What one relay run works on: a claimed batch with its decoded events, and the run's budget."""

from __future__ import annotations

import time
from dataclasses import dataclass

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.messaging.envelope import decode
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.infrastructure.database.session import DatabaseSession
from modules.infrastructure.infrastructure.messaging import outbox


@dataclass
class ClaimedBatch:
    """One claimed batch: its open session (holding the row locks), its rows, and their events.

    ``unreadable`` holds the reason for each row that is not an event; it is refused, not published.
    """

    db: DatabaseSession
    rows: list[outbox.ClaimedRow]
    messages: list[tuple[Envelope, bytes]]
    unreadable: dict[str, str]

    @classmethod
    def of(cls, db: DatabaseSession, rows: list[outbox.ClaimedRow]) -> ClaimedBatch:
        """Decode the rows here, on the claiming thread, while the publishing one waits for confirms."""
        messages, unreadable = [], {}
        for row in rows:
            try:
                messages.append((decode(row.body), row.body.encode()))
            except MessagingError as exc:
                unreadable[row.message_id] = str(exc)
        return cls(db, rows, messages, unreadable)


@dataclass
class RelayBudget:
    """What one run may still do: ``max_messages`` rows and the time until ``deadline``."""

    batch_size: int
    max_messages: int | None
    deadline: float | None
    handled: int = 0

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def next_limit(self) -> int:
        """Rows to claim next; 0 when the run is over."""
        if self.expired():
            return 0
        if self.max_messages is None:
            return self.batch_size
        return max(0, min(self.batch_size, self.max_messages - self.handled))
