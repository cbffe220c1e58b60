"""Messaging on a real RabbitMQ (and PostgreSQL for concurrent relays): nothing lost, nothing sent twice.

Every test uses queues with a random name, deleted when it ends. The facade is configured only
through environment variables (``clean_env``); events go to a SQLite file in the test's folder
unless the test needs PostgreSQL. ``OUTBOX_RELAY=off`` everywhere: the test relays explicitly.

Broker restarts and alarms are in ``test_messaging_broker_faults.py``, on a private node.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import ChannelClosedByBroker
from sqlalchemy import text

from modules.infrastructure.domain.messaging.envelope import decode
from modules.infrastructure.infrastructure.messaging.rabbitmq_publisher import BrokerSettings, PikaMessagePublisher
from modules.infrastructure.module_api import (
    CheckStatus,
    InfrastructureService,
    MessagingAuthenticationError,
    MessagingError,
    RelayResult,
)
from tests.contracts.publisher_contract import PublisherContract, message
from tests.integration.postgres_scratch import scratch_database
from tests.integration.services import rabbitmq_parameters
from tests.integration.tcp_proxy import TcpProxy

REPO = Path(__file__).resolve().parents[2]
DEAD_NODE = "amqp://guest:guest@127.0.0.1:1/%2F"


# --- helpers: a raw pika connection for looking at what the broker holds ---------------------------


class Broker:
    """Test-side access to RabbitMQ, outside the code under test: make, inspect, drain and delete queues."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.created: list[str] = []

    def new_queue(self, prefix: str = "infra_test") -> str:
        name = f"{prefix}.{uuid.uuid4().hex[:12]}"
        self.created.append(name)
        return name

    def channel_call(self, action: Callable[[BlockingChannel], Any]) -> Any:
        connection = pika.BlockingConnection(rabbitmq_parameters(self.url, timeout=10))
        try:
            return action(connection.channel())
        finally:
            if connection.is_open:
                connection.close()

    def message_count(self, queue: str) -> int:
        return self.channel_call(lambda ch: ch.queue_declare(queue, passive=True).method.message_count)

    def consumer_count(self, queue: str) -> int:
        """Consumers subscribed to ``queue`` now; 0 while it does not exist yet."""
        try:
            return self.channel_call(lambda ch: ch.queue_declare(queue, passive=True).method.consumer_count)
        except pika.exceptions.ChannelClosedByBroker:
            return 0

    def drain(self, queue: str, timeout: float = 60.0) -> list[tuple[pika.BasicProperties, bytes]]:
        """Every message in ``queue``, removed from it, in queue order."""

        def get_all(channel: BlockingChannel) -> list[tuple[pika.BasicProperties, bytes]]:
            got = []
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                method, properties, body = channel.basic_get(queue, auto_ack=True)
                if method is None:
                    return got
                got.append((properties, body))
            raise AssertionError(f"draining {queue} took over {timeout} s")

        return self.channel_call(get_all)

    def ids(self, queue: str) -> list[str]:
        return [properties.message_id for properties, _ in self.drain(queue)]

    def delete(self, queue: str) -> None:
        self.channel_call(lambda ch: ch.queue_delete(queue))

    def redeclare_refused(self, queue: str, **declare: Any) -> int | None:
        """The broker's reply code when ``queue`` is declared again with ``declare``; ``None`` if accepted."""
        try:
            self.channel_call(lambda ch: ch.queue_declare(queue, **declare))
        except ChannelClosedByBroker as exc:
            return exc.reply_code
        return None

    def cleanup(self) -> None:
        """Delete every queue made here, and the dead-letter queue a consumer of it may have declared."""
        for queue in dict.fromkeys(name for made in self.created for name in (made, f"{made}.dead")):
            try:
                self.delete(queue)
            except Exception:  # the broker may be away after a failed restart test; nothing else to do
                pass


@pytest.fixture
def broker(rabbitmq_url: str) -> Iterator[Broker]:
    helper = Broker(rabbitmq_url)
    yield helper
    helper.cleanup()


