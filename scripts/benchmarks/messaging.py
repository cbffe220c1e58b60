"""Messaging benchmark: the outbox relay and publish_event against raw pika and raw SQLAlchemy."""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import pika
from sqlalchemy import create_engine, delete
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from modules.infrastructure.infrastructure.database.engine_options import engine_arguments
from modules.infrastructure.infrastructure.messaging.outbox_model import OutboxRecord
from modules.infrastructure.module_api import InfrastructureService
from scripts.benchmarks.timing import interleave, ratio

SERVER_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
BENCH_DATABASE = "infra_bench"
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
BODY = json.dumps({"lesson_id": 42, "title": "Joins", "tags": ["sql", "beginner"]}).encode()
TARGET = 0.5


def run(ops: int, rounds: int) -> dict[str, Any]:
    """Throughput rounds for the relay and raw pika, then interleaved per-call timing of publish_event."""
    database_url = _bench_database()
    os.environ.update(DATABASE_URL=database_url, RABBITMQ_URL=RABBITMQ_URL, OUTBOX_RELAY="off")
    InfrastructureService.reset()
    InfrastructureService.migrate()
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    backlog = 10_000
    samples: dict[str, list[float]] = {"raw_pika_confirm_each": [], "raw_pika_confirms_in_flight": [], "relay_drain": []}
    try:
        for _ in range(max(5, rounds // 3)):
            samples["raw_pika_confirm_each"].append(_confirm_each(queue, 500))
            samples["raw_pika_confirms_in_flight"].append(_confirms_in_flight(queue, backlog))
            samples["relay_drain"].append(_relay_drain(database_url, queue, backlog))
            _purge(queue)
        per_call = _publish_event_vs_insert(database_url, queue, ops, rounds)
    finally:
        _delete_queue(queue)
        InfrastructureService.shutdown()
    throughput = {name: statistics.median(values) for name, values in samples.items()}
    # Paired: each round's relay against the raw run just before it, so drift between rounds cancels.
    relay_ratio = statistics.median(
        relay / raw for relay, raw in zip(samples["relay_drain"], samples["raw_pika_confirms_in_flight"], strict=True)
    )
    results = {name: {"events_per_second": round(v, 1), "rounds": [round(x, 1) for x in samples[name]]} for name, v in throughput.items()}
    results.update({name: r.to_dict() for name, r in per_call.items()})
    return {
        "benchmark": "messaging",
        "work": f"{backlog:,}-event backlog relayed from PostgreSQL to RabbitMQ; publish_event per call",
        "results": results,
        "ratios": {
            "relay_vs_raw_pika_in_flight": round(relay_ratio, 3),
            "relay_vs_raw_pika_confirm_each": round(throughput["relay_drain"] / throughput["raw_pika_confirm_each"], 3),
            "publish_event_vs_raw_insert": round(ratio(per_call, "publish_event", "raw_insert"), 3),
        },
        "target": {"relay_vs_raw_pika_in_flight": f">= {TARGET}", "met": relay_ratio >= TARGET},
    }


def _bench_database() -> str:
    """A database of its own on the test server, so draining the outbox touches no one else's rows."""
    server = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DATABASE,)).scalar()
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{BENCH_DATABASE}"')
    server.dispose()
    return make_url(SERVER_URL).set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def _event_body(message_id: str, queue: str, timestamp: str) -> bytes:
    """An encoded envelope as the outbox stores it: what the relay publishes, byte for byte in size."""
    return json.dumps({"id": message_id, "type": "bench", "source": "bench", "destination": queue,
                       "priority": 0, "timestamp": timestamp, "correlation_id": None,
                       "payload": json.loads(BODY), "headers": {}}).encode()


def _properties() -> pika.BasicProperties:
    """The properties the relay sets on every event (its ``_properties``), so both sides send the same message."""
    return pika.BasicProperties(
        message_id=str(uuid.uuid4()),
        content_type="application/json",
        delivery_mode=pika.DeliveryMode.Persistent,
        timestamp=int(time.time()),
        type="bench",
        correlation_id=None,
        priority=0,
        app_id="bench",
    )


