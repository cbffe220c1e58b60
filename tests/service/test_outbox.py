"""The transactional outbox through the facade, on a migrated SQLite file, with a recording publisher.

Every test starts with ``OUTBOX_RELAY=off`` and no ``RABBITMQ_URL`` so relaying happens only
when the test calls ``relay_outbox``; the broker is ``RecordingPublisher`` (tests/fakes.py),
swapped in with ``InfrastructureService.override(publisher=...)``. What the database holds is
read on a connection of its own (plain ``sqlite3``), so "durable" means committed.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from pika.exceptions import AMQPConnectionError
from sqlalchemy import event, text

from modules.infrastructure.domain.messaging.envelope import decode
from modules.infrastructure.domain.messaging.ports import PublishInterrupted, PublishOutcome
from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import (
    BrokerSettings,
    PikaMessagePublisher,
    connection_parameters,
)
from modules.infrastructure.infrastructure.messaging.relay_lock import SQLiteRelayLock, relay_lock_for
from modules.infrastructure.module_api import (
    CheckStatus,
    Envelope,
    InfrastructureError,
    InfrastructureService,
    MessagingError,
    RelayResult,
)
from tests.contracts.publisher_contract import PublisherContract, message
from tests.fakes import RecordingPublisher
from tests.metrics_support import sample

DEAD_BROKER = "amqp://guest:s3cret-pw@127.0.0.1:1/%2F"


@pytest.fixture
def db_path(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated SQLite file in the test's folder; relaying only when the test asks."""
    path = clean_env / "outbox.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("OUTBOX_RELAY", "off")
    InfrastructureService.reset()
    InfrastructureService.migrate()
    return path


@pytest.fixture
def publisher(db_path: Path) -> Iterator[RecordingPublisher]:
    fake = RecordingPublisher()
    with InfrastructureService.override(publisher=fake):
        yield fake


def configure(monkeypatch: pytest.MonkeyPatch, **settings: str) -> None:
    """Change settings mid-test: set them and make the facade reread (drops overrides)."""
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    InfrastructureService.reset()


@contextmanager
def broker(fake: RecordingPublisher) -> Iterator[RecordingPublisher]:
    with InfrastructureService.override(publisher=fake):
        yield fake


def rows(path: Path) -> list[dict[str, object]]:
    """Every committed outbox row, in id order, read outside the facade."""
    connection = sqlite3.connect(path, timeout=5)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in connection.execute("SELECT * FROM infrastructure_outbox ORDER BY id")]
    finally:
        connection.close()


def statuses(path: Path) -> dict[str, str]:
    return {str(r["message_id"]): str(r["status"]) for r in rows(path)}


def publish(n: int = 1, destination: str = "lessons", **options: object) -> list[str]:
    options.setdefault("event_type", "lesson.created")
    options.setdefault("source", "lessons")
    return [InfrastructureService.publish_event(destination, {"n": i}, **options) for i in range(n)]  # type: ignore[arg-type]


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# --- publish_event: durable when it returns, atomic with the caller's transaction -----------------


def test_without_a_session_the_event_is_committed_before_publish_event_returns(
    db_path: Path, publisher: RecordingPublisher
) -> None:
    message_id = InfrastructureService.publish_event(
        "lessons", {"id": 7}, event_type="lesson.created", source="lessons", correlation_id="req-1", priority=4
    )
    [row] = rows(db_path)
    assert row["message_id"] == message_id
    assert row["status"] == "pending" and row["attempts"] == 0 and row["last_error"] is None
    assert row["destination"] == "lessons" and row["event_type"] == "lesson.created"
    assert row["created_at"] is not None and row["sent_at"] is None
    envelope = decode(str(row["body"]).encode())
    assert (envelope.id, envelope.payload, envelope.correlation_id, envelope.priority) == (message_id, {"id": 7}, "req-1", 4)
    assert publisher.calls == 0, "OUTBOX_RELAY=off: nothing is relayed by publish_event"


def test_with_a_session_the_event_exists_exactly_when_the_business_data_commits(db_path: Path) -> None:
    with InfrastructureService.get_database_session() as db:
        db.execute(text("CREATE TABLE orders (id INTEGER PRIMARY KEY)"))
    with InfrastructureService.get_database_session() as db:
        db.execute(text("INSERT INTO orders (id) VALUES (1)"))
        message_id = InfrastructureService.publish_event(
            "orders", {"order": 1}, event_type="order.placed", source="orders", session=db
        )
        assert rows(db_path) == [], "visible to others before the commit"
    assert [r["message_id"] for r in rows(db_path)] == [message_id]
    connection = sqlite3.connect(db_path)
    try:
        assert connection.execute("SELECT count(*) FROM orders").fetchone() == (1,)
    finally:
        connection.close()