@pytest.fixture
def facade(clean_env: Path, monkeypatch: pytest.MonkeyPatch, rabbitmq_url: str) -> Path:
    """The facade on a migrated SQLite file, publishing to the real broker, relaying only when asked."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / 'outbox.db'}")
    monkeypatch.setenv("RABBITMQ_URL", rabbitmq_url)
    monkeypatch.setenv("OUTBOX_RELAY", "off")
    InfrastructureService.reset()
    InfrastructureService.migrate()
    return clean_env


def configure(monkeypatch: pytest.MonkeyPatch, **settings: str) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    InfrastructureService.reset()


def publish(destination: str, n: int = 1, **options: Any) -> list[str]:
    options.setdefault("event_type", "lesson.created")
    options.setdefault("source", "lessons")
    return [InfrastructureService.publish_event(destination, {"n": i}, **options) for i in range(n)]


def outbox_rows() -> list[dict[str, Any]]:
    with InfrastructureService.get_database_session() as db:
        result = db.execute(text("SELECT message_id, status, attempts, last_error FROM infrastructure_outbox ORDER BY id"))
        return [dict(row._mapping) for row in result]


def outbox_counts() -> dict[str, int]:
    with InfrastructureService.get_database_session() as db:
        result = db.execute(text("SELECT status, count(*) FROM infrastructure_outbox GROUP BY status"))
        found = dict(result.all())
    return {status: found.get(status, 0) for status in ("pending", "sent", "failed")}


# --- the MessagePublisher contract against PikaMessagePublisher -----------------------------------


class TestPikaPublisherContract(PublisherContract):
    @pytest.fixture
    def publisher(self, rabbitmq_url: str) -> Iterator[PikaMessagePublisher]:
        publisher = PikaMessagePublisher(BrokerSettings(urls=(rabbitmq_url,)))
        yield publisher
        publisher.close()

    @pytest.fixture
    def new_queue(self, broker: Broker) -> Callable[[], str]:
        return broker.new_queue

    @pytest.fixture
    def delivered(self, broker: Broker) -> Callable[[str], list[tuple[str, bytes]]]:
        return lambda queue: [(properties.message_id, body) for properties, body in broker.drain(queue)]

    @pytest.fixture
    def refused_destination(self) -> str:
        return f"amq.infra_test.{uuid.uuid4().hex[:12]}"  # "amq." names are reserved: ACCESS_REFUSED (403)

    @pytest.fixture
    def unreachable_publisher(self) -> PikaMessagePublisher:
        return PikaMessagePublisher(BrokerSettings(urls=(DEAD_NODE,), connect_timeout=2.0), sleep=lambda _: None)


# --- what arrives at the broker -------------------------------------------------------------------


def test_published_messages_carry_the_envelope_properties(facade: Path, broker: Broker) -> None:
    queue = broker.new_queue()
    before = time.time()
    message_id = InfrastructureService.publish_event(
        queue, {"lesson": 7}, event_type="lesson.created", source="lessons", correlation_id="req-42", priority=3
    )
    assert InfrastructureService.relay_outbox() == RelayResult(sent=1, failed=0, pending=0)
    [(properties, body)] = broker.drain(queue)
    assert properties.message_id == message_id
    assert properties.content_type == "application/json"
    assert properties.delivery_mode == 2
    assert properties.type == "lesson.created"
    assert properties.correlation_id == "req-42"
    assert properties.app_id == "lessons"
    assert properties.priority == 3
    assert isinstance(properties.timestamp, int) and before - 2 <= properties.timestamp <= time.time() + 2
    envelope = decode(body)
    assert (envelope.id, envelope.payload, envelope.destination) == (message_id, {"lesson": 7}, queue)


def test_the_queue_is_declared_durable_and_classic(facade: Path, broker: Broker) -> None:
    queue = broker.new_queue()
    publish(queue)
    InfrastructureService.relay_outbox()
    assert broker.message_count(queue) == 1
    assert broker.redeclare_refused(queue, durable=True, arguments={"x-queue-type": "classic"}) is None
    assert broker.redeclare_refused(queue, durable=False) == 406, "the queue is not durable"
    assert broker.redeclare_refused(queue, durable=True, arguments={"x-queue-type": "quorum"}) == 406


def test_rabbitmq_queue_type_quorum_declares_quorum_queues(
    facade: Path, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, RABBITMQ_QUEUE_TYPE="quorum")
    queue = broker.new_queue()
    [message_id] = publish(queue)
    assert InfrastructureService.relay_outbox().sent == 1
    assert broker.redeclare_refused(queue, durable=True, arguments={"x-queue-type": "quorum"}) is None
    assert broker.redeclare_refused(queue, durable=True, arguments={"x-queue-type": "classic"}) == 406
    assert broker.ids(queue) == [message_id]


def test_events_survive_as_persistent_messages_in_id_order(facade: Path, broker: Broker, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_BATCH_SIZE="7")
    queue = broker.new_queue()
    with InfrastructureService.get_database_session() as db:
        ids = publish(queue, 50, session=db)
    assert InfrastructureService.relay_outbox() == RelayResult(sent=50, failed=0, pending=0)
    assert broker.ids(queue) == ids


def test_immediate_relay_delivers_after_the_commit(facade: Path, broker: Broker, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, OUTBOX_RELAY="immediate")
    queue = broker.new_queue()
    with InfrastructureService.get_database_session() as db:
        [message_id] = publish(queue, session=db)
    deadline = time.monotonic() + 10
    while outbox_counts()["sent"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert outbox_counts() == {"pending": 0, "sent": 1, "failed": 0}
    assert broker.ids(queue) == [message_id]


# --- unroutable and refused messages --------------------------------------------------------------


def test_an_unroutable_message_stays_pending_and_the_next_relay_declares_again(facade: Path, broker: Broker) -> None:
    queue = broker.new_queue()
    [first] = publish(queue)
    assert InfrastructureService.relay_outbox().sent == 1  # declares the queue; the publisher remembers it
    broker.delete(queue)  # the remembered declaration is now stale
    [second] = publish(queue)
    assert InfrastructureService.relay_outbox() == RelayResult(sent=0, failed=0, pending=1)
    [_, row] = outbox_rows()
    assert (row["message_id"], row["status"], row["attempts"]) == (second, "pending", 1)
    assert "unroutable" in row["last_error"]
    assert InfrastructureService.relay_outbox() == RelayResult(sent=1, failed=0, pending=0)
    assert broker.ids(queue) == [second]
    assert first != second


def test_the_publisher_reports_an_unroutable_message_as_refused(rabbitmq_url: str, broker: Broker) -> None:
    publisher = PikaMessagePublisher(BrokerSettings(urls=(rabbitmq_url,)))
    try:
        queue = broker.new_queue()
        assert publisher.publish_batch([message(queue)])[0].confirmed
        broker.delete(queue)
        lost, kept = message(queue, 1), message(queue, 2)
        outcomes = publisher.publish_batch([lost, kept])
        assert [o.confirmed for o in outcomes] == [False, False]
        assert all(o.error and o.error.startswith("unroutable") for o in outcomes)
        assert broker.redeclare_refused(queue, passive=True) == 404, "a refused message must not create the queue"
        assert all(o.confirmed for o in publisher.publish_batch([kept]))
        assert broker.ids(queue) == [kept[0].id]
    finally:
        publisher.close()


def test_a_destination_the_broker_refuses_fails_after_the_attempt_limit(
    facade: Path, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, OUTBOX_MAX_ATTEMPTS="3")
    good = broker.new_queue()
    poison = f"amq.infra_test.{uuid.uuid4().hex[:12]}"
    [poisoned] = publish(poison)
    delivered = publish(good)
    for attempt in (1, 2):
        assert InfrastructureService.relay_outbox().pending == 1
        row = outbox_rows()[0]
        assert (row["status"], row["attempts"]) == ("pending", attempt)
        assert "ACCESS_REFUSED" in row["last_error"] or "403" in row["last_error"], row["last_error"]
        delivered += publish(good)
    assert InfrastructureService.relay_outbox() == RelayResult(sent=1, failed=1, pending=0)
    row = outbox_rows()[0]
    assert (row["message_id"], row["status"], row["attempts"]) == (poisoned, "failed", 3)
    assert broker.ids(good) == delivered, "the poison message held nothing up"
    check = InfrastructureService.validate_environment().checks["messaging"]
    assert check.status is CheckStatus.DEGRADED and "0 pending, 1 failed" in check.detail


TOO_LONG_FOR_AMQP = "é" * 200  # 400 bytes in UTF-8: AMQP short strings hold 255


@pytest.mark.parametrize("field", ["destination", "event_type", "source", "correlation_id"])
def test_a_name_longer_than_amqp_allows_never_blocks_the_outbox(
    facade: Path, broker: Broker, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    """AMQP short strings hold 255 bytes; such an event used to be stored, then made every relay raise
    pika's ShortStringTooLong, blocking every event behind it. Refused at call time, or refused by the
    relay without blocking the others: both are acceptable; a raw pika error is not."""
    configure(monkeypatch, OUTBOX_MAX_ATTEMPTS="1")
    good = broker.new_queue()
    call: dict[str, Any] = {"destination": good, "event_type": "lesson.created", "source": "lessons"}
    call[field] = TOO_LONG_FOR_AMQP
    try:
        InfrastructureService.publish_event(call.pop("destination"), {"n": 0}, **call)
    except MessagingError:
        pass  # refused at call time: the better answer
    [behind] = publish(good)
    result = InfrastructureService.relay_outbox()  # must not raise; at most the long one is refused
    assert result.pending == 0
    assert broker.ids(good)[-1:] == [behind]


# --- failover across nodes ------------------------------------------------------------------------


def test_a_dead_first_node_fails_over_to_a_live_one(
    facade: Path, broker: Broker, monkeypatch: pytest.MonkeyPatch, rabbitmq_url: str
) -> None:
    queue = broker.new_queue()
    ids = []
    for _ in range(8):  # the node list is shuffled: several runs put the dead node first
        configure(monkeypatch, RABBITMQ_URL=f"{DEAD_NODE},{rabbitmq_url}")
        ids += publish(queue)
        started = time.monotonic()
        assert InfrastructureService.relay_outbox() == RelayResult(sent=1, failed=0, pending=0)
        assert time.monotonic() - started < 5, "failing over took too long"
    assert broker.ids(queue) == ids


# --- connections: one per relaying thread, kept across batches; refused credentials at once ---------


def through(proxy: TcpProxy, url: str, password: str | None = None) -> str:
    """``url`` with its host and port replaced by the proxy's (and its password, when given)."""
    parts = urlsplit(url)
    user = parts.username or "guest"
    secret = (parts.password or "guest") if password is None else password
    return urlunsplit((parts.scheme, f"{user}:{secret}@127.0.0.1:{proxy.port}", parts.path, parts.query, ""))


