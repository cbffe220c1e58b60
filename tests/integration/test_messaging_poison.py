"""Poison events on the real RabbitMQ, with the outbox on SQLite and on PostgreSQL: one bad row never stops delivery.

Rows are planted straight into the outbox table, as an older version or a hand edit would leave
them, between good events. Every good event must reach the broker exactly once and in order,
every poison row must be failed with its reason, and events published later must still flow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pika.exceptions import ChannelClosedByBroker
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import BrokerSettings, PikaMessagePublisher
from modules.infrastructure.module_api import InfrastructureService, RelayResult
from tests.integration.postgres_scratch import engine_url, scratch_database
from tests.integration.test_messaging_rabbitmq import REPO, Broker, broker, configure, outbox_rows, publish  # noqa: F401
from tests.metrics_support import sample

TIMESTAMP = "2026-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class Poison:
    """A row body no valid event has, and the words its ``last_error`` must hold."""

    name: str
    body: Callable[[str, str], str]  # (message id, queue) -> the body column's text
    reason: str


def envelope_text(message_id: str, queue: str, **raw: str) -> str:
    """A valid envelope's JSON text with ``raw`` JSON literals in place of some fields (``priority="1e400"``)."""
    fields = {"id": message_id, "type": "lesson.created", "source": "lessons", "destination": queue, "timestamp": TIMESTAMP}
    literals = {name: json.dumps(value) for name, value in fields.items()} | {"payload": '{"n": 0}'} | raw
    return "{" + ",".join(f"{json.dumps(name)}:{literal}" for name, literal in literals.items()) + "}"


POISONS = [
    Poison("correlation-id-int", lambda i, q: envelope_text(i, q, correlation_id="12345"), "correlation_id must be a string or None, not int"),
    Poison("priority-1e400", lambda i, q: envelope_text(i, q, priority="1e400"), "priority must be a whole number from 0 to 9, not float"),
    Poison("priority-text", lambda i, q: envelope_text(i, q, priority='"3"'), "priority must be a whole number from 0 to 9, not str"),
    Poison("timestamp-1900", lambda i, q: envelope_text(i, q, timestamp='"1900-01-01T00:00:00+00:00"'), "timestamp is before 1970"),
    Poison("headers-list", lambda i, q: envelope_text(i, q, headers="[1]"), "headers must be a mapping"),
    Poison("destination-too-long", lambda i, q: envelope_text(i, q, destination=json.dumps("q" * 300)), "destination is 300 bytes"),
    Poison("type-lone-surrogate", lambda i, q: envelope_text(i, q, type='"\\ud800"'), "type is not valid Unicode text"),
    Poison("not-json", lambda i, q: "not json", "the body is not JSON"),
    Poison("nested-100000-deep", lambda i, q: envelope_text(i, q, payload="[" * 100_000 + "]" * 100_000), "RecursionError"),
    Poison("id-mismatch", lambda i, q: envelope_text(str(uuid.uuid4()), q), "the id in its body is not the row's message_id"),
]


def plant(database_url: str, queue: str) -> dict[str, Poison]:
    """Insert one row per poison, pending, on a connection of its own; their message ids."""
    engine = create_engine(engine_url(database_url), poolclass=NullPool)
    planted = {}
    try:
        with engine.begin() as connection:
            for poison in POISONS:
                message_id = f"poison-{poison.name}-{uuid.uuid4().hex[:8]}"
                connection.execute(
                    text(
                        "INSERT INTO infrastructure_outbox (message_id, destination, event_type, body, status, attempts)"
                        " VALUES (:id, :queue, 'lesson.created', :body, 'pending', 0)"
                    ),
                    {"id": message_id, "queue": queue, "body": poison.body(message_id, queue)},
                )
                planted[message_id] = poison
    finally:
        engine.dispose()
    return planted


@pytest.fixture
def sqlite_outbox(clean_env: Path, monkeypatch: pytest.MonkeyPatch, rabbitmq_url: str) -> str:
    url = f"sqlite:///{clean_env / 'outbox.db'}"
    configure(monkeypatch, DATABASE_URL=url, RABBITMQ_URL=rabbitmq_url, OUTBOX_RELAY="off", OUTBOX_BATCH_SIZE="4")
    InfrastructureService.migrate()
    return url


@pytest.fixture
def postgres_outbox(clean_env: Path, monkeypatch: pytest.MonkeyPatch, rabbitmq_url: str, postgres_url: str) -> Iterator[str]:
    with scratch_database(postgres_url, "infra_poison") as url:
        configure(monkeypatch, DATABASE_URL=url, RABBITMQ_URL=rabbitmq_url, OUTBOX_RELAY="off", OUTBOX_BATCH_SIZE="4")
        InfrastructureService.migrate()
        try:
            yield url
        finally:
            InfrastructureService.reset()  # the pool goes before the database is dropped