def test_a_rolled_back_transaction_drops_its_event(db_path: Path, publisher: RecordingPublisher) -> None:
    with pytest.raises(KeyError):
        with InfrastructureService.get_database_session() as db:
            publish(2, session=db)
            raise KeyError("business rule failed")
    db = InfrastructureService.get_database_session()
    try:
        publish(1, session=db)
        db.rollback()
    finally:
        db.close()
    assert rows(db_path) == []
    assert InfrastructureService.relay_outbox() == RelayResult(sent=0, failed=0, pending=0)
    assert publisher.batches == []


def test_events_of_one_transaction_commit_together(db_path: Path) -> None:
    with InfrastructureService.get_database_session() as db:
        ids = publish(3, session=db)
    assert [r["message_id"] for r in rows(db_path)] == ids


def test_a_transaction_s_events_are_flushed_once_then_go_with_the_commit(db_path: Path) -> None:
    """The first event is flushed (a missing table is reported by publish_event itself); the rest are written by the commit."""
    flushes: list[int] = []
    with InfrastructureService.get_database_session() as db:
        event.listen(db.session, "after_flush", lambda *_: flushes.append(1))
        ids = publish(50, session=db)
        assert len(flushes) == 1, "one flush per event"
    assert len(flushes) == 2 and [r["message_id"] for r in rows(db_path)] == ids


def test_a_session_s_next_transaction_flushes_its_first_event_again(db_path: Path) -> None:
    flushes: list[int] = []
    db = InfrastructureService.get_database_session()
    try:
        event.listen(db.session, "after_flush", lambda *_: flushes.append(1))
        publish(2, session=db)
        db.rollback()
        publish(2, session=db)
        assert len(flushes) == 2, "the second transaction's first event was not flushed"
        db.commit()
    finally:
        db.close()
    assert len(rows(db_path)) == 2


def test_a_payload_json_cannot_hold_is_refused_before_anything_is_stored(db_path: Path) -> None:
    with pytest.raises(MessagingError, match="'lesson.created'.*JSON"):
        InfrastructureService.publish_event("lessons", {"tags": {"a", "b"}}, event_type="lesson.created", source="lessons")
    with pytest.raises(MessagingError):
        InfrastructureService.publish_event("lessons", float("nan"), event_type="lesson.created", source="lessons")
    assert rows(db_path) == []


def test_the_payload_limit_comes_from_the_environment(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, MESSAGING_MAX_PAYLOAD_BYTES="400")
    publish(1)  # a small event fits
    with pytest.raises(MessagingError, match="MESSAGING_MAX_PAYLOAD_BYTES"):
        InfrastructureService.publish_event("lessons", {"blob": "x" * 400}, event_type="t", source="s")
    assert len(rows(db_path)) == 1


@pytest.mark.parametrize(
    "arguments",
    [
        {"destination": ""},
        {"event_type": " "},
        {"source": ""},
        {"priority": 10},
        {"priority": -1},
    ],
    ids=["destination", "event_type", "source", "priority-high", "priority-low"],
)
def test_bad_arguments_are_messaging_errors_and_store_nothing(db_path: Path, arguments: dict[str, object]) -> None:
    call = {"destination": "lessons", "event_type": "t", "source": "s", **arguments}
    with pytest.raises(MessagingError):
        InfrastructureService.publish_event(call.pop("destination"), {}, **call)  # type: ignore[arg-type]
    assert rows(db_path) == []


@pytest.mark.parametrize("how", ["with-block", "close"])
def test_a_closed_session_is_a_messaging_error_and_blocks_no_writer(db_path: Path, how: str) -> None:
    """It used to return an id for an event that never committed, holding SQLite's write lock meanwhile."""
    db = InfrastructureService.get_database_session()
    if how == "close":
        db.close()
    else:
        with db:
            pass
    with pytest.raises(MessagingError, match="session is closed .* the event would never commit"):
        InfrastructureService.publish_event("lessons", {}, event_type="t", source="s", session=db)
    event_id = InfrastructureService.publish_event("lessons", {}, event_type="t", source="s")
    assert [row["message_id"] for row in rows(db_path)] == [event_id]


@pytest.mark.parametrize("session", ["x", 7, object(), sqlite3], ids=["str", "int", "object", "module"])
def test_a_session_that_is_not_a_database_session_is_a_messaging_error(db_path: Path, session: object) -> None:
    with pytest.raises(MessagingError, match=f"session must be a session from InfrastructureService.get_database_session.*not {type(session).__name__}"):
        InfrastructureService.publish_event("lessons", {}, event_type="t", source="s", session=session)  # type: ignore[arg-type]
    assert rows(db_path) == []


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"correlation_id": 12345}, "correlation_id"),
        ({"headers": {"n": 2**64}}, "headers['n']"),
        ({"payload": {1: "one"}}, "payload has a key of type int"),
        ({"payload": {None: "x"}}, "payload has a key of type None"),
    ],
    ids=["correlation-id-int", "header-int-too-big", "payload-key-1", "payload-key-none"],
)
def test_a_value_that_used_to_be_stored_and_then_stop_the_relay_is_refused_at_call_time(
    db_path: Path, arguments: dict[str, object], field: str
) -> None:
    call: dict[str, object] = {"payload": {}, "event_type": "t", "source": "s", **arguments}
    with pytest.raises(MessagingError, match=re.escape(field)):
        InfrastructureService.publish_event("lessons", call.pop("payload"), **call)  # type: ignore[arg-type]
    assert rows(db_path) == []


