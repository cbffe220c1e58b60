"""What one relay run works on: a claimed batch with its decoded events, and the run's budget."""

from __future__ import annotations

import time
from dataclasses import dataclass

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.messaging.envelope import decode
from modules.infrastructure.domain.messaging.fields import kind
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.infrastructure.database.session import DatabaseSession
from modules.infrastructure.infrastructure.messaging import outbox


@dataclass
class ClaimedBatch:
    """One claimed batch: its open session (holding the row locks), its rows, and their events.

    ``malformed`` holds the reason for each row that is not a valid event (written by an older
    version, or edited by hand): it can never be published, so it is failed, not offered.
    """

    db: DatabaseSession
    rows: list[outbox.ClaimedRow]
    messages: list[tuple[Envelope, bytes]]
    malformed: dict[str, str]

    @classmethod
    def of(cls, db: DatabaseSession, rows: list[outbox.ClaimedRow]) -> ClaimedBatch:
        """Decode the rows here, on the claiming thread, while the publishing one waits for confirms."""
        messages, malformed = [], {}
        for row in rows:
            read = _read(row)
            if isinstance(read, str):
                malformed[row.message_id] = read
            else:
                messages.append(read)
        return cls(db, rows, messages, malformed)


def _read(row: outbox.ClaimedRow) -> tuple[Envelope, bytes] | str:
    """The row's event and the body to publish, or why the row is not a valid event."""
    # SQLite keeps whatever a hand-written INSERT stored, whatever the column's declared type.
    body: object = row.body
    attempts: object = row.attempts
    message_id: object = row.message_id
    if isinstance(body, bytes) or isinstance(message_id, bytes):
        return "Not an event row: its body or message_id is not valid UTF-8 text"
    if not isinstance(body, str) or not isinstance(attempts, int):
        return f"Not an event row: its body is {kind(body)} and its attempts {kind(attempts)} (text and a number expected)"
    try:
        envelope = decode(body)
    except MessagingError as exc:
        return str(exc)
    if envelope.id != row.message_id:
        return "Not an event row: the id in its body is not the row's message_id"
    return envelope, body.encode()


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