@pytest.fixture
def proxy(rabbitmq_url: str) -> Iterator[TcpProxy]:
    parts = urlsplit(rabbitmq_url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5672) as counting:
        yield counting


@pytest.mark.parametrize("heartbeat", ["0", "60"])
def test_the_relay_keeps_its_connection_across_batches_whatever_the_heartbeat(
    facade: Path, broker: Broker, monkeypatch: pytest.MonkeyPatch, rabbitmq_url: str, proxy: TcpProxy, heartbeat: str
) -> None:
    """RABBITMQ_HEARTBEAT=0 means no heartbeat; it used to make every idle link stale, one connection per batch."""
    configure(monkeypatch, RABBITMQ_URL=through(proxy, rabbitmq_url), RABBITMQ_HEARTBEAT=heartbeat)
    queue = broker.new_queue()
    ids = []
    for _ in range(3):
        ids += publish(queue)
        assert InfrastructureService.relay_outbox().sent == 1
        time.sleep(0.05)  # idle between batches, as after every commit
    assert proxy.connections == 1
    InfrastructureService.reset()
    assert broker.ids(queue) == ids


def test_refused_credentials_fail_the_relay_at_once_without_the_password(
    facade: Path, monkeypatch: pytest.MonkeyPatch, rabbitmq_url: str, proxy: TcpProxy
) -> None:
    configure(monkeypatch, RABBITMQ_URL=through(proxy, rabbitmq_url, password="wr0ng-s3cret"))
    publish("lessons")
    with pytest.raises(MessagingAuthenticationError) as caught:
        InfrastructureService.relay_outbox()
    message = str(caught.value)
    assert "Check the user, password and virtual host in RABBITMQ_URL" in message and "wr0ng-s3cret" not in message
    assert proxy.connections == 1, "reconnecting cannot help: one attempt"
    assert outbox_counts() == {"pending": 1, "sent": 0, "failed": 0}