def test_without_the_table_publish_event_says_to_migrate(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / 'unmigrated.db'}")
    with pytest.raises(MessagingError, match=r"migrate\(\)") as caught:
        publish(1)
    assert isinstance(caught.value, InfrastructureError) and caught.value.__cause__ is not None


def test_without_the_table_publish_event_in_a_session_says_to_migrate_too(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / 'unmigrated.db'}")
    raised: list[BaseException] = []
    with pytest.raises(InfrastructureError):  # the with block maps what leaks; the call itself must not leak either
        with InfrastructureService.get_database_session() as db:
            try:
                publish(1, session=db)
            except BaseException as exc:
                raised.append(exc)
                raise
    assert len(raised) == 1 and isinstance(raised[0], MessagingError), f"publish_event raised {raised[0]!r}"
    assert "migrate()" in str(raised[0])


def test_the_report_does_not_claim_zero_pending_when_the_outbox_cannot_be_read(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / 'unmigrated.db'}")
    check = InfrastructureService.validate_environment().checks["messaging"]
    assert "0 events pending" not in check.detail and "outbox unavailable" in check.detail, check.detail


# --- relay: confirmed means sent, everything else stays pending -----------------------------------


def test_rows_are_marked_sent_only_after_the_publisher_confirmed_them(db_path: Path) -> None:
    seen_during_publish: list[dict[str, str]] = []
    fake = RecordingPublisher(during_publish=lambda batch: seen_during_publish.append(statuses(db_path)))
    ids = publish(5)
    with broker(fake):
        result = InfrastructureService.relay_outbox()
    assert result == RelayResult(sent=5, failed=0, pending=0)
    assert seen_during_publish == [{i: "pending" for i in ids}], "a row was marked before the broker answered"
    assert fake.delivered_ids == ids
    after = rows(db_path)
    assert [r["status"] for r in after] == ["sent"] * 5
    assert all(r["sent_at"] is not None and r["attempts"] == 0 for r in after)


def test_the_relay_hands_the_stored_body_to_the_publisher_unchanged(db_path: Path, publisher: RecordingPublisher) -> None:
    [message_id] = publish(1, headers={"tenant": "acme"}, correlation_id="c-9")
    stored = str(rows(db_path)[0]["body"]).encode()
    InfrastructureService.relay_outbox()
    assert publisher.bodies[message_id] == stored
    [envelope] = publisher.delivered
    assert envelope == decode(stored)


def test_a_sent_row_is_never_sent_again(db_path: Path, publisher: RecordingPublisher) -> None:
    ids = publish(3)
    assert InfrastructureService.relay_outbox().sent == 3
    assert InfrastructureService.relay_outbox() == RelayResult(sent=0, failed=0, pending=0)
    assert publisher.delivered_ids == ids and len(publisher.batches) == 1


def test_a_publisher_that_raises_leaves_everything_pending_with_attempts_unchanged(db_path: Path) -> None:
    ids = publish(4)
    down = RecordingPublisher(error=MessagingError("broker down"))
    with broker(down):
        with pytest.raises(MessagingError, match="broker down"):
            InfrastructureService.relay_outbox()
    assert [(r["status"], r["attempts"], r["last_error"]) for r in rows(db_path)] == [("pending", 0, None)] * 4
    up = RecordingPublisher()
    with broker(up):
        assert InfrastructureService.relay_outbox() == RelayResult(sent=4, failed=0, pending=0)
    assert up.delivered_ids == ids


def test_a_failure_mid_run_keeps_the_batches_already_confirmed(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_BATCH_SIZE="3")
    ids = publish(8)
    calls = []

    def fail_second_batch(batch: Sequence[Envelope]) -> None:
        calls.append(len(batch))
        if len(calls) == 2:
            raise MessagingError("connection lost mid-run")

    fake = RecordingPublisher(during_publish=fail_second_batch)
    with broker(fake):
        with pytest.raises(MessagingError):
            InfrastructureService.relay_outbox()
        assert [s for s in statuses(db_path).values()] == ["sent"] * 3 + ["pending"] * 5
        assert all(r["attempts"] == 0 for r in rows(db_path))
        assert InfrastructureService.relay_outbox() == RelayResult(sent=5, failed=0, pending=0)
    assert fake.delivered_ids == ids


class InterruptedPublisher(RecordingPublisher):
    """Confirms the first ``confirmed`` messages of its first batch, then loses the broker (``PublishInterrupted``)."""

    def __init__(self, confirmed: int) -> None:
        super().__init__()
        self.confirmed = confirmed
        self.interrupted = False

    def publish_batch(self, messages: Sequence[tuple[Envelope, bytes]]) -> list[PublishOutcome]:
        if self.interrupted:
            return super().publish_batch(messages)
        self.interrupted = True
        settled = super().publish_batch(messages[: self.confirmed])
        raise PublishInterrupted("connection lost after some confirms (scripted)", settled)


