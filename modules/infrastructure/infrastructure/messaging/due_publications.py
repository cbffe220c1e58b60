"""``DuePublications``: claims this process's due publication records and runs them, one drain at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

from modules.infrastructure.domain.messaging.listeners import ListenerRegistry
from modules.infrastructure.domain.messaging.publications import DeliveryOutcome
from modules.infrastructure.infrastructure.database.session import DatabaseSession
from modules.infrastructure.infrastructure.messaging import publication_store as store
from modules.infrastructure.infrastructure.messaging.lease_owners import is_gone
from modules.infrastructure.infrastructure.messaging.publication_runner import LEASE_MARGIN, PublicationRunner
from modules.infrastructure.infrastructure.messaging.sent_row_purge import SentRowPurge

CLAIM_BATCH = 100
# No handler of a claimed batch starts after this many seconds; the records not reached are handed back. A
# claim lasts the largest handler timeout plus 30 s, so the last handler started still ends inside it.
BATCH_SECONDS = 10.0
LOST_LOOK_EVERY = 1.0  # seconds between looks for records a dead worker held, when the last look found none


class DuePublications:
    """Runs the pending records of the listeners registered here whose next attempt is ``overdue`` seconds past.

    Without a broker ``overdue`` is 0: records are run as soon as they are due. With one, the
    broker delivers; records are run from here only when a message is overdue (lost) or resubmitted,
    and a retry of one run here is stored ``overdue`` early, so it runs again at its backoff, not 60 s later.
    A drain asked for while one runs makes that one go round again instead of waiting.
    """

    def __init__(
        self,
        open_session: Callable[[], DatabaseSession],
        runner: PublicationRunner,
        registry: ListenerRegistry,
        *,
        overdue: timedelta = timedelta(0),
        retention: timedelta = timedelta(hours=168),
    ) -> None:
        self._open_session = open_session
        self._runner = runner
        self._registry = registry
        self.overdue = overdue
        self._prune = SentRowPurge(retention, delete=store.prune_completed)
        self._running = threading.Lock()
        self._again = False
        self._next_lost_look = 0.0  # monotonic time of the next look for records whose worker ended

    def drain(self, max_records: int | None = None, timeout: float | None = None) -> list[DeliveryOutcome]:
        """Run due records until none are left, ``max_records`` ran or ``timeout`` passed; their outcomes."""
        if not self._running.acquire(blocking=False):
            self._again = True  # the running drain goes round once more and finds what was just committed
            return []
        deadline = None if timeout is None else time.monotonic() + timeout
        outcomes: list[DeliveryOutcome] = []
        try:
            self._again = True
            while self._again and (deadline is None or time.monotonic() < deadline):
                self._again = False
                while max_records is None or len(outcomes) < max_records:
                    if self._run_one_lost(outcomes):
                        continue
                    limit = CLAIM_BATCH if max_records is None else min(CLAIM_BATCH, max_records - len(outcomes))
                    claimed = self._claim(limit)
                    outcomes.extend(self._run(claimed))
                    if len(claimed) < limit or (deadline is not None and time.monotonic() >= deadline):
                        break
            self._tidy()
        finally:
            self._running.release()
        return outcomes

    def _run(self, claimed: list[store.ClaimedPublication]) -> list[DeliveryOutcome]:
        """Run the claimed records for at most ``BATCH_SECONDS`` (well inside their claim); hand back those not reached."""
        runnable = [(record, listener) for record in claimed if (listener := self._registry.get(record.listener)) is not None]
        outcomes = self._runner.run_claimed(runnable, BATCH_SECONDS, retry_early=self.overdue)
        ran = {(o.event_id, o.listener) for o in outcomes}
        unreached = [record.id for record in claimed if (record.event_id, record.listener) not in ran]
        if unreached:
            with store.as_messaging_error("Handing back claimed publications"):
                with self._open_session() as db:
                    store.hand_back(db.session, unreached, self._owner)
            self._again = True
        return outcomes

    def _run_one_lost(self, outcomes: list[DeliveryOutcome]) -> bool:
        """Run, alone, one record whose worker ended mid-attempt (at most one look a second when there are none).

        Alone, so that a handler that kills its process takes no other record's attempts with it.
        """
        if time.monotonic() < self._next_lost_look:
            return False
        lost = self._claim(1, lost=True)
        if not lost:
            self._next_lost_look = time.monotonic() + LOST_LOOK_EVERY
            return False
        outcomes.extend(self._run(lost))
        return True

    def resume(self, identity: str) -> int:
        """Make the records that dead processes had claimed for this listener due now; live processes keep theirs."""
        with store.as_messaging_error("Resuming the publications of listener " + identity):
            with self._open_session() as db:
                gone = [owner for owner in store.lease_owners(db.session, [identity]) if is_gone(owner, self._owner)]
                released = store.release_leases(db.session, [identity], gone)
        self._next_lost_look = 0.0
        return released

    def _claim(self, limit: int, lost: bool = False) -> list[store.ClaimedPublication]:
        listeners = self._registry.all()
        if not listeners:
            return []
        lease = timedelta(seconds=max(listener.timeout_seconds for listener in listeners) + LEASE_MARGIN)
        with store.as_messaging_error("Claiming due publications"):
            with self._open_session() as db:
                return store.claim_due(db.session, [lst.identity for lst in listeners], self._owner, lease, limit, self.overdue, lost=lost)

    def _tidy(self) -> None:
        with store.as_messaging_error("Pruning completed publications"):
            with self._open_session() as db:
                self._prune(db.session)

    @property
    def _owner(self) -> str:
        """This process's name on the records it runs: the runner's, shared with this process's consumers."""
        return self._runner.owner

    def after_fork(self) -> None:
        self._running = threading.Lock()