def _confirm_each(queue: str, count: int) -> float:
    """Raw pika BlockingChannel in confirm mode: each publish waits for its confirm."""
    body = _event_body(str(uuid.uuid4()), queue, datetime.now(timezone.utc).isoformat())
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    channel.confirm_delivery()
    started = time.perf_counter()
    for _ in range(count):
        channel.basic_publish("", queue, body, _properties(), mandatory=True)
    elapsed = time.perf_counter() - started
    connection.close()
    return count / elapsed


def _confirms_in_flight(queue: str, count: int, window: int = 1000) -> float:
    """Raw pika SelectConnection: up to ``window`` unconfirmed messages in flight."""
    state = {"published": 0, "confirmed": 0, "started": 0.0, "elapsed": 0.0}
    body = _event_body(str(uuid.uuid4()), queue, datetime.now(timezone.utc).isoformat())

    def publish_more(channel: Any) -> None:
        while state["published"] < count and state["published"] - state["confirmed"] < window:
            channel.basic_publish("", queue, body, _properties(), mandatory=True)
            state["published"] += 1

    def on_confirm(frame: Any) -> None:
        method = frame.method
        state["confirmed"] = method.delivery_tag if method.multiple else state["confirmed"] + 1
        if state["confirmed"] >= count:
            state["elapsed"] = time.perf_counter() - state["started"]
            connection.close()
        else:
            publish_more(channel_holder[0])

    channel_holder: list[Any] = []

    def on_channel(channel: Any) -> None:
        channel_holder.append(channel)
        channel.queue_declare(queue, durable=True, callback=lambda _: start(channel))

    def start(channel: Any) -> None:
        channel.confirm_delivery(on_confirm)
        state["started"] = time.perf_counter()
        publish_more(channel)

    connection = pika.SelectConnection(
        pika.URLParameters(RABBITMQ_URL),
        on_open_callback=lambda conn: conn.channel(on_open_callback=on_channel),
        on_close_callback=lambda conn, reason: conn.ioloop.stop(),
    )
    connection.ioloop.start()
    return count / state["elapsed"]


def _relay_drain(database_url: str, queue: str, count: int) -> float:
    """Fill the outbox with ``count`` pending rows, then time ``relay_outbox()`` draining them."""
    engine = create_engine(database_url)
    timestamp = datetime.now(timezone.utc).isoformat()
    with Session(engine) as session:
        session.execute(delete(OutboxRecord))
        rows = []
        for _ in range(count):
            message_id = str(uuid.uuid4())
            body = _event_body(message_id, queue, timestamp).decode()
            rows.append({"message_id": message_id, "destination": queue, "event_type": "bench", "body": body,
                         "status": "pending", "attempts": 0})
        session.execute(OutboxRecord.__table__.insert(), rows)
        session.commit()
    # What autovacuum does for a live outbox: without it each round meets the last round's dead rows.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM ANALYZE {OutboxRecord.__tablename__}")
    engine.dispose()
    started = time.perf_counter()
    result = InfrastructureService.relay_outbox()
    elapsed = time.perf_counter() - started
    if result.sent != count:
        raise RuntimeError(f"relay sent {result.sent} of {count}")
    return count / elapsed


def _publish_event_vs_insert(database_url: str, queue: str, ops: int, rounds: int) -> dict[str, Any]:
    config = InfrastructureService.get_config().database
    engine = create_engine(database_url, **engine_arguments(database_url, config))
    payload = json.loads(BODY)

    def publish_event() -> None:
        InfrastructureService.publish_event(queue, payload, event_type="bench", source="bench")

    def raw_insert() -> None:
        message_id = str(uuid.uuid4())
        body = json.dumps({"id": message_id, "type": "bench", "payload": payload})
        with Session(engine) as session:
            session.add(OutboxRecord(message_id=message_id, destination=queue, event_type="bench", body=body,
                                     status="pending", attempts=0))
            session.commit()

    try:
        return interleave({"publish_event": publish_event, "raw_insert": raw_insert}, ops, rounds, warmup=20)
    finally:
        with Session(engine) as session:
            session.execute(delete(OutboxRecord).where(OutboxRecord.destination == queue))
            session.commit()
        engine.dispose()


def _purge(queue: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    connection.channel().queue_purge(queue)
    connection.close()


def _delete_queue(queue: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    connection.channel().queue_delete(queue)
    connection.close()