def test_refused_credentials_stop_a_consumer_at_once(clean_env: Path, monkeypatch: pytest.MonkeyPatch, rabbitmq_url: str, proxy: TcpProxy) -> None:
    configure(monkeypatch, RABBITMQ_URL=through(proxy, rabbitmq_url, password="wr0ng-s3cret"))
    consumer = InfrastructureService.consume(f"infra_test.{uuid.uuid4().hex[:12]}", lambda envelope: None)
    with pytest.raises(MessagingAuthenticationError) as caught:
        consumer.run(idle_timeout=1)
    assert "wr0ng-s3cret" not in str(caught.value) and proxy.connections == 1


def test_the_report_is_an_error_when_rabbitmq_refuses_the_credentials(
    facade: Path, monkeypatch: pytest.MonkeyPatch, rabbitmq_url: str
) -> None:
    parts = urlsplit(rabbitmq_url)
    configure(monkeypatch, RABBITMQ_URL=rabbitmq_url.replace(f":{parts.password}@", ":wr0ng-s3cret@"))
    status = InfrastructureService.validate_environment()
    check = status.checks["messaging"]
    assert check.status is CheckStatus.ERROR and not status.is_valid
    assert "credentials refused" in check.detail and "Check the user, password and virtual host" in check.detail
    assert any(error.startswith("messaging: credentials refused") for error in status.errors)
    assert "wr0ng-s3cret" not in json.dumps(status.to_dict())


