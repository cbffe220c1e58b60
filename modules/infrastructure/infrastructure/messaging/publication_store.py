"""Publication records in SQL: add, claim due ones under a lease, settle, list, resubmit, count and prune.

Every settling update is conditional on the attempt it settles (``attempts`` unchanged and still
pending): of two runs of one record (a lease that ran out, a redelivery, a handler that outlived its
timeout) only the first to commit counts, and the other's transaction is rolled back with its effect.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from modules.infrastructure.domain.errors import DatabaseError, MessagingError
from modules.infrastructure.domain.messaging.publications import COMPLETED, FAILED, PENDING, Publication
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.infrastructure.messaging.lease_owners import is_gone
from modules.infrastructure.infrastructure.messaging.publication_model import ListenerRecord, PublicationRecord

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

MAX_ERROR = 2000


LOST_ATTEMPT = "WorkerLost: the worker running this attempt ended before it finished (killed, or crashed in the handler)"


class ClaimedPublication(NamedTuple):
    """A record a worker may run now: its handler's attempt number is ``attempts + 1``.

    ``lost``: taken over from a worker that ended mid-attempt; that attempt is already counted in ``attempts``.
    """

    id: int
    event_id: str
    listener: str
    body: str
    attempts: int
    lost: bool = False


@contextmanager
def as_messaging_error(doing: str) -> Iterator[None]:
    """A ``DatabaseError`` while reading or writing records leaves as the ``MessagingError`` the listener side raises."""
    try:
        yield
    except DatabaseError as exc:
        missing = any(sign in str(exc) for sign in ("no such table", "does not exist"))
        hint = "; the publication tables are missing: run InfrastructureService.migrate()" if missing else ""
        raise MessagingError(f"{doing} failed: {exc}{hint}. The events stay to be delivered") from exc


def now() -> datetime:
    return datetime.now(timezone.utc)


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; they were written in UTC."""
    return moment if moment is None or moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def add(session: Session, envelope: Envelope, body: str, listeners: Iterable[str]) -> int:
    """Stage a pending record per listener in ``session``'s transaction (the publishing one); how many."""
    moment = now()
    records = [
        PublicationRecord(
            event_id=envelope.id, listener=listener, event_type=envelope.type, priority=envelope.priority, body=body,
            status=PENDING, attempts=0, next_attempt_at=moment, created_at=moment, updated_at=moment,
        )
        for listener in listeners
    ]
    session.add_all(records)
    return len(records)


def ensure(
    session: Session, events: Sequence[tuple[Envelope, str, Sequence[str]]], due: datetime, owner: str
) -> dict[tuple[str, str], ClaimedPublication | str]:
    """Each (event, listener)'s record, added when missing: the claimable record when pending, else its status.

    ``events`` holds each event with its body and its listeners' identities. New records are added naming
    ``owner`` as running them (one statement; the usual case ends there). A pending record that already
    existed and still names a holder was being run by a delivery that ended before settling it (its
    consumer was killed, or its connection lost): that attempt is counted and the record comes back
    ``lost``, taken by ``owner``. When there is a lost one, the others are left unstarted (the caller runs
    the lost ones alone first, then ``start``s the rest); otherwise the existing ones are started too.
    """
    moment = now()
    rows = _new_rows(events, due, owner, moment)
    if not rows:
        return {}
    postgres = session.get_bind().dialect.name == "postgresql"
    bodies = {envelope.id: body for envelope, body, _ in events}
    result: dict[tuple[str, str], ClaimedPublication | str] = {}
    for record_id, event_id, listener in session.execute(_ENSURE_POSTGRES if postgres else _ENSURE_SQLITE, rows):
        result[event_id, listener] = ClaimedPublication(record_id, event_id, listener, bodies[event_id], 0)
    inserted = [record.id for record in result.values() if isinstance(record, ClaimedPublication)]
    if len(result) == len(rows):
        return result
    wanted = {(envelope.id, listener) for envelope, _, listeners in events for listener in listeners} - set(result)
    existing: list[ClaimedPublication] = []
    for record_id, event_id, listener, status, attempts, holder, next_attempt in session.execute(_FIND, {"event_ids": list(bodies)}):
        if (event_id, listener) not in wanted:
            continue
        if status != PENDING:
            result[event_id, listener] = status
        elif holder is not None and holder != owner and not _run_out(next_attempt, moment) and not is_gone(holder, owner):
            result[event_id, listener] = BUSY  # another process is running it, or may be: it settles the record
        else:
            # Held by this process, it is not running here now (a delivery that failed before settling it, and
            # was requeued): run it again, without counting an attempt its handler may never have made.
            lost = holder is not None and holder != owner
            existing.append(ClaimedPublication(record_id, event_id, listener, bodies[event_id], attempts + lost, lost))
    result.update(((r.event_id, r.listener), r) for r in existing)
    lost_ids = [r.id for r in existing if r.lost]
    if lost_ids:
        session.execute(
            update(_TABLE).where(_TABLE.c.id.in_(lost_ids))
            .values(attempts=_TABLE.c.attempts + 1, last_error=LOST_ATTEMPT, lease_owner=owner, next_attempt_at=due, updated_at=moment)
        )
        if inserted:  # not started yet after all: they run once the lost ones have
            session.execute(update(_TABLE).where(_TABLE.c.id.in_(inserted)).values(lease_owner=None))
    else:
        start(session, [r.id for r in existing], owner, due)
    return result


