"""Events for the facade: stored in the outbox first, relayed to the broker after the commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from modules.infrastructure.domain.config.settings import MAX_WAIT_SECONDS
from modules.infrastructure.domain.config.values import MessagingConfig
from modules.infrastructure.domain.errors import DatabaseError, MessagingError
from modules.infrastructure.domain.messaging.envelope import new_envelope
from modules.infrastructure.domain.messaging.ports import MessagePublisher
from modules.infrastructure.domain.messaging.values import Envelope, RelayResult
from modules.infrastructure.domain.tracing.ports import NO_TRACING, Tracer
from modules.infrastructure.domain.tracing.trace_context import TraceContext
from modules.infrastructure.infrastructure.database.session import DatabaseSession
from modules.infrastructure.infrastructure.messaging import outbox
from modules.infrastructure.infrastructure.messaging.metered_publisher import Count, MeteredPublisher
from modules.infrastructure.infrastructure.messaging.relay import OutboxRelay
from modules.infrastructure.infrastructure.messaging.relay_lock import SQLiteRelayLock
from modules.infrastructure.infrastructure.messaging.sent_row_purge import SentRowPurge
from modules.infrastructure.infrastructure.messaging.worker import RelayWorker


_STAGED = "infrastructure.outbox.staged"  # Session.info: the events staged in the open transaction
_LISTENING = "infrastructure.outbox.listening"  # Session.info: the OutboxMessaging listening to its commits


def _uncounted(*_: object) -> None:
    return None


class ListenerRecords(Protocol):
    """The listener side's hooks: records staged with each event, and a nudge after the commit that made them."""

    def stage(self, session: Session, envelope: Envelope, body: str) -> int: ...

    def committed(self) -> None: ...