def test_validate_environment_exits_1_when_rabbitmq_refuses_the_credentials(facade: Path, rabbitmq_url: str) -> None:
    parts = urlsplit(rabbitmq_url)
    environment = {**os.environ, "RABBITMQ_URL": rabbitmq_url.replace(f":{parts.password}@", ":wr0ng-s3cret@")}
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "validate_environment.py"), "--timeout", "60"],
        cwd=facade, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.split()[:1] == ["messaging"]]
    assert line.split()[1] == "error" and "credentials refused" in line
    assert "wr0ng-s3cret" not in result.stdout + result.stderr and "Traceback" not in result.stderr


# --- the start-up report --------------------------------------------------------------------------


def test_the_report_shows_the_broker_latency_and_the_outbox_counts(facade: Path, broker: Broker, rabbitmq_url: str) -> None:
    publish(broker.new_queue(), 2)
    check = InfrastructureService.validate_environment().checks["messaging"]
    assert check.status is CheckStatus.OK, check.detail
    assert "reachable in " in check.detail and " ms" in check.detail
    assert "outbox 2 pending, 0 failed" in check.detail
    host = urlsplit(rabbitmq_url)
    assert f"{host.hostname}:{host.port or 5672}" in check.detail
    if host.password:
        assert f":{host.password}@" not in check.detail


def test_the_report_is_degraded_with_a_dead_broker(facade: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, RABBITMQ_URL=DEAD_NODE.replace("guest:guest", "guest:s3cret-pw"))
    publish("nowhere", 1)
    started = time.monotonic()
    status = InfrastructureService.validate_environment()
    assert time.monotonic() - started < 10
    check = status.checks["messaging"]
    assert check.status is CheckStatus.DEGRADED
    assert "broker unreachable" in check.detail and "127.0.0.1:1" in check.detail
    assert "outbox 1 pending, 0 failed" in check.detail
    assert "s3cret-pw" not in check.detail
    assert not [e for e in status.errors if e.startswith("messaging")], "degraded, not an error: events wait"


