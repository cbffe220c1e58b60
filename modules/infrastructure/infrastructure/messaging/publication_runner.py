"""``PublicationRunner``: runs a listener's handler on one event in a transaction that also completes its record.

The handler gets the event and an open session. When it returns, the record's completion is added
to that session's transaction and both commit together: a handler that only writes to the
database has its effect exactly once, wherever the process is killed. When it raises or outlives
its timeout, its transaction is rolled back and the attempt is counted in a transaction of its own:
due again after the listener's backoff, or ``failed`` after its last attempt.

Records run in batches: the handlers of a batch share one transaction, which commits them all or
none. The first failure in a batch rolls it back; the handlers before it then run again one
transaction each (their work never committed), the failing one is counted, the rest run alone.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.messaging.envelope import decode
from modules.infrastructure.domain.messaging.handler_failure import describe
from modules.infrastructure.domain.messaging.listeners import Listener
from modules.infrastructure.domain.messaging.publications import DeliveryOutcome, Outcome
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.database.session import DatabaseSession
from modules.infrastructure.infrastructure.messaging import publication_store as store
from modules.infrastructure.domain.tracing.ports import NO_TRACING, Tracer
from modules.infrastructure.infrastructure.messaging.process_span import process_span
from modules.infrastructure.infrastructure.messaging.handler_session import HandlerSession, TransactionGuard
from modules.infrastructure.infrastructure.messaging.handler_thread import HandlerThreads
from modules.infrastructure.infrastructure.messaging.lease_owners import new_owner
from modules.infrastructure.infrastructure.messaging.publication_store import ClaimedPublication

logger = logging.getLogger(__name__)

Count = Callable[[str, Outcome], None]  # (listener identity, outcome): the metrics


def _uncounted(listener: str, outcome: Outcome) -> None:
    return None


LEASE_MARGIN = 30.0  # seconds past a handler's timeout before another worker may take its record


@dataclass(frozen=True)
class Work:
    """One listener's attempt on one event: the claimed record, the listener, the decoded event.

    ``retry_early`` is taken off a retry's due time: the worker that runs records from the database
    with a broker looks only at those overdue by that much, and no broker message carries their retry.
    """

    record: ClaimedPublication
    listener: Listener
    envelope: Envelope
    retry_early: timedelta = timedelta(0)


class PublicationRunner:
    """Implements ``ListenerDelivery`` for a consumer, and runs claimed records for the in-process worker."""

    def __init__(
        self, open_session: Callable[[], DatabaseSession], redactor: Redactor, count: Count = _uncounted, tracer: Tracer = NO_TRACING
    ) -> None:
        self._open_session = open_session
        self._tracer = tracer
        self._redactor = redactor
        self._count = count
        self._threads = HandlerThreads()
        self.owner = new_owner()  # names this process on the records it runs (its worker and its consumers)

    def deliver(self, envelope: Envelope, body: str, listeners: Sequence[Listener]) -> list[DeliveryOutcome]:
        """Each listener's outcome for an event from the broker; records are created on first delivery.

        Raises ``MessagingError`` when the records cannot be read or written: the message is to be delivered again.
        """
        return self.deliver_many([(envelope, body, listeners)])[0]

    def deliver_many(self, events: Sequence[tuple[Envelope, str, Sequence[Listener]]]) -> list[list[DeliveryOutcome]]:
        """``deliver`` for several events at once: one transaction records them all, one batch runs their handlers.

        A record whose last delivery ended mid-attempt (a killed consumer) has that attempt counted and runs
        alone, before the others are marked started: a handler that kills its process runs out of attempts
        like one that raises, and takes no other record's attempts with it.
        """
        listeners = [listener for _, _, of_event in events for listener in of_event]
        if not listeners:
            return [[] for _ in events]
        # The handlers run one after another: the claim lasts all their timeouts, so no sweep takes it over meanwhile.
        lease = sum(listener.timeout_seconds for listener in listeners) + LEASE_MARGIN
        until = store.now() + timedelta(seconds=lease)
        with store.as_messaging_error(f"Recording {len(events)} event(s) for their listeners"):
            with self._open_session() as db:
                records = store.ensure(
                    db.session, [(e, body, [lst.identity for lst in of_event]) for e, body, of_event in events], until, self.owner
                )
        lost: list[Work] = []
        fresh: list[Work] = []
        settled: dict[tuple[str, str], DeliveryOutcome] = {}
        for envelope, _, of_event in events:
            for listener in of_event:
                record = records.get((envelope.id, listener.identity))
                if isinstance(record, ClaimedPublication):
                    (lost if record.lost else fresh).append(Work(record, listener, envelope))
                else:
                    settled[envelope.id, listener.identity] = self._counted(DeliveryOutcome(listener.identity, envelope.id, "skipped"))
        for work in lost:
            outcome = self._given_up(work.record, work.listener) if work.record.attempts >= work.listener.retry.attempts else self._alone(work)
            settled[outcome_key(outcome)] = outcome
        if lost and fresh:
            with store.as_messaging_error("Marking publications started"):
                with self._open_session() as db:
                    store.start(db.session, [work.record.id for work in fresh], self.owner, store.now() + timedelta(seconds=lease))
        settled.update((outcome_key(o), o) for o in self.run(fresh))
        return [[settled[envelope.id, listener.identity] for listener in of_event] for envelope, _, of_event in events]

    def run_claimed(
        self, claimed: Sequence[tuple[ClaimedPublication, Listener]], time_cap: float | None = None, retry_early: timedelta = timedelta(0)
    ) -> list[DeliveryOutcome]:
        """Run records the worker claimed; a body that is no longer a valid event fails its record at once.

        With ``time_cap``, no handler starts after that many seconds: the records not reached have no outcome.
        A retry is stored ``retry_early`` before its due time (the worker's ``overdue``), so it runs at its backoff.
        """
        work, outcomes = [], []
        for record, listener in claimed:
            if record.lost and record.attempts >= listener.retry.attempts:
                outcomes.append(self._given_up(record, listener))
                continue
            try:
                work.append(Work(record, listener, decode(record.body), retry_early))
            except MessagingError as exc:
                outcomes.append(self._failed(Work(record, listener, _unreadable(record)), str(exc), final=True))
        return outcomes + self.run(work, time_cap)

    def run(self, work: Sequence[Work], time_cap: float | None = None) -> list[DeliveryOutcome]:
        """The outcome of every attempt made: the batch in one transaction when all succeed, else as the module docstring says.

        With ``time_cap``, no handler starts after that many seconds (the first always does): the work
        not reached gets no outcome, so a worker can hand those records back before their claim runs out.
        """
        if not work:
            return []
        started = time.monotonic()
        call = self._call(work, time_cap)
        reached = work[: call.reached]
        if call.committed:
            return [self._counted(DeliveryOutcome(w.listener.identity, w.envelope.id, "completed")) for w in reached]
        stopped = call.index
        outcomes = [self._settle_stopped(call, reached[stopped])]
        for again in [*reached[:stopped], *reached[stopped + 1 :]]:
            if time_cap is not None and time.monotonic() - started >= time_cap:
                break
            outcomes.append(self._alone(again))
        return outcomes

    def _alone(self, work: Work) -> DeliveryOutcome:
        call = self._call([work])
        if call.committed:
            return self._counted(DeliveryOutcome(work.listener.identity, work.envelope.id, "completed"))
        return self._settle_stopped(call, work)

    def _call(self, work: Sequence[Work], time_cap: float | None = None) -> _BatchCall:
        call = _BatchCall(self._open_session, work, time_cap, self._tracer)
        self._threads.current().submit(call.run)
        if not call.wait():
            self._threads.replace()  # its thread is stuck in the handler: the next call gets a fresh one
        return call

    def _settle_stopped(self, call: _BatchCall, work: Work) -> DeliveryOutcome:
        """The outcome of the attempt a batch stopped at: timed out, failed, or settled by another run."""
        listener, event_id = work.listener, work.envelope.id
        if call.timed_out:
            logger.error("Listener %s did not finish event %s within %g s; counted as a failed attempt", listener.identity, event_id, listener.timeout_seconds)
            return self._failed(work, f"TimeoutError: the handler did not return within {listener.timeout_seconds:g} s")
        if call.conflict:  # another run settled this attempt first
            return self._counted(DeliveryOutcome(listener.identity, event_id, "skipped"))
        error = call.error
        assert error is not None
        if not call.in_handler:
            raise MessagingError(f"Listener {listener.identity}'s record for event {event_id} could not be written: {error}") from error
        return self._failed(work, describe(error))

    def _failed(self, work: Work, error: str, final: bool = False) -> DeliveryOutcome:
        """Count the failed attempt: due again after the backoff, or failed after the last one."""
        listener, record, event_id = work.listener, work.record, work.envelope.id
        # Redacting costs more than linear time in the length: cut a handler's message first (an HTTP body, say).
        reason = self._redactor.redact(error[: 4 * store.MAX_ERROR])[: store.MAX_ERROR]
        attempt = record.attempts + 1
        final = final or attempt >= listener.retry.attempts
        delay = None if final else listener.retry.delay(attempt)
        retry_at = None if delay is None else store.now() + timedelta(seconds=delay) - work.retry_early
        with store.as_messaging_error(f"Recording listener {listener.identity}'s failure on event {event_id}"):
            with self._open_session() as db:
                settled = store.fail_attempt(db.session, record, reason, retry_at)
        if not settled:  # another run settled this attempt first (it completed, or counted it)
            return self._counted(DeliveryOutcome(listener.identity, event_id, "skipped"))
        log = logger.error if final else logger.warning
        log("Listener %s failed on event %s (attempt %d of %d)%s: %s", listener.identity, event_id, attempt, listener.retry.attempts,
            "; marked failed" if final else f"; again in {delay:.2f} s", reason)
        return self._counted(DeliveryOutcome(listener.identity, event_id, "failed" if final else "retry", delay, reason))

    def _given_up(self, record: ClaimedPublication, listener: Listener) -> DeliveryOutcome:
        """A record whose last attempt ended with its worker: failed without running it again."""
        with store.as_messaging_error(f"Recording listener {listener.identity}'s lost attempt on event {record.event_id}"):
            with self._open_session() as db:
                settled = store.give_up(db.session, record)
        if not settled:
            return self._counted(DeliveryOutcome(listener.identity, record.event_id, "skipped"))
        logger.error("Listener %s: the worker ended during attempt %d of %d on event %s; marked failed",
                     listener.identity, record.attempts, listener.retry.attempts, record.event_id)
        return self._counted(DeliveryOutcome(listener.identity, record.event_id, "failed", None, store.LOST_ATTEMPT))

    def _counted(self, outcome: DeliveryOutcome) -> DeliveryOutcome:
        self._count(outcome.listener, outcome.outcome)
        return outcome

    def close(self) -> None:
        self._threads.close()

    def after_fork(self) -> None:
        self._threads.after_fork()
        self.owner = new_owner()  # the child's claims are its own: the parent's pid may outlive it, or not


class _BatchCall:
    """Handlers of a batch run one after another in one transaction on a handler thread, which commits them all or none.

    The caller waits, bounding each handler by its listener's timeout; ``index`` is where the batch stopped.
    """

    def __init__(
        self, open_session: Callable[[], DatabaseSession], work: Sequence[Work], time_cap: float | None = None, tracer: Tracer = NO_TRACING
    ) -> None:
        self._open_session = open_session
        self._tracer = tracer
        self._work = work
        self._time_cap = time_cap
        self.reached = len(work)  # the work the batch covered: less when the time cap cut it short
        self._changed = threading.Condition()
        self._finished = False
        self._abandoned = False
        self.index = 0
        self.in_handler = False  # an error raised while False is the database's, not the handler's
        self._started = time.monotonic()
        self.committed = False
        self.conflict = False
        self.timed_out = False
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            db = self._open_session()
        except BaseException as exc:
            self._finish(error=exc)
            return
        handed = HandlerSession.of(db)
        guard: TransactionGuard | None = None
        try:
            guard = TransactionGuard(db.session)
            batch_started = time.monotonic()
            for index, work in enumerate(self._work):
                if index and self._time_cap is not None and time.monotonic() - batch_started >= self._time_cap:
                    self.reached = index  # the rest is handed back, to be claimed afresh
                    break
                self._enter(index)
                with process_span(self._tracer, work.envelope, work.listener.identity):
                    self._handle(work, handed, guard, db)
                if self._leave_handler():
                    return  # the caller gave up on this batch: its work must not commit
            guard.release()
            covered = self._work[: self.reached]
            completed = store.complete_all(db.session, [work.record for work in covered])
            if len(completed) < len(covered):  # another run settled one first: none of this batch commits
                self.conflict = True
                self.index = next(i for i, work in enumerate(covered) if work.record.id not in completed)
                return
            db.commit()
            self.committed = True
        except BaseException as exc:  # whatever a handler raised is its failure, never the thread's end
            self.error = exc
        finally:
            if guard is not None:
                guard.release()
            db.close()  # rolls back whatever did not commit
            self._finish()

    @staticmethod
    def _handle(work: Work, handed: HandlerSession, guard: TransactionGuard, db: DatabaseSession) -> None:
        """One handler's run, in the batch's transaction, with its writes flushed: its failure is its own."""
        returned = work.listener.handler(work.envelope, handed)
        if inspect.isawaitable(returned) or inspect.isgenerator(returned) or inspect.isasyncgen(returned):
            _close(returned)
            raise MessagingError(
                f"The handler of {work.listener.identity} returned {type(returned).__name__} without running its body: "
                "a listener's handler must be a plain function"
            )
        guard.check()  # a handler that ended the shared transaction underneath fails its attempt
        db.flush()  # the handler's writes fail here, as its own failure

    def wait(self) -> bool:
        """Wait for the batch, or until a handler outlives its timeout; False when it did (the thread is then left to it)."""
        with self._changed:
            while not self._finished:
                if self.in_handler:
                    left = self._started + self._work[self.index].listener.timeout_seconds - time.monotonic()
                    if left <= 0:
                        self._abandoned = self.timed_out = True
                        return False
                    self._changed.wait(left)
                else:
                    self._changed.wait()
        return True

    def _enter(self, index: int) -> None:
        with self._changed:
            self.index, self._started, self.in_handler = index, time.monotonic(), True
            self._changed.notify()

    def _leave_handler(self) -> bool:
        with self._changed:
            self.in_handler = False
            return self._abandoned

    def _finish(self, error: BaseException | None = None) -> None:
        with self._changed:
            if error is not None:
                self.error = error
            self._finished = True
            self._changed.notify()


def outcome_key(outcome: DeliveryOutcome) -> tuple[str, str]:
    """(event id, listener identity): what an outcome is the outcome of."""
    return outcome.event_id, outcome.listener


def _close(returned: object) -> None:
    """Close a coroutine or generator a handler returned, so it does not warn that it was never awaited."""
    close = getattr(returned, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # an async generator's aclose() is a coroutine: nothing to do but drop it
            pass


def _unreadable(record: ClaimedPublication) -> Envelope:
    """A stand-in event for a record whose body cannot be decoded: enough to name it while failing it."""
    return Envelope(id=record.event_id, type="", source="", destination="", payload=None, timestamp="")
