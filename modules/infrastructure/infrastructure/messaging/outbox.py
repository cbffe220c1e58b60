"""Outbox rows: add in the caller's transaction, claim a batch, mark the outcome, count, purge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sqlalchemy import BigInteger, LargeBinary, bindparam, delete, func, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.engine import CursorResult
    from sqlalchemy.sql.selectable import ScalarSelect

from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.infrastructure.messaging.outbox_model import FAILED, PENDING, SENT, OutboxRecord


class ClaimedRow(NamedTuple):
    """One claimed row; a tuple, since a relay builds a thousand of them per batch."""

    id: int
    message_id: str
    destination: str
    body: str  # the encoded envelope, as stored
    attempts: int


def add(session: Session, envelope: Envelope, body: bytes) -> None:
    """Stage the event in ``session``'s transaction: it exists exactly when that transaction commits."""
    session.add(
        OutboxRecord(
            message_id=envelope.id,
            destination=envelope.destination,
            event_type=envelope.type,
            body=body.decode(),
            status=PENDING,
            attempts=0,
        )
    )


def claim(session: Session, limit: int, after_id: int = 0) -> list[ClaimedRow]:
    """The oldest pending rows past ``after_id``, locked until the transaction ends; rows another relay holds are skipped."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    # SQLite hands back whatever bytes a hand-written row holds, and sqlite3 fails the whole fetch on
    # text that is not UTF-8: read the text columns as bytes and decode each row on its own.
    text_columns: list[ColumnElement[Any]] = [
        OutboxRecord.message_id.expression,
        OutboxRecord.destination.expression,
        OutboxRecord.body.expression,
    ]
    if sqlite:
        text_columns = [sql_cast(column, LargeBinary) for column in text_columns]
    statement = (
        select(OutboxRecord.id, *text_columns, OutboxRecord.attempts)
        .where(OutboxRecord.status == PENDING, OutboxRecord.id > after_id)
        .order_by(OutboxRecord.id)
        .limit(limit)
    )
    if not sqlite:
        statement = statement.with_for_update(skip_locked=True)
        return [ClaimedRow(*row) for row in session.execute(statement)]
    return [ClaimedRow(row[0], _text(row[1]), _text(row[2]), _text(row[3]), row[4]) for row in session.execute(statement)]


def _text(value: object) -> Any:
    """UTF-8 bytes as text; anything else as it is, for the batch to report as not an event row."""
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return value
    return value


def mark_sent(session: Session, ids: Sequence[int]) -> None:
    if not ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter instead of a thousand: about twice as fast for a full batch.
        matches = OutboxRecord.id == func.any(bindparam("ids", list(ids), type_=ARRAY(BigInteger)))
    else:
        matches = OutboxRecord.id.in_(ids)
    # No ORM synchronisation: the relay holds no OutboxRecord objects, and fetching the ids back doubled the cost.
    statement = update(OutboxRecord).where(matches).values(status=SENT, sent_at=datetime.now(timezone.utc), last_error=None)
    session.execute(statement.execution_options(synchronize_session=False))


def mark_attempt_failed(session: Session, row: ClaimedRow, error: str, max_attempts: int) -> bool:
    """Count a failed attempt; the row becomes ``failed`` at ``max_attempts``. True when it did."""
    attempts = row.attempts + 1
    gave_up = attempts >= max_attempts
    session.execute(
        update(OutboxRecord)
        .where(OutboxRecord.id == row.id)
        .values(attempts=attempts, last_error=error[:2000], status=FAILED if gave_up else PENDING)
    )
    return gave_up


def mark_failed(session: Session, failures: Sequence[tuple[int, str]]) -> None:
    """Give up at once on rows that can never be published (not a valid event), each with its reason."""
    for row_id, error in failures:
        session.execute(
            update(OutboxRecord)
            .where(OutboxRecord.id == row_id)
            .values(attempts=OutboxRecord.attempts + 1, last_error=error[:2000], status=FAILED)
        )


def counts(session: Session) -> dict[str, int]:
    """Rows ``pending`` and ``failed``, in one round trip; each count reads only its partial index, never the sent rows."""
    pending, failed = session.execute(select(_count(PENDING), _count(FAILED))).one()
    return {PENDING: pending, FAILED: failed}


def oldest_pending_age(session: Session, now: datetime | None = None) -> float:
    """Seconds since the oldest pending event was stored (0 when none waits); one row read through the pending index."""
    oldest = select(OutboxRecord.created_at).where(OutboxRecord.status == PENDING).order_by(OutboxRecord.id).limit(1)
    created = session.execute(oldest).scalar_one_or_none()
    if created is None:
        return 0.0
    if created.tzinfo is None:  # SQLite keeps CURRENT_TIMESTAMP, in UTC, without a zone
        created = created.replace(tzinfo=timezone.utc)
    return max(0.0, ((now or datetime.now(timezone.utc)) - created).total_seconds())


def count_pending(session: Session) -> int:
    return int(session.execute(select(_count(PENDING))).scalar_one())


def _count(status: str) -> ScalarSelect[int]:
    return select(func.count()).select_from(OutboxRecord).where(OutboxRecord.status == status).scalar_subquery()


def purge_sent(session: Session, older_than: timedelta, limit: int) -> int:
    """Delete at most ``limit`` sent rows older than ``older_than`` (found through their partial index); the number removed."""
    cutoff = datetime.now(timezone.utc) - older_than
    expired = select(OutboxRecord.id).where(OutboxRecord.status == SENT, OutboxRecord.sent_at < cutoff).limit(limit)
    result = session.execute(delete(OutboxRecord).where(OutboxRecord.id.in_(expired)).execution_options(synchronize_session=False))
    return cast("CursorResult[Any]", result).rowcount or 0