BUSY = "busy"  # ``ensure``'s status for a record another live delivery holds


def _run_out(next_attempt: datetime | None, moment: datetime) -> bool:
    """Whether a holder's claim has run out (its lease was the record's next attempt time)."""
    due = aware(next_attempt)
    return due is None or due <= moment


def _new_rows(
    events: Sequence[tuple[Envelope, str, Sequence[str]]], due: datetime, owner: str | None, moment: datetime
) -> list[dict[str, Any]]:
    """The columns of a new pending record for each event and each of its listeners."""
    return [
        {"event_id": envelope.id, "listener": listener, "event_type": envelope.type, "priority": envelope.priority, "body": body,
         "status": PENDING, "attempts": 0, "next_attempt_at": due, "lease_owner": owner, "created_at": moment, "updated_at": moment}
        for envelope, body, listeners in events
        for listener in listeners
    ]


def add_waiting(session: Session, events: Sequence[tuple[Envelope, str, Sequence[str]]], due: datetime) -> None:
    """Pending records nobody runs yet, due at ``due``, for each event's listeners; existing ones are left as they are."""
    rows = _new_rows(events, due, None, now())
    if rows:
        postgres = session.get_bind().dialect.name == "postgresql"
        session.execute((postgresql.insert if postgres else sqlite.insert)(_TABLE).on_conflict_do_nothing(index_elements=["event_id", "listener"]), rows)


def start(session: Session, record_ids: Sequence[int], owner: str, until: datetime) -> None:
    """Name ``owner`` as running these records until ``until``: if it ends before settling them, the next delivery
    counts the attempt; before ``until`` no sweep takes them over."""
    if record_ids:
        session.execute(_START, {"record_ids": list(record_ids), "owner": owner, "until": until})


# Core statements on the table, built once: the ORM's bulk paths cost more than the round trips on a consumer's every batch.
_TABLE = cast(Table, PublicationRecord.__table__)
_ENSURE_POSTGRES = (
    postgresql.insert(_TABLE).on_conflict_do_nothing(index_elements=["event_id", "listener"]).returning(_TABLE.c.id, _TABLE.c.event_id, _TABLE.c.listener)
)
_ENSURE_SQLITE = (
    sqlite.insert(_TABLE).on_conflict_do_nothing(index_elements=["event_id", "listener"]).returning(_TABLE.c.id, _TABLE.c.event_id, _TABLE.c.listener)
)
_FIND = select(
    _TABLE.c.id, _TABLE.c.event_id, _TABLE.c.listener, _TABLE.c.status, _TABLE.c.attempts, _TABLE.c.lease_owner, _TABLE.c.next_attempt_at
).where(_TABLE.c.event_id.in_(bindparam("event_ids", expanding=True)))
_START = (
    update(_TABLE)
    .where(_TABLE.c.id.in_(bindparam("record_ids", expanding=True)), _TABLE.c.status == PENDING)
    .values(lease_owner=bindparam("owner"), next_attempt_at=bindparam("until"))
)


