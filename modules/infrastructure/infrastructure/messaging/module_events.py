"""``ModuleEvents``: the listener side of the facade: ``listen``, records for each event, the worker, operating calls.

Without a broker, ``publish_event`` stages a publication record per matching listener in the
publishing transaction (so a rollback leaves none) and the in-process worker runs them after the
commit. With one, the module's RabbitMQ consumer creates the records when the events arrive; the
worker here only runs records whose message is overdue or that were resubmitted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from modules.infrastructure.domain.config.values import MessagingConfig
from modules.infrastructure.domain.errors import InfrastructureError, MessagingError
from modules.infrastructure.domain.messaging.event_patterns import EventPattern
from modules.infrastructure.domain.messaging.listeners import Listener, ListenerRegistry, new_listener
from modules.infrastructure.domain.messaging.ports import ListenerDelivery
from modules.infrastructure.domain.messaging.publications import FAILED, PENDING, DeliveryOutcome, ListenerStatus, Publication
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.infrastructure.database.session import DatabaseSession
from modules.infrastructure.infrastructure.messaging import publication_store as store
from modules.infrastructure.infrastructure.messaging.due_publications import DuePublications
from modules.infrastructure.infrastructure.messaging.publication_runner import PublicationRunner
from modules.infrastructure.infrastructure.messaging.worker import RelayWorker

logger = logging.getLogger(__name__)

KNOWN_LISTENERS_TTL = 1.0  # seconds a publishing process trusts its list of the listeners other processes registered
BROKER_OVERDUE = timedelta(seconds=60)  # with a broker: a record this late has lost its message, and is run from here
MAX_LISTED = 10_000
STATUSES = {"incomplete": (PENDING, FAILED), "pending": (PENDING,), "failed": (FAILED,)}


class ModuleQueues(Protocol):
    """The broker side: a queue per listening module bound to its patterns, its consumer, its dead letters."""

    def bind(self, module: str, patterns: Sequence[str]) -> None: ...

    def start(self, module: str, listeners: Callable[[], Sequence[Listener]], delivery: ListenerDelivery) -> None: ...

    def replay_dead_letters(self, module: str, reopen: Callable[[str, str], None], max_messages: int | None) -> int: ...

    def close(self) -> None: ...

    def after_fork(self) -> None: ...


class ModuleEvents:
    """Listeners of this process, the records of every listener known to the system, and the worker running them."""

    def __init__(
        self,
        config: MessagingConfig,
        open_session: Callable[[], DatabaseSession],
        runner: PublicationRunner,
        queues: ModuleQueues | None,
    ) -> None:
        self.config = config
        self._open_session = open_session
        self.runner = runner
        self._queues = queues  # None: no broker, records are made when events are published
        self.registry = ListenerRegistry()
        self.due = DuePublications(
            open_session, runner, self.registry,
            overdue=BROKER_OVERDUE if queues is not None else timedelta(0),
            retention=timedelta(hours=config.listener_retention_hours),
        )
        self.worker = RelayWorker(self.due.drain, config.listener_poll_interval, name="listener-worker", waiting="publications stay pending")
        self._known: tuple[float, list[tuple[str, EventPattern]]] | None = None

    @property
    def with_broker(self) -> bool:
        return self._queues is not None

    def listen(self, pattern: object, handler: object, *, module: object, name: object = None, retry: object = None, timeout: object = None) -> str:
        """Register a listener (checked), remember it for every process, and start delivering to it; its identity."""
        listener = new_listener(pattern, handler, module=module, name=name, retry=retry, timeout=timeout)
        self.registry.register(listener)
        try:
            with store.as_messaging_error(f"Registering listener {listener.identity}"):
                with self._open_session() as db:
                    store.remember_listener(db.session, listener.identity, listener.module, listener.pattern.text)
            self._known = None
            if self._queues is not None:
                self._queues.bind(listener.module, [lst.pattern.text for lst in self.registry.of_module(listener.module)])
            if self.config.listener_resume:
                self.due.resume(listener.identity)
        except BaseException:
            self.registry.remove(listener.identity)
            raise
        self._start(listener.module)
        return listener.identity

    def _start(self, module: str) -> None:
        mode = self.config.listener_worker
        if mode == "off":
            return
        if self._queues is not None and mode == "thread":
            self._queues.start(module, lambda: self.registry.of_module(module), self.delivery_for(module))
        if mode == "thread":
            self.worker.wake()
        elif self._queues is None:
            self._drain_inline()

    def _drain_inline(self) -> None:
        """Run due records in this thread; the commit that asked for it has happened, so a failure here is logged, not raised."""
        try:
            self.due.drain()
        except InfrastructureError as exc:
            logger.warning("Listeners could not run after the commit; their publications stay pending: %s", exc)

    # -- publishing side (without a broker) --------------------------------------------------------

    def stage(self, session: Session, envelope: Envelope, body: str) -> int:
        """Without a broker: add a pending record per known listener matching the event, in the publishing transaction."""
        if self._queues is not None:
            return 0
        listeners = [identity for identity, pattern in self._known_listeners(session) if pattern.matches(envelope.type)]
        return store.add(session, envelope, body, listeners) if listeners else 0

    def committed(self) -> None:
        """After a commit that staged records: run them now (inline) or wake the worker."""
        mode = self.config.listener_worker
        if mode == "inline":
            self._drain_inline()
        elif mode == "thread" and self.registry.all():
            self.worker.wake()

    def _known_listeners(self, session: Session | None) -> list[tuple[str, EventPattern]]:
        """The listeners registered here, then those other processes registered (reread at most once a second,
        through ``session``; without one, as last read)."""
        known = self._known
        if session is not None and (known is None or time.monotonic() - known[0] > KNOWN_LISTENERS_TTL):
            known = self._known = (time.monotonic(), _parsed(store.known_listeners(session)))
        registered = {lst.identity: lst.pattern for lst in self.registry.all()}
        others = [(identity, pattern) for identity, pattern in (known[1] if known else []) if identity not in registered]
        return [*registered.items(), *others]

    def _known_stale(self) -> bool:
        return self._known is None or time.monotonic() - self._known[0] > KNOWN_LISTENERS_TTL

    # -- consuming side (with a broker) ------------------------------------------------------------

    def delivery_for(self, module: str) -> ListenerDelivery:
        """What the module's consumer hands its events to: the runner, after recording each event for the
        module's listeners that other processes registered and this one does not run (a rolling deploy)."""
        return _ModuleDelivery(self, module)

    def record_for_absent(self, module: str, events: Sequence[tuple[Envelope, str, Sequence[Listener]]]) -> None:
        """Pending records, due at once for the worker of a process that has them, for the module's known
        listeners that match an event but are not registered here; the consumer acks the event either way."""
        prefix = f"{module}."
        with store.as_messaging_error(f"Recording events for listeners of module '{module}' that run elsewhere"):
            if self._known_stale():
                with self._open_session() as db:
                    self._known_listeners(db.session)
            local = {lst.identity for lst in self.registry.all()}
            absent = [(identity, pattern) for identity, pattern in self._known_listeners(None) if identity.startswith(prefix) and identity not in local]
            waiting = [
                (envelope, body, [identity for identity, pattern in absent if pattern.matches(envelope.type)]) for envelope, body, _ in events
            ]
            if any(identities for _, _, identities in waiting):
                with self._open_session() as db:
                    store.add_waiting(db.session, waiting, store.now() - BROKER_OVERDUE)

    # -- operating ---------------------------------------------------------------------------------

    def publications(self, status: object, listener: object, limit: object) -> list[Publication]:
        statuses = STATUSES.get(status) if isinstance(status, str) else None
        if statuses is None:
            raise MessagingError(f"list_publications(status=...) takes one of {', '.join(STATUSES)}, not {status!r}"[:200])
        _check_listener(listener, "list_publications")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LISTED:
            raise MessagingError(f"list_publications(limit=...) takes a whole number from 1 to {MAX_LISTED:,}, not {limit!r}"[:200])
        with store.as_messaging_error("Listing publications"):
            with self._open_session() as db:
                return store.listed(db.session, statuses, listener, limit)  # type: ignore[arg-type]

    def resubmit(self, listener: object, event_ids: object) -> int:
        """Failed records pending again with fresh attempts; the worker (or the consumer's overdue sweep) runs them."""
        _check_listener(listener, "resubmit_publications")
        if event_ids is not None and (
            isinstance(event_ids, str | bytes) or not isinstance(event_ids, list | tuple | set | frozenset)
            or not all(isinstance(e, str) and 0 < len(e) <= 36 for e in event_ids) or len(event_ids) > MAX_LISTED
        ):
            raise MessagingError(f"resubmit_publications(event_ids=...) takes a list of up to {MAX_LISTED:,} event ids, or None"[:200])
        due = store.now() - self.due.overdue
        with store.as_messaging_error("Resubmitting failed publications"):
            with self._open_session() as db:
                count = store.resubmit(db.session, listener, None if event_ids is None else sorted(event_ids), due)  # type: ignore[arg-type]
        if count:
            self.committed_elsewhere()
        return count

    def replay_dead_letters(self, module: object, max_messages: object) -> int:
        if self._queues is None:
            raise MessagingError("replay_dead_letters needs a broker (RABBITMQ_URL): without one, failed publications are resubmitted with resubmit_publications")
        if not isinstance(module, str) or not module:
            raise MessagingError(f"replay_dead_letters takes the listening module's name, not {module!r}"[:200])
        if max_messages is not None and (isinstance(max_messages, bool) or not isinstance(max_messages, int) or not 1 <= max_messages <= 2**31 - 1):
            raise MessagingError(f"replay_dead_letters(max_messages=...) takes a whole number of 1 or more, or None, not {max_messages!r}"[:200])
        return self._queues.replay_dead_letters(module, self._reopen, max_messages)

    def _reopen(self, event_id: str, listener: str) -> None:
        with store.as_messaging_error(f"Reopening the publication of event {event_id} for {listener}"):
            with self._open_session() as db:
                store.reopen(db.session, event_id, listener, store.now() + BROKER_OVERDUE)

    def run(self, max_publications: object = None, timeout: object = None) -> list[DeliveryOutcome]:
        """Run the due records of this process's listeners now (the worker script, and tests); their outcomes."""
        if max_publications is not None and (isinstance(max_publications, bool) or not isinstance(max_publications, int) or max_publications < 1):
            raise MessagingError(f"run_listeners(max_publications=...) takes a whole number of 1 or more, or None, not {max_publications!r}"[:200])
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 2_147_483):
            raise MessagingError(f"run_listeners(timeout=...) takes seconds above 0, or None, not {timeout!r}"[:200])
        return self.due.drain(max_publications, timeout)

    def statuses(self, plain_session: Callable[[], AbstractContextManager[Session]] | None = None) -> list[ListenerStatus]:
        """Every listener registered here or with open records: pending, failed and the age of the oldest pending.

        ``plain_session`` reads on a connection of its own instead of a pooled session (a metrics scrape).
        """
        with store.as_messaging_error("Counting publications"):
            if plain_session is not None:
                with plain_session() as session:
                    counts = store.open_counts(session)
            else:
                with self._open_session() as db:
                    counts = store.open_counts(db.session)
        patterns = {lst.identity: lst.pattern.text for lst in self.registry.all()}
        moment = store.now()
        result = []
        for identity in sorted(set(patterns) | set(counts)):
            pending, failed, oldest = counts.get(identity, (0, 0, None))
            lag = 0.0 if oldest is None else max(0.0, (moment - oldest).total_seconds())
            result.append(ListenerStatus(identity, patterns.get(identity, ""), pending, failed, lag))
        return result

    def forget(self, identity: object) -> bool:
        if not isinstance(identity, str) or not identity:
            raise MessagingError(f"forget_listener takes a listener identity such as 'learning.on_question', not {identity!r}"[:200])
        if self.registry.get(identity) is not None:
            raise MessagingError(f"Listener {identity} is registered in this process; forget only listeners no process registers any more")
        with store.as_messaging_error(f"Forgetting listener {identity}"):
            with self._open_session() as db:
                found = store.forget_listener(db.session, identity)
        self._known = None
        return found

    def committed_elsewhere(self) -> None:
        if self.config.listener_worker == "thread" and self.registry.all():
            self.worker.wake()

    def close(self) -> None:
        self.worker.close()
        self.runner.close()
        if self._queues is not None:
            self._queues.close()

    def after_fork(self) -> None:
        self.worker.after_fork()
        self.due.after_fork()
        self.runner.after_fork()
        if self._queues is not None:
            self._queues.after_fork()