@pytest.mark.parametrize("batch_size", ["4", "2"])  # the interrupted batch holds every event, or the first two
def test_events_confirmed_before_the_broker_went_are_marked_sent_and_never_offered_again(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, batch_size: str
) -> None:
    """A blocked broker timed the link out after confirming part of a batch: the relay used to roll all of it back."""
    configure(monkeypatch, OUTBOX_BATCH_SIZE=batch_size)
    ids = publish(4)
    fake = InterruptedPublisher(confirmed=1)
    with broker(fake):
        with pytest.raises(MessagingError, match="scripted"):
            InfrastructureService.relay_outbox()
        assert list(statuses(db_path).values()) == ["sent", "pending", "pending", "pending"]
        assert all(r["attempts"] == 0 for r in rows(db_path)), "a lost link is not the event's fault"
        assert sample("infrastructure_messaging_publishes_total", outcome="confirmed") == 1
        assert InfrastructureService.relay_outbox() == RelayResult(sent=3, failed=0, pending=0)
    assert fake.delivered_ids == ids, "each event confirmed exactly once"


def test_refused_messages_count_attempts_and_fail_at_the_limit(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_MAX_ATTEMPTS="3")
    ids = publish(3)
    fake = RecordingPublisher(refuse={ids[1]}, refusal="unroutable: no queue named 'lessons'")
    with broker(fake):
        assert InfrastructureService.relay_outbox() == RelayResult(sent=2, failed=0, pending=1)
        refused = rows(db_path)[1]
        assert (refused["status"], refused["attempts"]) == ("pending", 1)
        assert refused["last_error"] == "unroutable: no queue named 'lessons'"
        assert InfrastructureService.relay_outbox() == RelayResult(sent=0, failed=0, pending=1)
        assert rows(db_path)[1]["attempts"] == 2
        assert InfrastructureService.relay_outbox() == RelayResult(sent=0, failed=1, pending=0)
        assert (rows(db_path)[1]["status"], rows(db_path)[1]["attempts"]) == ("failed", 3)
        handed_over = len(fake.batches)
        assert InfrastructureService.relay_outbox() == RelayResult(sent=0, failed=0, pending=0)
        assert len(fake.batches) == handed_over, "a failed row is not offered again"
    assert statuses(db_path) == {ids[0]: "sent", ids[1]: "failed", ids[2]: "sent"}
    assert fake.delivered_ids == [ids[0], ids[2]]


def test_one_attempt_limit_fails_at_the_first_refusal(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_MAX_ATTEMPTS="1")
    [message_id] = publish(1)
    with broker(RecordingPublisher(refuse={message_id})):
        assert InfrastructureService.relay_outbox() == RelayResult(sent=0, failed=1, pending=0)
    assert statuses(db_path) == {message_id: "failed"}


def plant(path: Path, message_id: str, body: object, attempts: object = 0) -> None:
    """A pending row written straight into the table, as an older version or a hand edit would leave it."""
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(
            "INSERT INTO infrastructure_outbox (message_id, destination, event_type, body, status, attempts)"
            " VALUES (?, 'lessons', 't', ?, 'pending', ?)",
            (message_id, body, attempts),
        )
    connection.close()


def envelope_body(message_id: str, **fields: object) -> str:
    return json.dumps({"id": message_id, "type": "t", "source": "s", "destination": "lessons", "timestamp": "2026-01-01T00:00:00+00:00", **fields})


def test_a_row_whose_body_is_not_an_envelope_fails_at_once_without_blocking_the_others(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, OUTBOX_MAX_ATTEMPTS="5")
    first = publish(1)
    plant(db_path, "corrupt-1", "not json")
    last = publish(1)
    fake = RecordingPublisher()
    with broker(fake):
        assert InfrastructureService.relay_outbox() == RelayResult(sent=2, failed=1, pending=0)
        assert InfrastructureService.relay_outbox() == RelayResult(sent=0, failed=0, pending=0)
    corrupt = [r for r in rows(db_path) if r["message_id"] == "corrupt-1"][0]
    assert corrupt["status"] == "failed" and "Not an event envelope" in str(corrupt["last_error"])
    assert fake.delivered_ids == first + last and len(fake.batches) == 1, "it can never be published: not offered"