def claim_due(
    session: Session, listeners: Sequence[str], owner: str, lease: timedelta, limit: int, overdue: timedelta = timedelta(0), *, lost: bool = False
) -> list[ClaimedPublication]:
    """Up to ``limit`` pending records of ``listeners`` due ``overdue`` ago or earlier, highest priority first, leased to ``owner``.

    The lease pushes their next attempt past it: another worker takes them only once it ran out. Records
    nobody holds are claimed by default; with ``lost``, those whose holder's lease ran out (or was released
    because it died): the attempt it was making is counted, so a handler that kills its process runs out of
    attempts like one that raises.
    """
    if not listeners:
        return []
    moment = now()
    postgres = session.get_bind().dialect.name == "postgresql"
    parameters = {"listeners": list(listeners), "due": moment - overdue, "limit": limit, "owner": owner, "until": moment + lease, "moment": moment}
    claimed = sorted(session.execute(_CLAIMS[postgres, lost], parameters), key=lambda row: (-row[5], row[0]))
    return [ClaimedPublication(row[0], row[1], row[2], row[3], row[4], lost) for row in claimed]


def _claim_statement(postgres: bool, lost: bool) -> Any:
    """``claim_due``'s statement, built once per kind: a Core statement with parameters compiles once and is cached."""
    table = cast(Table, PublicationRecord.__table__)
    held = table.c.lease_owner.is_not(None) if lost else table.c.lease_owner.is_(None)
    due = (
        select(table.c.id)
        .where(table.c.status == PENDING, table.c.next_attempt_at <= bindparam("due"), table.c.listener.in_(bindparam("listeners", expanding=True)), held)
        .order_by(table.c.priority.desc(), table.c.id)
        .limit(bindparam("limit"))
    )
    if postgres:
        due = due.with_for_update(skip_locked=True)
    values: dict[str, Any] = {"lease_owner": bindparam("owner"), "next_attempt_at": bindparam("until"), "updated_at": bindparam("moment")}
    if lost:
        values.update(attempts=table.c.attempts + 1, last_error=LOST_ATTEMPT)
    return (
        update(table)
        .where(table.c.id.in_(due.scalar_subquery()))
        .values(**values)
        .returning(table.c.id, table.c.event_id, table.c.listener, table.c.body, table.c.attempts, table.c.priority)
    )


_CLAIMS = {(postgres, lost): _claim_statement(postgres, lost) for postgres in (True, False) for lost in (True, False)}


# Settling statements are built once and run as Core statements: they are on every record's path.
# "Not completed and not failed" rather than "pending": a condition the planner cannot match to the
# partial index of pending rows, so it finds the row by its primary key even before the table is analysed.
_STILL_OPEN = _TABLE.c.status.not_in([COMPLETED, FAILED])
_COMPLETE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("record_id"), _TABLE.c.attempts == bindparam("attempts_before"), _STILL_OPEN)
    .values(status=COMPLETED, attempts=bindparam("attempts_after"), completed_at=bindparam("moment"), updated_at=bindparam("moment"),
            lease_owner=None, last_error=None)
)
_FAIL_ATTEMPT = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("record_id"), _TABLE.c.attempts == bindparam("attempts_before"), _STILL_OPEN)
    .values(status=bindparam("new_status"), attempts=bindparam("attempts_after"), next_attempt_at=bindparam("retry_at"),
            last_error=bindparam("error"), updated_at=bindparam("moment"), lease_owner=None)
)


def complete(session: Session, record: ClaimedPublication) -> bool:
    """Mark the attempt completed in ``session``'s transaction (the handler's); False when another run settled it first."""
    result = session.execute(
        _COMPLETE, {"record_id": record.id, "attempts_before": record.attempts, "attempts_after": record.attempts + 1, "moment": now()}
    )
    return cast("CursorResult[Any]", result).rowcount == 1