class _ModuleDelivery:
    """``ListenerDelivery`` for one module's consumer (see ``ModuleEvents.delivery_for``)."""

    def __init__(self, events: ModuleEvents, module: str) -> None:
        self._events = events
        self._module = module

    def deliver(self, envelope: Envelope, body: str, listeners: Sequence[Listener]) -> list[DeliveryOutcome]:
        return self.deliver_many([(envelope, body, listeners)])[0]

    def deliver_many(self, events: Sequence[tuple[Envelope, str, Sequence[Listener]]]) -> list[list[DeliveryOutcome]]:
        self._events.record_for_absent(self._module, events)
        return self._events.runner.deliver_many(events)


def _parsed(rows: Sequence[tuple[str, str]]) -> list[tuple[str, EventPattern]]:
    """The known listeners' patterns; one stored under rules since tightened is left out (and logged), never fatal."""
    parsed = []
    for identity, text in rows:
        try:
            parsed.append((identity, EventPattern(text)))
        except MessagingError as exc:
            logger.warning("Listener %s is registered with a pattern this version refuses; no records are made for it: %s", identity, exc)
    return parsed


def _check_listener(listener: object, call: str) -> None:
    if listener is not None and (not isinstance(listener, str) or not 0 < len(listener) <= 200):
        raise MessagingError(f"{call}(listener=...) takes a listener identity such as 'learning.on_question', or None, not {listener!r}"[:200])


__all__ = ["ModuleEvents", "ModuleQueues"]
