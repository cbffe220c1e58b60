"""``SentRowPurge``: sent outbox rows past the retention deleted a bounded batch at a time, not on every relay run."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

from modules.infrastructure.infrastructure.messaging import outbox

PURGE_EVERY = 60.0  # seconds between purges while each one finds less than a batch
PURGE_BATCH = 1000  # rows per DELETE: one purge holds its row locks and writes its WAL briefly


class SentRowPurge:
    """Due on the first relay run, then every ``every`` seconds, or at once while the last batch was full.

    Kept by ``OutboxMessaging`` across relay runs, which take turns (one at a time per process).
    """

    def __init__(
        self,
        retention: timedelta,
        every: float = PURGE_EVERY,
        batch: int = PURGE_BATCH,
        clock: Callable[[], float] = time.monotonic,
        delete: Callable[[Session, timedelta, int], int] = outbox.purge_sent,
    ) -> None:
        self._retention = retention
        self._delete = delete  # the rows to purge: sent outbox rows, or completed publication records
        self._every = every
        self._batch = batch
        self._clock = clock
        self._next: float | None = None  # None: due now

    def __call__(self, session: Session) -> int:
        """Delete one batch in ``session``'s transaction when due; the rows removed."""
        now = self._clock()
        if self._next is not None and now < self._next:
            return 0
        removed = self._delete(session, self._retention, self._batch)
        self._next = None if removed >= self._batch else now + self._every
        return removed