def complete_all(session: Session, records: Sequence[ClaimedPublication]) -> set[int]:
    """Mark every attempt completed in ``session``'s transaction; the ids that were (the others another run settled).

    On PostgreSQL one statement for the whole batch, from two arrays; elsewhere one statement per record.
    """
    if session.get_bind().dialect.name != "postgresql":
        return {record.id for record in records if complete(session, record)}
    moment = now()
    rows = session.execute(
        _COMPLETE_ALL, {"ids": [r.id for r in records], "attempts": [r.attempts for r in records], "moment": moment}
    )
    return {row[0] for row in rows}


_COMPLETE_ALL = text(
    "UPDATE infrastructure_event_publications AS p SET status = 'completed', attempts = p.attempts + 1, "
    "completed_at = :moment, updated_at = :moment, lease_owner = NULL, last_error = NULL "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS integer[])) AS v(id, attempts) "
    "WHERE p.id = v.id AND p.attempts = v.attempts AND p.status NOT IN ('completed', 'failed') RETURNING p.id"
)


def fail_attempt(session: Session, record: ClaimedPublication, error: str, retry_at: datetime | None) -> bool:
    """Count a failed attempt: pending again at ``retry_at``, or ``failed`` when it is None. False when already settled."""
    result = session.execute(
        _FAIL_ATTEMPT,
        {"record_id": record.id, "attempts_before": record.attempts, "attempts_after": record.attempts + 1, "retry_at": retry_at,
         "new_status": PENDING if retry_at is not None else FAILED, "error": error[:MAX_ERROR], "moment": now()},
    )
    return cast("CursorResult[Any]", result).rowcount == 1


def give_up(session: Session, record: ClaimedPublication) -> bool:
    """Mark ``record`` failed as it is (its last attempt was lost with its worker); False when already settled."""
    result = session.execute(
        update(_TABLE)
        .where(_TABLE.c.id == record.id, _TABLE.c.attempts == record.attempts, _STILL_OPEN)
        .values(status=FAILED, next_attempt_at=None, lease_owner=None, updated_at=now())
    )
    return cast("CursorResult[Any]", result).rowcount == 1


def listed(session: Session, statuses: Sequence[str], listener: str | None, limit: int) -> list[Publication]:
    """Records in ``statuses`` (of ``listener`` when given), oldest first."""
    query = select(PublicationRecord).where(PublicationRecord.status.in_(statuses))
    if listener is not None:
        query = query.where(PublicationRecord.listener == listener)
    rows = session.scalars(query.order_by(PublicationRecord.id).limit(limit))
    return [
        Publication(
            event_id=r.event_id, listener=r.listener, event_type=r.event_type, status=r.status, attempts=r.attempts,
            last_error=r.last_error, created_at=cast(datetime, aware(r.created_at)), updated_at=cast(datetime, aware(r.updated_at)),
            next_attempt_at=aware(r.next_attempt_at) if r.status == PENDING else None, completed_at=aware(r.completed_at),
        )
        for r in rows
    ]


def resubmit(session: Session, listener: str | None, event_ids: Sequence[str] | None, due: datetime) -> int:
    """Failed records (of ``listener``, of ``event_ids``) pending again from ``due``, their attempts counted afresh."""
    query = update(PublicationRecord).where(PublicationRecord.status == FAILED)
    if listener is not None:
        query = query.where(PublicationRecord.listener == listener)
    if event_ids is not None:
        query = query.where(PublicationRecord.event_id.in_(event_ids))
    result = session.execute(
        query.values(status=PENDING, attempts=0, next_attempt_at=due, updated_at=now(), lease_owner=None).execution_options(synchronize_session=False)
    )
    return cast("CursorResult[Any]", result).rowcount or 0


def reopen(session: Session, event_id: str, listener: str, due: datetime) -> None:
    """One record pending again from ``due`` with its attempts counted afresh (a dead letter replayed), unless completed."""
    session.execute(
        update(PublicationRecord)
        .where(PublicationRecord.event_id == event_id, PublicationRecord.listener == listener, PublicationRecord.status != COMPLETED)
        .values(status=PENDING, attempts=0, next_attempt_at=due, updated_at=now(), lease_owner=None)
        .execution_options(synchronize_session=False)
    )


