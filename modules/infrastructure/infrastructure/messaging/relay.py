"""``OutboxRelay``: pending outbox rows to the broker, marked sent only once the broker took them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.pool import QueuePool

from modules.infrastructure.domain.messaging.ports import MessagePublisher, PublishInterrupted, PublishOutcome
from modules.infrastructure.domain.messaging.values import RelayResult
from modules.infrastructure.domain.tracing.ports import NO_TRACING, Tracer
from modules.infrastructure.infrastructure.database.session import DatabaseSession
from modules.infrastructure.infrastructure.messaging import outbox
from modules.infrastructure.infrastructure.messaging.metered_publisher import Count
from modules.infrastructure.infrastructure.messaging.relay_batch import ClaimedBatch, RelayBudget
from modules.infrastructure.infrastructure.messaging.sent_row_purge import SentRowPurge

logger = logging.getLogger(__name__)


def _uncounted(outcome: str, events: int) -> None:
    return None


class OutboxRelay:
    """Claims pending rows in id order, publishes them as one batch, then records each outcome.

    The claim holds row locks (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) until the outcome is
    written, so relays in several processes never send the same row twice. On PostgreSQL one
    database thread claims the next batch and records the last one while the broker confirms
    the current one, so the database and the broker work at the same time; that needs a second
    connection, so it happens only while the pool (``max_connections``) has one to spare
    (``pipeline=False`` turns it off).
    """

    def __init__(
        self,
        open_session: Callable[[], DatabaseSession],
        publisher: MessagePublisher,
        *,
        batch_size: int = 1000,
        max_attempts: int = 5,
        purge: SentRowPurge | None = None,
        pipeline: bool = True,
        max_connections: int | None = None,
        count: Count = _uncounted,
        tracer: Tracer = NO_TRACING,
    ) -> None:
        self._open_session = open_session
        self._tracer = tracer
        self._publisher = publisher
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._purge = purge or SentRowPurge(timedelta(hours=168))  # the caller keeps one across runs to space purges out
        self._pipeline = pipeline
        self._max_connections = max_connections  # the pool's size plus overflow: the prefetch needs one spare
        self._count = count  # the metrics: rows that are not valid events count as "malformed"

    def run_once(self, max_messages: int | None = None, timeout: float | None = None) -> RelayResult:
        """Drain pending rows until none are left, ``max_messages`` were handled or ``timeout`` passed.

        Raises ``MessagingError`` when the broker cannot be reached; unsent rows stay pending.
        """
        budget = RelayBudget(self._batch_size, max_messages, None if timeout is None else time.monotonic() + timeout)
        limit = budget.next_limit()
        first = self._claim(limit, 0) if limit else None
        if first is None or not first.rows:
            if first is not None:
                first.db.close()
            return RelayResult(pending=self._tidy_and_count())
        # A short first batch is all there is: no thread for the common one-event wake-up.
        if self._pipeline and len(first.rows) == limit and self._spare_connection(first.db):
            sent, failed = self._run_pipelined(first, limit, budget)
        else:
            sent, failed = self._run_sequential(first, limit, budget)
        return RelayResult(sent=sent, failed=failed, pending=self._tidy_and_count())

    def _run_sequential(self, claim: ClaimedBatch | None, limit: int, budget: RelayBudget) -> tuple[int, int]:
        sent = failed = 0
        while claim is not None and claim.rows:
            budget.handled += len(claim.rows)
            outcomes = self._publish_or_release(claim)
            batch_sent, batch_failed = self._settle(claim, outcomes)
            sent, failed = sent + batch_sent, failed + batch_failed
            full, limit = len(claim.rows) == limit, budget.next_limit()
            claim = self._claim(limit, claim.rows[-1].id) if full and limit else None
        if claim is not None:
            claim.db.close()
        return sent, failed

    def _run_pipelined(self, claim: ClaimedBatch, limit: int, budget: RelayBudget) -> tuple[int, int]:
        """Claims and outcome writes on one database thread; publishing on the caller's thread."""
        settled: list[Future[tuple[int, int]]] = []
        with ThreadPoolExecutor(1, thread_name_prefix="outbox-relay-db") as database:
            following: Future[ClaimedBatch] | None = None
            try:
                while claim.rows:
                    budget.handled += len(claim.rows)
                    full, limit = len(claim.rows) == limit, budget.next_limit()
                    following = database.submit(self._claim, limit, claim.rows[-1].id) if full and limit else None
                    outcomes = self._publish_or_release(claim, settled)
                    settled.append(database.submit(self._settle, claim, outcomes))
                    if following is None:
                        break
                    claim, following = following.result(), None
                    if budget.expired():
                        claim.db.close()
                        break
                else:
                    claim.db.close()
            finally:
                if following is not None:  # the run failed: give the prefetched rows back
                    database.submit(_give_back, following)
        results = [future.result() for future in settled]
        return sum(s for s, _ in results), sum(f for _, f in results)

    def _claim(self, limit: int, after_id: int) -> ClaimedBatch:
        db = self._open_session()
        try:
            with db.errors:  # a driver error leaves as a DatabaseError subclass, as inside ``with db:``
                return ClaimedBatch.of(db, outbox.claim(db.session, limit, after_id))
        except BaseException:
            db.close()
            raise

    def _publish_or_release(
        self, claim: ClaimedBatch, settled: Sequence[Future[tuple[int, int]]] = ()
    ) -> dict[str, PublishOutcome | str]:
        """Each row's outcome by message id (a string: the row is not an event); on failure the rows stay pending.

        When the broker settled part of the batch before it failed, those rows are settled before the
        error leaves: a confirmed event is never offered again. A batch whose outcome could not be
        written stops the run before another one is published.
        """
        try:
            for earlier in settled:
                if earlier.done() and earlier.exception() is not None:
                    earlier.result()
            return self._publish(claim)
        except PublishInterrupted as exc:
            self._settle(claim, {**claim.malformed, **{outcome.message_id: outcome for outcome in exc.settled}})
            raise
        except BaseException:
            claim.db.close()
            raise

    def _publish(self, claim: ClaimedBatch) -> dict[str, PublishOutcome | str]:
        outcomes: dict[str, PublishOutcome | str] = dict(claim.malformed)
        if claim.messages:
            with self._tracer.span("send infrastructure.outbox", "producer", _batch_attributes(len(claim.messages))):
                outcomes.update((o.message_id, o) for o in self._publisher.publish_batch(claim.messages))
        return outcomes

    def _settle(self, claim: ClaimedBatch, outcomes: dict[str, PublishOutcome | str]) -> tuple[int, int]:
        """Mark confirmed rows sent, count an attempt on refused ones, fail unpublishable ones, then commit; (sent, given up).

        A string outcome is a row that is not a valid event; a refusal that is not ``retryable`` is
        an event the client cannot encode. Neither can ever be published: both fail at once.
        """
        confirmed, refused, unpublishable = [], [], []
        for row in claim.rows:
            outcome = outcomes.get(row.message_id)
            if outcome is None:
                continue
            if isinstance(outcome, str):
                unpublishable.append((row, outcome))
            elif outcome.confirmed:
                confirmed.append(row.id)
            elif outcome.retryable:
                refused.append((row, outcome.error or "refused"))
            else:
                unpublishable.append((row, outcome.error or "cannot be published"))
        with claim.db as db:
            outbox.mark_sent(db.session, confirmed)
            gave_up = sum(outbox.mark_attempt_failed(db.session, row, error, self._max_attempts) for row, error in refused)
            outbox.mark_failed(db.session, [(row.id, error) for row, error in unpublishable])
        self._count("malformed", len(claim.malformed))
        for row, error in refused:
            logger.warning("Outbox event %s not delivered (attempt %d): %s", row.message_id, row.attempts + 1, error)
        for row, error in unpublishable:
            logger.error("Outbox event %s can never be published; marked failed: %s", row.message_id, error)
        return len(confirmed), gave_up + len(unpublishable)

    def _spare_connection(self, db: DatabaseSession) -> bool:
        """PostgreSQL with a second connection free for the prefetch; SQLite has one writer (one connection in memory)."""
        bind = db.session.get_bind()
        if bind.dialect.name != "postgresql":
            return False
        if self._max_connections is None or not isinstance(bind.pool, QueuePool):
            return True  # no limit known, or a pool (NullPool) that opens a connection per checkout
        return bind.pool.checkedout() < self._max_connections

    def _tidy_and_count(self) -> int:
        """Purge sent rows past the retention when due; the pending rows left."""
        with self._open_session() as db:
            self._purge(db.session)
            return outbox.count_pending(db.session)


def _give_back(claim: Future[ClaimedBatch]) -> None:
    """Close a prefetched claim's session, releasing its row locks (the rows stay pending)."""
    claim.result().db.close()


def _batch_attributes(size: int) -> dict[str, str | int]:
    """A relayed batch's span: each event carries its own publisher's trace to its listeners in the AMQP headers."""
    return {"messaging.system": "rabbitmq", "messaging.operation.type": "send", "messaging.batch.message_count": size}