# --- two relay processes on PostgreSQL: every event exactly once ----------------------------------

RELAY_SCRIPT = """
import json, sys
from sqlalchemy import text
from modules.infrastructure.module_api import InfrastructureService
with InfrastructureService.get_database_session() as db:
    db.execute(text("SELECT 1"))
print("ready", flush=True)
sys.stdin.readline()
result = InfrastructureService.relay_outbox(timeout=60)
print(json.dumps({"sent": result.sent, "failed": result.failed, "pending": result.pending}), flush=True)
InfrastructureService.shutdown()
"""


def run_two_relays(cwd: Path) -> list[dict[str, int]]:
    """Two relay processes on the facade's configuration, warmed up, then started together; their results."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    relays = [
        subprocess.Popen(
            [sys.executable, "-c", RELAY_SCRIPT],
            cwd=cwd,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for relay in relays:  # both warmed up (imports, a database connection) before either starts
            assert relay.stdout is not None and relay.stdout.readline().strip() == "ready", relay.stderr
        for relay in relays:
            assert relay.stdin is not None
            relay.stdin.write("go\n")
            relay.stdin.flush()
        outputs = [relay.communicate(timeout=90) for relay in relays]
    finally:
        for relay in relays:
            if relay.poll() is None:
                relay.kill()
                relay.wait(10)
    for relay, (_, err) in zip(relays, outputs, strict=True):
        assert relay.returncode == 0, err
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]


def duplicates_and_missing(broker: Broker, queue: str, ids: list[str]) -> tuple[int, set[str], set[str]]:
    """What the queue holds against ``ids``: copies beyond the first, ids missing, ids never published."""
    received = Counter(broker.ids(queue))
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    return duplicates, set(ids) - set(received), set(received) - set(ids)


def test_two_relay_processes_deliver_each_event_exactly_once(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str, rabbitmq_url: str, broker: Broker
) -> None:
    events = 2000
    queue = broker.new_queue()
    with scratch_database(postgres_url, "infra_outbox") as url:
        configure(monkeypatch, DATABASE_URL=url, RABBITMQ_URL=rabbitmq_url, OUTBOX_RELAY="off", OUTBOX_BATCH_SIZE="50")
        InfrastructureService.migrate()
        with InfrastructureService.get_database_session() as db:
            ids = publish(queue, events, session=db)
        InfrastructureService.reset()  # the parent holds no connection while the relays run
        results = run_two_relays(clean_env)
        counts = outbox_counts()
        InfrastructureService.reset()

    duplicates, missing, unknown = duplicates_and_missing(broker, queue, ids)
    print(f"\ntwo relays: sent {[r['sent'] for r in results]}, duplicates {duplicates}, missing {len(missing)}")
    assert (duplicates, len(missing), unknown) == (0, 0, set())
    assert sum(r["sent"] for r in results) == events and all(r["failed"] == 0 for r in results)
    assert all(r["sent"] > 0 for r in results), f"one relay did all the work, the test proved nothing: {results}"
    assert counts == {"pending": 0, "sent": events, "failed": 0}


def test_two_relay_processes_on_one_sqlite_file_take_turns_and_deliver_each_event_once(
    facade: Path, monkeypatch: pytest.MonkeyPatch, broker: Broker
) -> None:
    """SQLite has no SKIP LOCKED: without the lock file both relays claimed and sent the same rows."""
    events = 2000
    configure(monkeypatch, OUTBOX_BATCH_SIZE="50")
    queue = broker.new_queue()
    with InfrastructureService.get_database_session() as db:
        ids = publish(queue, events, session=db)
    InfrastructureService.reset()
    results = run_two_relays(facade)

    duplicates, missing, unknown = duplicates_and_missing(broker, queue, ids)
    print(f"\ntwo relays on SQLite: sent {[r['sent'] for r in results]}, duplicates {duplicates}, missing {len(missing)}")
    assert (duplicates, len(missing), unknown) == (0, 0, set())
    assert sum(r["sent"] for r in results) == events and all(r["failed"] == 0 for r in results)
    assert outbox_counts() == {"pending": 0, "sent": events, "failed": 0}