def lease_owners(session: Session, listeners: Sequence[str]) -> list[str]:
    """The workers holding claims on pending records of ``listeners``."""
    if not listeners:
        return []
    return list(session.scalars(
        select(PublicationRecord.lease_owner).distinct()
        .where(PublicationRecord.status == PENDING, PublicationRecord.lease_owner.is_not(None), PublicationRecord.listener.in_(listeners))
    ))


def hand_back(session: Session, record_ids: Sequence[int], owner: str) -> None:
    """Records ``owner`` claimed and did not run: due now, for any worker to claim (no attempt was made)."""
    moment = now()
    session.execute(
        update(PublicationRecord)
        .where(PublicationRecord.id.in_(record_ids), PublicationRecord.lease_owner == owner, PublicationRecord.status == PENDING)
        .values(lease_owner=None, next_attempt_at=moment, updated_at=moment)
        .execution_options(synchronize_session=False)
    )


def release_leases(session: Session, listeners: Sequence[str], owners: Sequence[str]) -> int:
    """Make the pending records of ``listeners`` that ``owners`` had claimed due now: those workers died (start-up resume).

    The owner stays: a worker claims them as lost (``claim_due(lost=True)``), counting the attempt that died.
    """
    if not listeners or not owners:
        return 0
    moment = now()
    result = session.execute(
        update(PublicationRecord)
        .where(PublicationRecord.status == PENDING, PublicationRecord.lease_owner.in_(owners), PublicationRecord.listener.in_(listeners))
        .values(next_attempt_at=moment, updated_at=moment)
        .execution_options(synchronize_session=False)
    )
    return cast("CursorResult[Any]", result).rowcount or 0


def prune_completed(session: Session, older_than: timedelta, limit: int) -> int:
    """Delete at most ``limit`` records completed more than ``older_than`` ago; how many."""
    expired = select(PublicationRecord.id).where(PublicationRecord.status == COMPLETED, PublicationRecord.completed_at < now() - older_than).limit(limit)
    result = session.execute(delete(PublicationRecord).where(PublicationRecord.id.in_(expired)).execution_options(synchronize_session=False))
    return cast("CursorResult[Any]", result).rowcount or 0


def open_counts(session: Session) -> dict[str, tuple[int, int, datetime | None]]:
    """Per listener with open records: (pending, failed, creation of the oldest pending)."""
    rows = session.execute(
        select(
            PublicationRecord.listener,
            func.count().filter(PublicationRecord.status == PENDING),
            func.count().filter(PublicationRecord.status == FAILED),
            func.min(PublicationRecord.created_at).filter(PublicationRecord.status == PENDING),
        )
        .where(or_(PublicationRecord.status == PENDING, PublicationRecord.status == FAILED))
        .group_by(PublicationRecord.listener)
    )
    return {listener: (pending, failed, aware(oldest)) for listener, pending, failed, oldest in rows}


def remember_listener(session: Session, identity: str, module: str, pattern: str) -> None:
    """Record (or refresh) a listener registered in some process."""
    moment = now()
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(ListenerRecord)
    statement = insert.values(identity=identity, module=module, pattern=pattern, registered_at=moment, last_seen_at=moment)
    session.execute(statement.on_conflict_do_update(index_elements=["identity"], set_={"pattern": pattern, "module": module, "last_seen_at": moment}))


def known_listeners(session: Session) -> list[tuple[str, str]]:
    """Every listener registered so far, as (identity, pattern)."""
    return [(identity, pattern) for identity, pattern in session.execute(select(ListenerRecord.identity, ListenerRecord.pattern))]


def forget_listener(session: Session, identity: str) -> bool:
    """Stop creating records for a listener that no longer exists; its pending records are left for inspection."""
    result = session.execute(delete(ListenerRecord).where(ListenerRecord.identity == identity))
    return (cast("CursorResult[Any]", result).rowcount or 0) == 1