@pytest.mark.parametrize(
    ("body", "attempts", "reason"),
    [
        (envelope_body("poison", correlation_id=12345), 0, "correlation_id must be a string or None, not int"),
        (envelope_body("poison", priority=10), 0, "priority must be a whole number from 0 to 9, got 10"),
        (envelope_body("other-id"), 0, "the id in its body is not the row's message_id"),
        (b'{"id": "poison"}', 0, "it has no type, source, destination, timestamp"),  # a BLOB is read as its text
        (b'{"id": "\xff"}', 0, "its body or message_id is not valid UTF-8 text"),
        (envelope_body("poison"), "many", "its attempts str"),
    ],
    ids=["correlation-id-int", "priority-10", "id-mismatch", "blob-body", "non-utf8-blob-body", "text-attempts"],
)
def test_a_row_no_valid_event_has_is_failed_with_its_reason_and_counted(
    db_path: Path, body: object, attempts: object, reason: str
) -> None:
    """SQLite stores whatever a hand-written INSERT gives it, whatever the column's type."""
    good = publish(2)
    plant(db_path, "poison", body, attempts)
    later = publish(1)
    fake = RecordingPublisher()
    with broker(fake):
        assert InfrastructureService.relay_outbox() == RelayResult(sent=3, failed=1, pending=0)
    poison = [r for r in rows(db_path) if r["message_id"] == "poison"][0]
    assert poison["status"] == "failed" and reason in str(poison["last_error"]), poison["last_error"]
    assert fake.delivered_ids == good + later
    assert sample("infrastructure_messaging_publishes_total", outcome="malformed") == 1


class UnencodablePublisher(RecordingPublisher):
    """Says the client cannot encode the messages of ``unencodable`` (as pika's encoder would), confirms the rest."""

    def __init__(self, unencodable: set[str]) -> None:
        super().__init__()
        self.unencodable = unencodable

    def publish_batch(self, messages: Sequence[tuple[Envelope, bytes]]) -> list[PublishOutcome]:
        sendable = [(envelope, body) for envelope, body in messages if envelope.id not in self.unencodable]
        outcomes = {o.message_id: o for o in super().publish_batch(sendable)}
        reason = "RabbitMQ cannot carry this event: AssertionError (scripted)"
        return [outcomes.get(e.id) or PublishOutcome(e.id, False, reason, retryable=False) for e, _ in messages]


def test_a_message_the_publisher_cannot_encode_is_failed_at_once_not_retried(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, OUTBOX_MAX_ATTEMPTS="5")
    first, poison, last = publish(3)
    fake = UnencodablePublisher({poison})
    with broker(fake):
        assert InfrastructureService.relay_outbox() == RelayResult(sent=2, failed=1, pending=0)
        assert InfrastructureService.relay_outbox() == RelayResult(sent=0, failed=0, pending=0)
    row = [r for r in rows(db_path) if r["message_id"] == poison][0]
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "cannot carry this event" in str(row["last_error"])
    assert fake.delivered_ids == [first, last] and len(fake.batches) == 1
    assert sample("infrastructure_messaging_publishes_total", outcome="malformed") == 1
    assert sample("infrastructure_messaging_publishes_total", outcome="refused") == 0


def test_failed_events_show_in_the_report_as_degraded_when_a_broker_is_configured(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, OUTBOX_MAX_ATTEMPTS="1", RABBITMQ_URL=DEAD_BROKER)
    ids = publish(3)
    with broker(RecordingPublisher(refuse={ids[0]}, ping_seconds=0.0042)) as fake:
        InfrastructureService.relay_outbox()
        publish(2)
        check = InfrastructureService.validate_environment().checks["messaging"]
    assert fake.delivered_ids == ids[1:]
    assert check.status is CheckStatus.DEGRADED
    assert "outbox 2 pending, 1 failed" in check.detail
    assert "reachable in 4.2 ms" in check.detail
    assert "s3cret-pw" not in check.detail and "127.0.0.1:1" in check.detail


def test_the_report_is_ok_with_a_broker_and_no_failures(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, RABBITMQ_URL=DEAD_BROKER)
    with broker(RecordingPublisher()):
        publish(1)
        check = InfrastructureService.validate_environment().checks["messaging"]
    assert check.status is CheckStatus.OK
    assert "outbox 1 pending, 0 failed" in check.detail


def test_the_report_is_degraded_when_the_broker_does_not_answer(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, RABBITMQ_URL=DEAD_BROKER)
    with broker(RecordingPublisher(error=MessagingError("RabbitMQ unreachable: refused"))):
        publish(2)
        status = InfrastructureService.validate_environment()
    check = status.checks["messaging"]
    assert check.status is CheckStatus.DEGRADED
    assert "broker unreachable" in check.detail and "outbox 2 pending, 0 failed" in check.detail
    assert not [e for e in status.errors if e.startswith("messaging")], "a broker that is away is degraded, not an error"


def test_batches_keep_id_order(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_BATCH_SIZE="3")
    ids = []
    for n in range(10):
        ids += publish(1, destination=f"queue-{n % 2}")
    fake = RecordingPublisher()
    with broker(fake):
        assert InfrastructureService.relay_outbox() == RelayResult(sent=10, failed=0, pending=0)
    assert [len(batch) for batch in fake.batches] == [3, 3, 3, 1]
    assert [envelope.id for batch in fake.batches for envelope in batch] == ids
    assert fake.delivered_to("queue-0") == ids[0::2]


