"""``metrics_text()`` after real calls through the facade: sessions, pools, cache, outbox, publishes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import DatabaseConflictError, InfrastructureService, MessagingError
from tests.fakes import RecordingPublisher
from tests.metrics_support import sample, samples

SESSIONS = "infrastructure_db_session_duration_seconds_count"


@pytest.fixture
def db_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = clean_env / "metrics.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("OUTBOX_RELAY", "off")
    InfrastructureService.reset()
    return path


def publish(n: int) -> list[str]:
    return [InfrastructureService.publish_event("lessons", {"n": i}, event_type="lesson.created", source="lessons") for i in range(n)]


def test_each_closed_session_is_one_observation_of_its_engine(db_file: Path) -> None:
    for _ in range(3):
        with InfrastructureService.get_database_session() as db:
            db.execute(text("SELECT 1"))
    session = InfrastructureService.get_database_session()
    session.close()
    session.close()  # a second close is not a second session
    assert sample(SESSIONS, engine="primary") == 4
    assert sample("infrastructure_db_session_duration_seconds_bucket", engine="primary", le="+Inf") == 4


def test_sessions_of_run_in_transaction_are_observed_too_retries_included(db_file: Path) -> None:
    attempts = []

    def work(db: object) -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise DatabaseConflictError("scripted conflict")  # retried: a second session
        return 7

    assert InfrastructureService.run_in_transaction(work) == 7
    assert sample(SESSIONS, engine="primary") == 2


def test_pool_gauges_show_the_connections_in_use_at_scrape_time(db_file: Path) -> None:
    with InfrastructureService.get_database_session() as db:
        db.execute(text("SELECT 1"))
        during = InfrastructureService.metrics_text()
    assert sample("infrastructure_db_pool_checked_out", during, engine="primary") == 1
    assert sample("infrastructure_db_pool_size", during, engine="primary") == 5
    assert sample("infrastructure_db_pool_checked_out", engine="primary") == 0
    assert sample("infrastructure_db_pool_checked_in", engine="primary") >= 1


def test_cache_hits_misses_and_errors_of_the_shared_backend(db_file: Path) -> None:
    cache = InfrastructureService.get_cache("lessons")
    cache.set("a", "1")
    assert cache.get("a") == "1" and cache.get("b") is None and cache.get("c") is None
    assert sample("infrastructure_cache_hits_total", backend="memory") == 1
    assert sample("infrastructure_cache_misses_total", backend="memory") == 2
    assert sample("infrastructure_cache_errors_total", backend="memory") == 0


def test_outbox_publishes_confirms_and_refusals_are_counted(db_file: Path) -> None:
    InfrastructureService.migrate()
    refused, *confirmed = publish(3)
    with InfrastructureService.override(publisher=RecordingPublisher(refuse={refused})):
        InfrastructureService.relay_outbox()
    assert sample("infrastructure_outbox_events_added_total") == 3
    assert sample("infrastructure_messaging_publishes_total", outcome="confirmed") == len(confirmed)
    assert sample("infrastructure_messaging_publishes_total", outcome="refused") == 1
    assert sample("infrastructure_outbox_up") == 1
    assert sample("infrastructure_outbox_events", status="pending") == 1  # refused once: retried later
    assert sample("infrastructure_outbox_events", status="failed") == 0


def test_the_oldest_pending_event_s_age_is_exported(db_file: Path) -> None:
    InfrastructureService.migrate()
    assert sample("infrastructure_outbox_oldest_pending_seconds") == 0  # none pending
    publish(1)
    with InfrastructureService.get_database_session() as db:  # stored two minutes ago, as the database keeps it
        db.execute(text("UPDATE infrastructure_outbox SET created_at = datetime('now', '-120 seconds')"))
    age = sample("infrastructure_outbox_oldest_pending_seconds")
    assert age is not None and 119 <= age <= 180


def test_events_in_a_caller_s_transaction_are_counted_when_it_commits(db_file: Path) -> None:
    InfrastructureService.migrate()
    with pytest.raises(RuntimeError), InfrastructureService.get_database_session() as db:
        InfrastructureService.publish_event("lessons", {}, event_type="lesson.created", source="lessons", session=db)
        raise RuntimeError("the business step failed: the transaction rolls back")
    assert sample("infrastructure_outbox_events_added_total") == 0
    with InfrastructureService.get_database_session() as db:
        for n in range(2):
            InfrastructureService.publish_event("lessons", {"n": n}, event_type="lesson.created", source="lessons", session=db)
        assert sample("infrastructure_outbox_events_added_total") == 0, "counted before the commit"
    assert sample("infrastructure_outbox_events_added_total") == 2


def test_events_of_a_rolled_back_transaction_are_not_counted_at_the_session_s_next_commit(db_file: Path) -> None:
    InfrastructureService.migrate()
    db = InfrastructureService.get_database_session()
    try:
        for n in range(3):
            InfrastructureService.publish_event("lessons", {"n": n}, event_type="lesson.created", source="lessons", session=db)
        db.rollback()
        InfrastructureService.publish_event("lessons", {}, event_type="lesson.created", source="lessons", session=db)
        db.commit()
    finally:
        db.close()
    assert sample("infrastructure_outbox_events_added_total") == 1


def test_events_in_a_savepoint_are_counted_at_the_outer_commit(db_file: Path) -> None:
    InfrastructureService.migrate()
    with InfrastructureService.get_database_session() as db:
        with db.begin_nested():
            InfrastructureService.publish_event("lessons", {}, event_type="lesson.created", source="lessons", session=db)
        assert sample("infrastructure_outbox_events_added_total") == 0, "counted at the savepoint's release"
    assert sample("infrastructure_outbox_events_added_total") == 1


def test_a_broker_failure_counts_the_batch_as_errors(db_file: Path) -> None:
    InfrastructureService.migrate()
    publish(2)
    down = RecordingPublisher()
    down.fail_next()
    with InfrastructureService.override(publisher=down), pytest.raises(MessagingError):
        InfrastructureService.relay_outbox()
    assert sample("infrastructure_messaging_publishes_total", outcome="error") == 2
    assert sample("infrastructure_outbox_events", status="pending") == 2


def test_an_outbox_that_cannot_be_counted_is_left_out_not_raised(db_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    text_without_table = InfrastructureService.metrics_text()  # not migrated: no outbox table
    assert sample("infrastructure_outbox_up", text_without_table) == 0
    assert not [key for key in samples(text_without_table) if key[0] == "infrastructure_outbox_events"]
    assert "Metrics: outbox counts could not be read (DatabaseQueryError" in caplog.text
    InfrastructureService.migrate()
    assert sample("infrastructure_outbox_up") == 1


def test_an_exhausted_pool_is_not_waited_on_for_the_outbox_count(
    db_file: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "1")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "0")
    InfrastructureService.migrate()
    with InfrastructureService.get_database_session():
        assert sample("infrastructure_outbox_up") == 0
        assert sample("infrastructure_db_pool_checked_out", engine="primary") == 1
    assert "every connection of the primary pool is in use" in caplog.text
    assert sample("infrastructure_outbox_up") == 1


def test_reset_starts_the_figures_from_zero(db_file: Path) -> None:
    with InfrastructureService.get_database_session():
        pass
    assert sample(SESSIONS, engine="primary") == 1
    InfrastructureService.reset()
    assert sample(SESSIONS, engine="primary") is None