class OutboxMessaging:
    """``publish_event`` and ``relay_outbox`` behind the facade.

    ``publisher`` is ``None`` without a broker: events then wait in the outbox. ``stored(n)`` is
    called per commit with the events it added to the outbox, ``published(outcome, n)`` per relayed batch (the
    metrics; no-ops by default). ``max_connections`` is the database pool's size plus overflow;
    ``relay_lock`` serialises relay runs of processes sharing a SQLite file.
    """

    def __init__(
        self,
        config: MessagingConfig,
        open_session: Callable[[], DatabaseSession],
        publisher: MessagePublisher | None,
        stored: Callable[[int], None] = _uncounted,
        published: Count = _uncounted,
        max_connections: int | None = None,
        relay_lock: SQLiteRelayLock | None = None,
        listeners: ListenerRecords | None = None,
        tracer: Tracer = NO_TRACING,
    ) -> None:
        self.config = config
        self._tracer = tracer
        self._listeners = listeners
        self._open_session = open_session
        self._publisher = publisher
        self._stored = stored
        self._published = published
        self._max_connections = max_connections
        self._relay_lock = threading.Lock()
        self._file_lock = relay_lock  # a SQLite file: one relay run at a time across processes too
        self._purge = SentRowPurge(timedelta(hours=config.retention_hours))  # spaced out across relay runs
        poll = config.relay_poll_interval if config.relay_mode == "thread" else None
        self.worker = RelayWorker(self.relay, poll)

    def publish_event(
        self,
        destination: str,
        payload: Any,
        *,
        event_type: str,
        source: str,
        session: DatabaseSession | None = None,
        correlation_id: str | None = None,
        priority: int = 0,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        if session is not None and not isinstance(session, DatabaseSession):
            raise MessagingError(
                f"publish_event's session must be a session from InfrastructureService.get_database_session() "
                f"(or None for a transaction of its own), not {type(session).__name__}"
            )
        if session is not None and session.closed:
            raise MessagingError(
                "publish_event's session is closed (its with block has ended), so the event would never commit; "
                "publish inside the block, or pass no session for a transaction of its own"
            )
        named = destination[:200] if isinstance(destination, str) else type(destination).__name__  # checked in the span, not here
        attributes = {"messaging.system": "rabbitmq", "messaging.operation.type": "create", "messaging.destination.name": named}
        with self._tracer.span(f"create {named[:100]}", "producer", attributes) as span:
            event_id = self._publish(destination, payload, event_type, source, session, correlation_id, priority, headers, span.trace_context())
            span.set_attributes({"messaging.message.id": event_id})
            return event_id

    def _publish(
        self, destination: str, payload: Any, event_type: str, source: str, session: DatabaseSession | None, correlation_id: str | None,
        priority: int, headers: Mapping[str, Any] | None, trace: TraceContext | None,
    ) -> str:
        """Check, encode and stage the event with the publishing span's ``trace``; its id."""
        envelope, body = new_envelope(
            destination,
            payload,
            event_type=event_type,
            source=source,
            correlation_id=correlation_id,
            priority=priority,
            headers=headers,
            max_bytes=self.config.max_payload_bytes,
            trace=trace,
        )
        try:
            if session is not None:
                self._stage(session, envelope, body)
            else:
                with self._open_session() as db:
                    outbox.add(db.session, envelope, body)
                    records = self._stage_records(db.session, envelope, body)
                self._stored(1)
                if self._relays_after_commit():
                    self.worker.wake()
                if records and self._listeners is not None:
                    self._listeners.committed()
        except DatabaseError as exc:
            raise MessagingError(
                f"Event '{event_type}' could not be stored in the outbox ({exc}); "
                "if the table is missing, run InfrastructureService.migrate()"
            ) from exc
        return envelope.id

    def _stage(self, db: DatabaseSession, envelope: Envelope, body: bytes) -> None:
        """Add the row to ``db``'s transaction. The first of each transaction is flushed, so a driver error (a missing
        table, say) surfaces here, and arranges that the commit counts the transaction's events and wakes the relay once."""
        session = db.session
        outbox.add(session, envelope, body)
        records = self._stage_records(session, envelope, body)
        staged = session.info.get(_STAGED)
        if staged is None or staged.owner is not self or staged.transaction is not session.get_transaction():
            db.flush()
            staged = session.info[_STAGED] = _Staged(self, session.get_transaction())
            listening: set[OutboxMessaging] = session.info.setdefault(_LISTENING, set())
            if self not in listening:
                listening.add(self)
                event.listen(session, "after_commit", self._committed)
        staged.events += 1
        staged.records += records

    def _stage_records(self, session: Session, envelope: Envelope, body: bytes) -> int:
        return 0 if self._listeners is None else self._listeners.stage(session, envelope, body.decode())

    def _committed(self, session: Session) -> None:
        """After a commit of a session that staged events: count them and wake the relay, once per transaction."""
        staged = session.info.get(_STAGED)
        if staged is None or staged.owner is not self or session.get_nested_transaction() is not None:
            return  # nothing staged by this messaging, or only a savepoint released: nothing is durable yet
        del session.info[_STAGED]
        if staged.transaction is not session.get_transaction():
            return  # staged in a transaction that rolled back
        self._stored(staged.events)
        if self._relays_after_commit():
            self.worker.wake()
        if staged.records and self._listeners is not None:
            self._listeners.committed()

    def relay(self, max_messages: int | None = None, timeout: float | None = None) -> RelayResult:
        """One relay run at a time in this process, and on a SQLite file in every process: two would claim
        the same rows (SQLite has no SKIP LOCKED). A run waits for another process's run within ``timeout``."""
        check_relay_arguments(max_messages, timeout)
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        if not self._relay_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise MessagingError(
                f"Another relay run in this process held the outbox for the whole timeout ({timeout:g} s); "
                "events stay pending and the running one goes on"
            )
        try:
            if self._file_lock is None or self._publisher is None:
                return self._relay(max_messages, left())
            with self._file_lock.held(left()):
                return self._relay(max_messages, left())
        finally:
            self._relay_lock.release()

    def _relay(self, max_messages: int | None, timeout: float | None) -> RelayResult:
        publisher = self._publisher
        if publisher is None:
            raise MessagingError("No broker configured: set RABBITMQ_URL to relay the outbox; events stay pending")
        relay = OutboxRelay(
            self._open_session,
            MeteredPublisher(publisher, self._published),
            batch_size=self.config.batch_size,
            max_attempts=self.config.max_attempts,
            purge=self._purge,
            max_connections=self._max_connections,
            count=self._published,
            tracer=self._tracer,
        )
        return relay.run_once(max_messages, timeout)

    def counts(self) -> dict[str, int]:
        with self._open_session() as db:
            return outbox.counts(db.session)

    def start(self) -> None:
        """Start the background relay thread (``OUTBOX_RELAY=thread``) when a broker is configured."""
        if self.config.relay_mode == "thread" and self._publisher is not None:
            self.worker.start()

    def close(self) -> None:
        """Stop the background relay after its current run."""
        self.worker.close()

    def after_fork(self) -> None:
        """In a forked child: no relay thread came along, and locks another thread held are released."""
        self._relay_lock = threading.Lock()
        self.worker.after_fork()

    def _relays_after_commit(self) -> bool:
        return self.config.relay_mode != "off" and self._publisher is not None


@dataclass
class _Staged:
    """The events ``owner`` staged in one session's open ``transaction`` (kept in ``Session.info``)."""

    owner: OutboxMessaging
    transaction: SessionTransaction | None
    events: int = 0
    records: int = 0  # publication records staged for listeners


def check_relay_arguments(max_messages: object, timeout: object) -> None:
    """``MessagingError`` naming ``max_messages`` (a whole number from 1, or None) or ``timeout`` (seconds, or None)."""
    if max_messages is not None and (isinstance(max_messages, bool) or not isinstance(max_messages, int) or not 1 <= max_messages <= 2**63 - 1):
        raise MessagingError(f"relay_outbox(max_messages=...) takes a whole number of 1 or more, or None, not {max_messages!r}"[:200])
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_WAIT_SECONDS):
        raise MessagingError(f"relay_outbox(timeout=...) takes seconds above 0 and at most {MAX_WAIT_SECONDS}, or None, not {timeout!r}"[:200])
