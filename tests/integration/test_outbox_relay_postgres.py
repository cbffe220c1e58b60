"""The pipelined relay on the real PostgreSQL: one thread claims and records while the broker confirms.

The broker is ``RecordingPublisher``, so every assertion is about the outbox: what was handed
over, in which order, what is marked sent, and that a failure mid-pipeline gives every claimed
row back (pending, unlocked, no connection left checked out).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.domain.messaging.ports import PublishInterrupted, PublishOutcome
from modules.infrastructure.module_api import DatabaseError, Envelope, InfrastructureService, MessagingError, RelayResult
from tests.fakes import RecordingPublisher
from tests.integration.postgres_scratch import scratch_database, use_postgres

QUEUE = "relay.pipeline"


@pytest.fixture
def outbox_db(clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> Iterator[str]:
    """A migrated scratch database, batches of 10, relaying only when the test asks."""
    with scratch_database(postgres_url, "infra_relay") as url:
        use_postgres(monkeypatch, url, OUTBOX_RELAY="off", OUTBOX_BATCH_SIZE="10")
        InfrastructureService.migrate()
        yield url
        InfrastructureService.reset()  # closes the pool before the database is dropped


def publish(n: int) -> list[str]:
    with InfrastructureService.get_database_session() as db:
        return [InfrastructureService.publish_event(QUEUE, {"n": i}, event_type="t", source="s", session=db) for i in range(n)]


def statuses() -> dict[str, int]:
    with InfrastructureService.get_database_session() as db:
        return dict(db.execute(text("SELECT status, count(*) FROM infrastructure_outbox GROUP BY status")).all())


def checked_out() -> int:
    return sum(pool.checked_out for pool in InfrastructureService.get_database_stats())


def test_a_backlog_of_many_batches_is_delivered_once_each_in_id_order(outbox_db: str) -> None:
    ids = publish(95)
    threads: set[str] = set()
    publisher = RecordingPublisher(during_publish=lambda _batch: threads.update(t.name for t in threading.enumerate()))
    with InfrastructureService.override(publisher=publisher):
        assert InfrastructureService.relay_outbox() == RelayResult(sent=95, failed=0, pending=0)
    assert publisher.delivered_ids == ids
    assert [len(batch) for batch in publisher.batches] == [10] * 9 + [5]
    assert any(name.startswith("outbox-relay-db") for name in threads), "the relay did not pipeline on PostgreSQL"
    assert statuses() == {"sent": 95}
    assert checked_out() == 0


def test_max_messages_stops_the_pipeline_at_the_limit(outbox_db: str) -> None:
    ids = publish(50)
    publisher = RecordingPublisher()
    with InfrastructureService.override(publisher=publisher):
        assert InfrastructureService.relay_outbox(max_messages=25) == RelayResult(sent=25, failed=0, pending=25)
        assert publisher.delivered_ids == ids[:25]
        assert InfrastructureService.relay_outbox() == RelayResult(sent=25, failed=0, pending=0)
    assert publisher.delivered_ids == ids


def test_refused_events_in_a_later_batch_count_an_attempt_and_stay_pending(outbox_db: str) -> None:
    ids = publish(30)
    publisher = RecordingPublisher(refuse={ids[12], ids[27]})
    with InfrastructureService.override(publisher=publisher):
        assert InfrastructureService.relay_outbox() == RelayResult(sent=28, failed=0, pending=2)
    with InfrastructureService.get_database_session() as db:
        rows = db.execute(text("SELECT message_id, attempts FROM infrastructure_outbox WHERE status = 'pending' ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(ids[12], 1), (ids[27], 1)]


def test_a_broker_failure_mid_pipeline_gives_back_every_claimed_row(outbox_db: str) -> None:
    ids = publish(40)
    publisher = RecordingPublisher()
    # The second batch arms a failure for the third, while the fourth is already claimed.
    publisher.during_publish = lambda _batch: publisher.fail_next(1) if publisher.calls == 2 else None
    with InfrastructureService.override(publisher=publisher):
        with pytest.raises(MessagingError, match="broker unreachable"):
            InfrastructureService.relay_outbox()
        assert publisher.delivered_ids == ids[:20]
        assert statuses() == {"sent": 20, "pending": 20}
        assert checked_out() == 0, "a claimed batch kept its connection after the failure"
        publisher.during_publish = None
        assert InfrastructureService.relay_outbox() == RelayResult(sent=20, failed=0, pending=0)
    assert publisher.delivered_ids == ids


class InterruptingPublisher(RecordingPublisher):
    """Confirms the first 4 events of its third batch, then loses the broker (``PublishInterrupted``); then works."""

    def publish_batch(self, messages: Sequence[tuple[Envelope, bytes]]) -> list[PublishOutcome]:
        if self.calls != 2:
            return super().publish_batch(messages)
        settled = super().publish_batch(messages[:4])
        raise PublishInterrupted("connection lost after some confirms (scripted)", settled)


def test_events_confirmed_before_a_failure_mid_pipeline_are_marked_sent_and_the_rest_given_back(outbox_db: str) -> None:
    ids = publish(40)
    publisher = InterruptingPublisher()
    with InfrastructureService.override(publisher=publisher):
        with pytest.raises(MessagingError, match="scripted"):
            InfrastructureService.relay_outbox()
        assert statuses() == {"sent": 24, "pending": 16}, "the third batch's 4 confirmed events were rolled back"
        assert checked_out() == 0, "a claimed batch kept its connection after the failure"
        assert InfrastructureService.relay_outbox() == RelayResult(sent=16, failed=0, pending=0)
    assert publisher.delivered_ids == ids, "each event confirmed exactly once"


def test_a_batch_whose_outcome_cannot_be_written_stops_the_run_before_another_is_published(outbox_db: str) -> None:
    ids = publish(40)
    refuse_updates = f"""
        CREATE FUNCTION refuse_first_row() RETURNS trigger AS $$
        BEGIN IF OLD.message_id = '{ids[0]}' THEN RAISE EXCEPTION 'scripted failure'; END IF; RETURN NEW; END
        $$ LANGUAGE plpgsql;
        CREATE TRIGGER refuse_first_row BEFORE UPDATE ON infrastructure_outbox FOR EACH ROW EXECUTE FUNCTION refuse_first_row();
    """
    with InfrastructureService.get_database_session() as db:
        db.execute(text(refuse_updates))
    publisher = RecordingPublisher()
    with InfrastructureService.override(publisher=publisher):
        with pytest.raises(DatabaseError, match="scripted failure"):
            InfrastructureService.relay_outbox()
        # Batch 1's write failed; batch 2 may have been with the broker by then, batches 3 and 4 never are.
        published = [len(batch) for batch in publisher.batches]
        assert published in ([10], [10, 10]), published
        sent = 10 * (len(published) - 1)
        assert statuses() == ({"pending": 40 - sent, "sent": sent} if sent else {"pending": 40})
        assert checked_out() == 0
        with InfrastructureService.get_database_session() as db:
            db.execute(text("DROP TRIGGER refuse_first_row ON infrastructure_outbox"))
        assert InfrastructureService.relay_outbox() == RelayResult(sent=40 - sent, failed=0, pending=0)
    assert sorted(set(publisher.delivered_ids)) == sorted(ids)  # batch 1 twice: at least once


def test_without_a_spare_connection_the_relay_runs_one_batch_at_a_time(clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> None:
    with scratch_database(postgres_url, "infra_relay") as url:
        use_postgres(monkeypatch, url, OUTBOX_RELAY="off", OUTBOX_BATCH_SIZE="10", DB_POOL_SIZE="2", DB_MAX_OVERFLOW="0", DB_POOL_TIMEOUT="2")
        InfrastructureService.migrate()
        ids = publish(30)
        threads: set[str] = set()
        publisher = RecordingPublisher(during_publish=lambda _batch: threads.update(t.name for t in threading.enumerate()))
        try:
            with InfrastructureService.override(publisher=publisher), InfrastructureService.get_database_session():
                # The application holds one of the two connections; the relay has one left.
                assert InfrastructureService.relay_outbox() == RelayResult(sent=30, failed=0, pending=0)
        finally:
            InfrastructureService.reset()
    assert publisher.delivered_ids == ids
    assert not any(name.startswith("outbox-relay-db") for name in threads)


def test_a_driver_error_while_claiming_is_a_database_error(clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> None:
    with scratch_database(postgres_url, "infra_relay") as url:
        use_postgres(monkeypatch, url, OUTBOX_RELAY="off")  # not migrated: there is no outbox table
        try:
            with InfrastructureService.override(publisher=RecordingPublisher()), pytest.raises(DatabaseError, match="infrastructure_outbox"):
                InfrastructureService.relay_outbox()
        finally:
            InfrastructureService.reset()