def test_max_messages_is_respected(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_BATCH_SIZE="3")
    ids = publish(10)
    fake = RecordingPublisher()
    with broker(fake):
        assert InfrastructureService.relay_outbox(max_messages=4) == RelayResult(sent=4, failed=0, pending=6)
        assert [len(batch) for batch in fake.batches] == [3, 1]
        assert InfrastructureService.relay_outbox(max_messages=1) == RelayResult(sent=1, failed=0, pending=5)
        assert InfrastructureService.relay_outbox() == RelayResult(sent=5, failed=0, pending=0)
    assert fake.delivered_ids == ids


def test_timeout_is_respected(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_BATCH_SIZE="1")
    ids = publish(30)
    fake = RecordingPublisher(during_publish=lambda batch: time.sleep(0.05))
    with broker(fake):
        started = time.monotonic()
        result = InfrastructureService.relay_outbox(timeout=0.3)
        elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"relay_outbox(timeout=0.3) took {elapsed:.2f} s"
    assert 1 <= result.sent < 30 and result.pending == 30 - result.sent
    assert fake.delivered_ids == ids[: result.sent]


def test_relays_started_together_in_one_process_send_each_event_once(db_path: Path) -> None:
    ids = publish(20)
    slow = RecordingPublisher(during_publish=lambda _batch: time.sleep(0.2))  # both runs overlap
    with broker(slow):
        runs = [threading.Thread(target=InfrastructureService.relay_outbox) for _ in range(2)]
        for run in runs:
            run.start()
        for run in runs:
            run.join(10)
    assert slow.delivered_ids == ids


# --- one relay run at a time on a SQLite file, across processes ------------------------------------


def test_a_relay_waits_while_another_process_relays_the_same_sqlite_file(db_path: Path) -> None:
    ids = publish(3)
    other_process = SQLiteRelayLock(db_path)  # flock: a second open of the file conflicts as another process's would
    holding, release = threading.Event(), threading.Event()

    def hold_for_a_while() -> None:
        with other_process.held():
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold_for_a_while)
    holder.start()
    assert holding.wait(5)
    threading.Timer(0.3, release.set).start()
    fake = RecordingPublisher()
    with broker(fake):
        started = time.monotonic()
        result = InfrastructureService.relay_outbox()
        waited = time.monotonic() - started
    holder.join(5)
    assert result == RelayResult(sent=3, failed=0, pending=0)
    assert waited >= 0.25, f"relayed after {waited:.2f} s, while the other relay still held the file"
    assert fake.delivered_ids == ids


def test_a_relay_that_cannot_get_its_turn_within_its_timeout_says_who_holds_the_sqlite_file(db_path: Path) -> None:
    publish(2)
    fake = RecordingPublisher()
    with SQLiteRelayLock(db_path).held(), broker(fake):
        started = time.monotonic()
        with pytest.raises(MessagingError) as caught:
            InfrastructureService.relay_outbox(timeout=0.3)
        assert time.monotonic() - started < 2
    message = str(caught.value)
    assert f"process {os.getpid()}" in message and str(db_path) in message and f"{db_path}.relay-lock" in message
    assert "one relay per SQLite file" in message and "stay pending" in message
    assert fake.calls == 0 and list(statuses(db_path).values()) == ["pending", "pending"]


def test_a_relay_behind_a_waiting_run_of_its_own_process_keeps_its_timeout(db_path: Path) -> None:
    """The in-process lock was taken without a timeout: behind a run waiting 5 s for the file, 0.3 s took 5 s."""
    publish(1)
    fake = RecordingPublisher()
    with SQLiteRelayLock(db_path).held(), broker(fake):
        waiting = threading.Thread(target=lambda: pytest.raises(MessagingError, InfrastructureService.relay_outbox, timeout=3))
        waiting.start()
        time.sleep(0.2)  # the first run holds this process's turn while it waits for the file
        started = time.monotonic()
        with pytest.raises(MessagingError, match="Another relay run in this process .* events stay pending"):
            InfrastructureService.relay_outbox(timeout=0.3)
        assert time.monotonic() - started < 1.5
        waiting.join(10)
    assert fake.calls == 0