@pytest.mark.parametrize("outbox", ["sqlite_outbox", "postgres_outbox"])
def test_poison_rows_between_good_events_are_failed_and_delivery_goes_on(
    outbox: str, request: pytest.FixtureRequest, broker: Broker
) -> None:
    """Batches of 4: the poison rows share batches with good events (pipelined on PostgreSQL)."""
    database_url = request.getfixturevalue(outbox)
    queue = broker.new_queue()
    before = publish(queue, 3)
    planted = plant(database_url, queue)
    after = publish(queue, 3)

    result = InfrastructureService.relay_outbox(timeout=60)

    assert result == RelayResult(sent=len(before + after), failed=len(planted), pending=0)
    received = broker.ids(queue)
    assert received == before + after, "every good event exactly once, in order; no poison row published"
    rows = {row["message_id"]: row for row in outbox_rows()}
    for message_id, poison in planted.items():
        row = rows[message_id]
        assert (row["status"], row["attempts"]) == ("failed", 1), poison.name
        assert poison.reason in row["last_error"], (poison.name, row["last_error"])
    assert sample("infrastructure_messaging_publishes_total", outcome="malformed") == len(planted)
    assert sample("infrastructure_messaging_publishes_total", outcome="confirmed") == len(before + after)

    later = publish(queue, 2)
    assert InfrastructureService.relay_outbox(timeout=30) == RelayResult(sent=2, failed=0, pending=0)
    assert broker.ids(queue) == later, "the failed rows are not offered again, later events flow"


def test_sqlite_rows_whose_text_is_not_utf8_are_failed_and_delivery_goes_on(sqlite_outbox: str, broker: Broker) -> None:
    """sqlite3 used to fail the whole claim on such a row, so nothing behind it was ever delivered."""
    queue = broker.new_queue()
    before = publish(queue, 2)
    engine = create_engine(sqlite_outbox, poolclass=NullPool)
    with engine.begin() as connection:
        for message_id, body in (("'bad-body'", "x'7bff7d'"), ("x'ff'", "x'7b7d'")):
            connection.execute(
                text(
                    "INSERT INTO infrastructure_outbox (message_id, destination, event_type, body, status, attempts)"
                    f" VALUES (CAST({message_id} AS TEXT), :queue, 't', CAST({body} AS TEXT), 'pending', 0)"
                ),
                {"queue": queue},
            )
    after = publish(queue, 2)

    assert InfrastructureService.relay_outbox(timeout=30) == RelayResult(sent=4, failed=2, pending=0)
    assert broker.ids(queue) == before + after
    with engine.connect() as connection:
        reasons = connection.execute(text("SELECT last_error FROM infrastructure_outbox WHERE status = 'failed'")).scalars()
        assert list(reasons) == ["Not an event row: its body or message_id is not valid UTF-8 text"] * 2
    engine.dispose()


def test_the_publisher_refuses_a_message_pika_cannot_encode_and_sends_the_rest(rabbitmq_url: str, broker: Broker) -> None:
    """Defence behind the relay's check: an envelope that never went through ``decode`` (built in code)."""
    queue = broker.new_queue()
    publisher = PikaMessagePublisher(BrokerSettings(urls=(rabbitmq_url,)))

    def envelope(message_id: str, **fields: object) -> tuple[Envelope, bytes]:
        values: dict[str, object] = {"type": "t", "source": "s", "destination": queue, "payload": None, "timestamp": TIMESTAMP}
        return Envelope(id=message_id, **(values | fields)), b"{}"  # type: ignore[arg-type]

    try:
        batch = [
            envelope("good-1"),
            envelope("bad-correlation", correlation_id=12345),
            envelope("bad-timestamp", timestamp="1900-01-01T00:00:00+00:00"),
            envelope("good-2"),
        ]
        outcomes = {o.message_id: o for o in publisher.publish_batch(batch)}
        assert outcomes["good-1"].confirmed and outcomes["good-2"].confirmed
        for bad in ("bad-correlation", "bad-timestamp"):
            assert not outcomes[bad].confirmed and not outcomes[bad].retryable
            assert (outcomes[bad].error or "").startswith("RabbitMQ cannot carry this event")
        assert "correlation_id" in (outcomes["bad-correlation"].error or "")
        assert [o.confirmed for o in publisher.publish_batch([envelope("good-3")])] == [True], "the link is intact"
        assert Counter(broker.ids(queue)) == Counter({"good-1": 1, "good-2": 1, "good-3": 1})
    finally:
        publisher.close()


def test_the_relay_script_in_loop_mode_never_exits_for_a_row_s_content(
    sqlite_outbox: str, clean_env: Path, broker: Broker, rabbitmq_url: str
) -> None:
    queue = broker.new_queue()
    first = publish(queue, 2)
    planted = plant(sqlite_outbox, queue)
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": sqlite_outbox,
        "RABBITMQ_URL": rabbitmq_url,
        "OUTBOX_RELAY": "off",
        "OUTBOX_POLL_INTERVAL": "0.2",
    }
    relay = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "relay_outbox.py")],
        cwd=clean_env,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        received = wait_for_messages(broker, queue, len(first), relay)
        later = publish(queue, 2)
        received += wait_for_messages(broker, queue, len(later), relay)
        assert relay.poll() is None, "the relay exited"
        relay.send_signal(signal.SIGTERM)
        out, err = relay.communicate(timeout=30)
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait(10)
    assert relay.returncode == 0, err
    assert "Traceback" not in err, err
    assert received == first + later
    statuses = {row["message_id"]: row["status"] for row in outbox_rows()}
    assert {statuses[message_id] for message_id in planted} == {"failed"}
    assert f"failed {len(planted)}" in out


def wait_for_messages(broker: Broker, queue: str, count: int, relay: subprocess.Popen[str], timeout: float = 30) -> list[str]:
    received: list[str] = []
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline and relay.poll() is None:
        try:
            received += broker.ids(queue)
        except ChannelClosedByBroker:  # not declared yet: the relay has not sent anything
            pass
        time.sleep(0.1)
    assert relay.poll() is None, f"the relay exited with {relay.returncode}: {relay.stderr.read() if relay.stderr else ''}"
    assert len(received) == count, f"{len(received)} of {count} events arrived"
    return received
