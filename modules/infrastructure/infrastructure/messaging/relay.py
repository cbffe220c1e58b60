"""``OutboxRelay``: pending outbox rows to the broker, marked sent only once the broker took them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from modules.infrastructure.domain.messaging.envelope import decode
from modules.infrastructure.domain.ports import MessagePublisher
from modules.infrastructure.infrastructure.messaging import outbox
from modules.infrastructure.module_api.errors import MessagingError
from modules.infrastructure.module_api.types import DatabaseSession, RelayResult

logger = logging.getLogger(__name__)


class OutboxRelay:
    """Claims pending rows in id order, publishes them as one batch, then records each outcome.

    The claim holds row locks (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) until the outcome is
    written, so relays in several processes never send the same row twice.
    """

    def __init__(
        self,
        open_session: Callable[[], DatabaseSession],
        publisher: MessagePublisher,
        *,
        batch_size: int = 1000,
        max_attempts: int = 5,
        retention: timedelta = timedelta(hours=168),
    ) -> None:
        self._open_session = open_session
        self._publisher = publisher
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._retention = retention

    def run_once(self, max_messages: int | None = None, timeout: float | None = None) -> RelayResult:
        """Drain pending rows until none are left, ``max_messages`` were handled or ``timeout`` passed.

        Raises ``MessagingError`` when the broker cannot be reached; unsent rows stay pending.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        sent = failed = handled = 0
        after_id = 0  # a row refused in this run is not offered again until the next run
        while max_messages is None or handled < max_messages:
            if deadline is not None and time.monotonic() >= deadline:
                break
            limit = self._batch_size if max_messages is None else min(self._batch_size, max_messages - handled)
            batch_sent, batch_failed, claimed, after_id = self._relay_batch(limit, after_id)
            sent, failed, handled = sent + batch_sent, failed + batch_failed, handled + claimed
            if claimed < limit:
                break
        return RelayResult(sent=sent, failed=failed, pending=self._tidy_and_count())

    def _relay_batch(self, limit: int, after_id: int) -> tuple[int, int, int, int]:
        """Sent, given up, claimed, and the last id claimed."""
        with self._open_session() as db:
            rows = outbox.claim(db.session, limit, after_id)
            if not rows:
                return 0, 0, 0, after_id
            messages, bad = [], []
            for row in rows:
                try:
                    messages.append((decode(row.body), row.body))
                except MessagingError as exc:
                    bad.append((row, str(exc)))
            outcomes = {o.message_id: o for o in self._publisher.publish_batch(messages)} if messages else {}
            confirmed = [row.id for row in rows if row.message_id in outcomes and outcomes[row.message_id].confirmed]
            outbox.mark_sent(db.session, confirmed)
            refused = bad + [
                (row, outcomes[row.message_id].error or "refused")
                for row in rows
                if row.message_id in outcomes and not outcomes[row.message_id].confirmed
            ]
            gave_up = sum(outbox.mark_attempt_failed(db.session, row, error, self._max_attempts) for row, error in refused)
            for row, error in refused:
                logger.warning("Outbox event %s not delivered (attempt %d): %s", row.message_id, row.attempts + 1, error)
        return len(confirmed), gave_up, len(rows), rows[-1].id

    def _tidy_and_count(self) -> int:
        with self._open_session() as db:
            outbox.purge_sent(db.session, self._retention)
            return outbox.counts(db.session)["pending"]