@pytest.mark.parametrize(
    ("url", "locked_file"),
    [
        ("sqlite:///var/app.db", "var/app.db"),
        ("sqlite:////tmp/outbox.db", "/tmp/outbox.db"),
        ("sqlite:///file:data/app.db?uri=true", "data/app.db"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:shared?mode=memory&cache=shared&uri=true", None),
        ("postgresql://u@h/db", None),
    ],
)
def test_only_a_sqlite_file_gets_a_relay_lock(clean_env: Path, url: str, locked_file: str | None) -> None:
    lock = relay_lock_for(url)
    if locked_file is None:
        assert lock is None
    else:
        assert lock is not None and lock.database_file == Path(locked_file).absolute()  # clean_env is the working folder
        assert lock.path == lock.database_file.with_name(lock.database_file.name + ".relay-lock")


def test_relay_without_a_broker_is_a_messaging_error_and_events_stay(db_path: Path) -> None:
    publish(2)
    with pytest.raises(MessagingError, match="RABBITMQ_URL"):
        InfrastructureService.relay_outbox()
    assert list(statuses(db_path).values()) == ["pending", "pending"]


def test_the_report_without_a_broker_says_how_many_events_wait(db_path: Path) -> None:
    assert InfrastructureService.validate_environment().checks["messaging"].detail == (
        "0 events pending (RABBITMQ_URL not set); listeners: none registered, 0 publications pending, 0 failed"
    )
    publish(3)
    check = InfrastructureService.validate_environment().checks["messaging"]
    assert check.status is CheckStatus.SKIPPED
    assert check.detail == "3 events pending (RABBITMQ_URL not set); listeners: none registered, 0 publications pending, 0 failed"


def test_sent_rows_older_than_the_retention_are_purged(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    publish(2)
    with broker(RecordingPublisher()):
        InfrastructureService.relay_outbox()
    assert list(statuses(db_path).values()) == ["sent", "sent"], "the default retention (168 h) keeps sent rows"
    configure(monkeypatch, OUTBOX_RETENTION_HOURS="0", OUTBOX_MAX_ATTEMPTS="1")
    [refused] = publish(1)
    [waiting] = publish(1)
    with broker(RecordingPublisher(refuse={refused})):
        assert InfrastructureService.relay_outbox(max_messages=1) == RelayResult(sent=0, failed=1, pending=1)
    assert statuses(db_path) == {refused: "failed", waiting: "pending"}, "sent rows gone; failed and pending kept"


# --- OUTBOX_RELAY=immediate: relayed after the commit, in the background --------------------------


def test_immediate_relay_sends_after_publish_event_returns(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_RELAY="immediate")
    fake = RecordingPublisher()
    with broker(fake):
        [message_id] = publish(1)
        assert wait_for(lambda: statuses(db_path) == {message_id: "sent"}), statuses(db_path)
    assert fake.delivered_ids == [message_id]


def test_immediate_relay_waits_for_the_commit_and_skips_a_rollback(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_RELAY="immediate")
    fake = RecordingPublisher()
    with broker(fake):
        db = InfrastructureService.get_database_session()
        try:
            [dropped] = publish(1, session=db)
            time.sleep(0.3)
            db.rollback()
        finally:
            db.close()
        assert fake.calls == 0, "relayed before the transaction ended"
        with InfrastructureService.get_database_session() as db:
            [kept] = publish(1, session=db)
            time.sleep(0.3)
            assert fake.calls == 0, "relayed before the commit"
        assert wait_for(lambda: statuses(db_path) == {kept: "sent"}), statuses(db_path)
    assert dropped not in fake.delivered_ids and fake.delivered_ids == [kept]


def test_immediate_relay_waits_for_the_outer_commit_not_a_savepoint_s(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_RELAY="immediate")
    fake = RecordingPublisher()
    with broker(fake):
        with InfrastructureService.get_database_session() as db:
            with db.begin_nested():
                [message_id] = publish(1, session=db)
            time.sleep(0.3)  # a relay woken at the savepoint's release has found nothing committed by now
        assert wait_for(lambda: statuses(db_path) == {message_id: "sent"}), "not relayed after the commit"
    assert fake.delivered_ids == [message_id]


def test_immediate_relay_runs_once_for_a_transaction_of_many_events(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_RELAY="immediate")
    fake = RecordingPublisher()
    with broker(fake):
        with InfrastructureService.get_database_session() as db:
            ids = publish(20, session=db)
        assert wait_for(lambda: fake.delivered_ids == ids), fake.delivered_ids
        time.sleep(0.3)
    assert fake.calls == 1, "the relay was woken more than once for one commit"


def test_immediate_relay_with_a_failing_broker_keeps_the_event_pending(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_RELAY="immediate")
    down = RecordingPublisher(error=MessagingError("down"))
    with broker(down):
        [message_id] = publish(1)
        assert wait_for(lambda: down.failed_calls >= 1)
    assert statuses(db_path) == {message_id: "pending"}


def test_thread_mode_relays_events_left_pending_on_its_timer(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = publish(2)  # stored while relaying was off, e.g. by another process
    configure(monkeypatch, OUTBOX_RELAY="thread", OUTBOX_POLL_INTERVAL="0.1")
    fake = RecordingPublisher()
    with broker(fake):
        InfrastructureService.validate_environment()  # first use builds messaging, which starts the thread
        assert wait_for(lambda: set(statuses(db_path).values()) == {"sent"}), statuses(db_path)
        fake.error = MessagingError("down")
        [later] = publish(1)
        assert wait_for(lambda: fake.failed_calls >= 2), "the timer keeps retrying while the broker is away"
        assert statuses(db_path)[later] == "pending"
        fake.error = None
        assert wait_for(lambda: statuses(db_path)[later] == "sent")
    assert fake.delivered_ids == ids + [later]


def test_immediate_mode_without_a_broker_only_stores(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_RELAY="immediate")
    [message_id] = publish(1)
    time.sleep(0.2)
    assert statuses(db_path) == {message_id: "pending"}
    assert not any(t.name == "outbox-relay" and t.is_alive() for t in threading.enumerate())


# --- the PikaMessagePublisher adapter, without a broker -------------------------------------------


def test_connection_parameters_one_per_node_with_timeouts_and_no_retries_of_their_own() -> None:
    urls = ("amqp://guest:guest@127.0.0.1:5672/%2F", "amqp://guest:guest@127.0.0.2:5673/%2F")
    settings = BrokerSettings(urls=urls, heartbeat=15, blocked_timeout=7.0, connect_timeout=2.0)
    params = connection_parameters(settings)
    assert sorted((p.host, p.port) for p in params) == [("127.0.0.1", 5672), ("127.0.0.2", 5673)]
    for p in params:
        assert p.heartbeat == 15 and p.blocked_connection_timeout == 7.0
        assert p.socket_timeout == 2.0 and p.connection_attempts == 1


def test_a_url_s_own_options_win_over_the_settings_except_connection_attempts() -> None:
    """They used to be checked, then silently replaced by the settings' values."""
    url = "amqp://guest:guest@127.0.0.1:5672/%2F?heartbeat=10&socket_timeout=3&blocked_connection_timeout=9&connection_attempts=4"
    [params] = connection_parameters(BrokerSettings(urls=(url,), heartbeat=15, blocked_timeout=7.0, connect_timeout=2.0))
    assert (params.heartbeat, params.socket_timeout, params.blocked_connection_timeout) == (10, 3.0, 9.0)
    assert params.stack_timeout == 4.0 and params.connection_attempts == 1


def test_connection_parameters_are_shuffled_so_clients_spread_over_the_nodes() -> None:
    settings = BrokerSettings(urls=("amqp://127.0.0.1:1/%2F", "amqp://127.0.0.1:2/%2F"))
    firsts = {connection_parameters(settings)[0].port for _ in range(60)}
    assert firsts == {1, 2}


def test_an_unreachable_broker_reconnects_with_backoff_then_raises_without_the_password() -> None:
    sleeps: list[float] = []
    publisher = PikaMessagePublisher(BrokerSettings(urls=(DEAD_BROKER,), connect_timeout=2.0), sleep=sleeps.append)
    started = time.monotonic()
    with pytest.raises(MessagingError) as caught:
        publisher.publish_batch([message("lessons")])
    assert time.monotonic() - started < 10
    assert len(sleeps) == 5, "one wait before each of the 5 reconnect attempts"
    ceilings = [0.5, 1.0, 2.0, 4.0, 5.0]
    assert all(0 <= s <= c for s, c in zip(sleeps, ceilings, strict=True)), sleeps
    text = str(caught.value)
    assert "s3cret-pw" not in text and "127.0.0.1:1" in text and "outbox" in text
    assert isinstance(caught.value.__cause__, AMQPConnectionError)
    publisher.close()


def test_ping_of_an_unreachable_broker_is_a_messaging_error() -> None:
    publisher = PikaMessagePublisher(BrokerSettings(urls=(DEAD_BROKER,), connect_timeout=2.0))
    with pytest.raises(MessagingError) as caught:
        publisher.ping()
    assert "s3cret-pw" not in str(caught.value)


# --- the MessagePublisher contract, against the fake ----------------------------------------------

REFUSED = "amq.contract.refused"


class TestRecordingPublisherContract(PublisherContract):
    @pytest.fixture
    def publisher(self) -> RecordingPublisher:
        return RecordingPublisher(refuse_destinations={REFUSED})

    @pytest.fixture
    def new_queue(self) -> Callable[[], str]:
        names = (f"contract-{n}" for n in range(1000))
        return lambda: next(names)

    @pytest.fixture
    def delivered(self, publisher: RecordingPublisher) -> Callable[[str], list[tuple[str, bytes]]]:
        return lambda queue: [(i, publisher.bodies[i]) for i in publisher.delivered_to(queue)]

    @pytest.fixture
    def refused_destination(self) -> str:
        return REFUSED

    @pytest.fixture
    def unreachable_publisher(self) -> RecordingPublisher:
        return RecordingPublisher(error=MessagingError("RabbitMQ unreachable (scripted)"))


def test_the_fake_records_what_it_was_told() -> None:
    fake = RecordingPublisher()
    fake.fail_next(2)
    batch = [message("q")]
    for _ in range(2):
        with pytest.raises(MessagingError):
            fake.publish_batch(batch)
    assert fake.publish_batch(batch)[0].confirmed
    assert (fake.calls, fake.failed_calls, len(fake.batches)) == (3, 2, 1)
    assert json.loads(fake.bodies[batch[0][0].id])["destination"] == "q"


def test_one_relay_run_offers_a_refused_row_once_whatever_the_batch_size(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, OUTBOX_BATCH_SIZE="2", OUTBOX_MAX_ATTEMPTS="5")
    ids = publish(2)
    fake = RecordingPublisher(refuse=set(ids))
    with broker(fake):
        result = InfrastructureService.relay_outbox()
    attempts = [r["attempts"] for r in rows(db_path)]
    assert (result, attempts, len(fake.batches)) == (RelayResult(sent=0, failed=0, pending=2), [1, 1], 1)
