"""``PublicationRunner``: runs a listener's handler on one event in a transaction that also completes its record.

The handler gets the event and an open session. When it returns, the record's completion is added
to that session's transaction and both commit together: a handler that only writes to the
database has its effect exactly once, whatever the process is killed. When it raises or outlives
its timeout, its transaction is rolled back and the attempt is counted in a transaction of its own:
due again after the listener's backoff, or ``failed`` after its last attempt.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta

from modules.infrastructure.domain.errors import DatabaseError, MessagingError
from modules.infrastructure.domain.messaging.envelope import decode
from modules.infrastructure.domain.messaging.handler_failure import describe
from modules.infrastructure.domain.messaging.listeners import Listener
from modules.infrastructure.domain.messaging.publications import DeliveryOutcome, Outcome
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.database.session import DatabaseSession
from modules.infrastructure.infrastructure.messaging import publication_store as store
from modules.infrastructure.infrastructure.messaging.publication_store import ClaimedPublication

logger = logging.getLogger(__name__)

Count = Callable[[str, Outcome], None]  # (listener identity, outcome): the metrics


def _uncounted(listener: str, outcome: Outcome) -> None:
    return None


class PublicationRunner:
    """Implements ``ListenerDelivery`` for a consumer, and runs claimed records for the in-process worker."""

    def __init__(self, open_session: Callable[[], DatabaseSession], redactor: Redactor, count: Count = _uncounted) -> None:
        self._open_session = open_session
        self._redactor = redactor
        self._count = count

    def deliver(self, envelope: Envelope, body: str, listeners: Sequence[Listener]) -> list[DeliveryOutcome]:
        """Each listener's outcome for an event from the broker; records are created on first delivery.

        Raises ``MessagingError`` when the records cannot be read or written: the message is to be delivered again.
        """
        if not listeners:
            return []
        lease = max(listener.timeout_seconds for listener in listeners) + LEASE_MARGIN
        with store.as_messaging_error(f"Recording event {envelope.id} for its listeners"):
            with self._open_session() as db:
                records = store.ensure(db.session, envelope, body, [lst.identity for lst in listeners], store.now() + timedelta(seconds=lease))
        outcomes = []
        for listener in listeners:
            record = records.get(listener.identity)
            if isinstance(record, ClaimedPublication):
                outcomes.append(self.attempt(record, listener, envelope))
            else:
                outcomes.append(DeliveryOutcome(listener.identity, envelope.id, "skipped"))
                self._count(listener.identity, "skipped")
        return outcomes

    def run_claimed(self, record: ClaimedPublication, listener: Listener) -> DeliveryOutcome:
        """Run a record the worker claimed; a body that is no longer a valid event fails it at once."""
        try:
            envelope = decode(record.body)
        except MessagingError as exc:
            return self._failed(record, listener, record.event_id, str(exc), final=True)
        return self.attempt(record, listener, envelope)

    def attempt(self, record: ClaimedPublication, listener: Listener, envelope: Envelope) -> DeliveryOutcome:
        """One attempt of ``listener`` on the event, bounded by its timeout; never raises for the handler's failure."""
        call = _HandlerCall(self._open_session, record, listener, envelope)
        thread = threading.Thread(target=call.run, name=f"listener-{listener.identity}"[:60], daemon=True)
        thread.start()
        thread.join(listener.timeout_seconds)
        if thread.is_alive():
            call.abandoned.set()  # if it ever returns, its transaction is rolled back, not committed
            logger.error("Listener %s did not finish event %s within %g s; counted as a failed attempt", listener.identity, envelope.id, listener.timeout_seconds)
            return self._failed(record, listener, envelope.id, f"TimeoutError: the handler did not return within {listener.timeout_seconds:g} s")
        if call.error is not None:
            if isinstance(call.error, DatabaseError) and call.reached_commit:
                raise MessagingError(f"Listener {listener.identity}'s record for event {envelope.id} could not be written: {call.error}") from call.error
            return self._failed(record, listener, envelope.id, describe(call.error))
        outcome: Outcome = "completed" if call.completed else "skipped"
        self._count(listener.identity, outcome)
        return DeliveryOutcome(listener.identity, envelope.id, outcome)

    def _failed(self, record: ClaimedPublication, listener: Listener, event_id: str, error: str, final: bool = False) -> DeliveryOutcome:
        """Count the failed attempt: due again after the backoff, or failed after the last one."""
        reason = self._redactor.redact(error)
        attempt = record.attempts + 1
        final = final or attempt >= listener.retry.attempts
        delay = None if final else listener.retry.delay(attempt)
        retry_at = None if delay is None else store.now() + timedelta(seconds=delay)
        with store.as_messaging_error(f"Recording listener {listener.identity}'s failure on event {event_id}"):
            with self._open_session() as db:
                settled = store.fail_attempt(db.session, record, reason, retry_at)
        if not settled:  # another run settled this attempt first (it completed, or counted it)
            self._count(listener.identity, "skipped")
            return DeliveryOutcome(listener.identity, event_id, "skipped")
        outcome: Outcome = "failed" if final else "retry"
        log = logger.error if final else logger.warning
        log("Listener %s failed on event %s (attempt %d of %d)%s: %s", listener.identity, event_id, attempt, listener.retry.attempts,
            "; marked failed" if final else f"; again in {delay:.2f} s", reason)
        self._count(listener.identity, outcome)
        return DeliveryOutcome(listener.identity, event_id, outcome, delay, reason)


LEASE_MARGIN = 30.0  # seconds past a handler's timeout before another worker may take its record


class _HandlerCall:
    """The handler's run on its own thread (so a hang can be bounded), committing its record with its work."""

    def __init__(self, open_session: Callable[[], DatabaseSession], record: ClaimedPublication, listener: Listener, envelope: Envelope) -> None:
        self._open_session = open_session
        self._record = record
        self._listener = listener
        self._envelope = envelope
        self.abandoned = threading.Event()
        self.completed = False
        self.reached_commit = False
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            db = self._open_session()
        except BaseException as exc:
            self.error = exc
            return
        try:
            self._listener.handler(self._envelope, db)
            db.flush()  # the handler's writes fail here, as its own failure, not the record's
            if self.abandoned.is_set():
                return  # the timeout already counted this attempt: the work must not commit
            self.reached_commit = True
            if store.complete(db.session, self._record):
                db.commit()
                self.completed = True
        except BaseException as exc:  # whatever the handler raised is its failure, never the worker's
            self.error = exc
        finally:
            db.close()  # rolls back whatever did not commit
