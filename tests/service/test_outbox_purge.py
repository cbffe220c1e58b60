"""``SentRowPurge``: sent rows past the retention go a bounded batch at a time, and not on every relay run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

from modules.infrastructure.infrastructure.messaging.outbox_model import FAILED, PENDING, SENT, OutboxRecord
from modules.infrastructure.infrastructure.messaging.sent_row_purge import SentRowPurge
from tests.fake_clock import FakeClock

RETENTION = timedelta(hours=1)


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    OutboxRecord.metadata.create_all(engine, tables=[OutboxRecord.metadata.tables["infrastructure_outbox"]])
    with Session(engine) as session:
        yield session
    engine.dispose()


def add_rows(session: Session, status: str, age: timedelta, n: int) -> None:
    when = datetime.now(timezone.utc) - age
    session.execute(insert(OutboxRecord), [
        {"message_id": f"{status}-{age.total_seconds():.0f}-{i}", "destination": "d", "event_type": "t", "body": "{}",
         "status": status, "attempts": 0, "sent_at": when if status == SENT else None}
        for i in range(n)
    ])


def left(session: Session) -> dict[str, int]:
    found: dict[str, int] = {}
    for status in session.scalars(select(OutboxRecord.status)):
        found[status] = found.get(status, 0) + 1
    return found


def test_only_sent_rows_past_the_retention_go(session: Session) -> None:
    add_rows(session, SENT, timedelta(hours=2), 3)
    add_rows(session, SENT, timedelta(minutes=30), 2)
    add_rows(session, PENDING, timedelta(hours=2), 1)
    add_rows(session, FAILED, timedelta(hours=2), 1)
    assert SentRowPurge(RETENTION)(session) == 3
    assert left(session) == {SENT: 2, PENDING: 1, FAILED: 1}


def test_one_purge_deletes_at_most_a_batch_and_the_next_run_goes_on_at_once(session: Session) -> None:
    add_rows(session, SENT, timedelta(hours=2), 5)
    clock = FakeClock()
    purge = SentRowPurge(RETENTION, every=60, batch=2, clock=clock)
    assert [purge(session), purge(session), purge(session)] == [2, 2, 1], "a full batch leaves more: due again at once"
    assert purge(session) == 0 and left(session) == {}


def test_after_a_short_batch_the_next_purge_waits_for_its_interval(session: Session) -> None:
    add_rows(session, SENT, timedelta(hours=2), 1)
    clock = FakeClock()
    purge = SentRowPurge(RETENTION, every=60, batch=2, clock=clock)
    assert purge(session) == 1
    add_rows(session, SENT, timedelta(hours=2), 1)
    clock.advance(59)
    assert purge(session) == 0, "purged again within the interval"
    clock.advance(1)
    assert purge(session) == 1
