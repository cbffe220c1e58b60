"""Outbox latency benchmark: commit-to-delivery with an empty outbox and with 1,000,000 sent rows kept.

Each phase publishes ``ops`` events at 50 a second, each in its own ``get_database_session()``
transaction, with ``OUTBOX_RELAY=immediate`` (the default), while the metrics are scraped every
second (the outbox count included). A consumer in this process timestamps every delivery. Both
outboxes are scratch databases on the test server, dropped at the end; phases alternate.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import threading
import time
import uuid
from typing import Any

import pika
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from modules.infrastructure.module_api import InfrastructureService
from scripts.benchmarks.scratch import scratch_database

RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
KEPT = 1_000_000
RATE = 50.0  # events a second
SCRAPE_EVERY = 1.0  # seconds; Prometheus' default is 15, so this is a harsher load
PAYLOAD = {"lesson_id": 42, "title": "Joins", "tags": ["sql", "beginner"]}
TARGET = 1.5
# Sent 0.6 s apart: the oldest 6.9 days ago, inside the default 168 h retention, so every row is kept.
FILL = text(
    "INSERT INTO infrastructure_outbox (message_id, destination, event_type, body, status, attempts, created_at, sent_at) "
    "SELECT md5('kept' || i)::uuid::text, 'bench.kept', 'bench', :body, 'sent', 0, "
    "now() - make_interval(secs => i * 0.6), now() - make_interval(secs => i * 0.6) "
    "FROM generate_series(1, :rows) AS i"
)


def run(ops: int, rounds: int) -> dict[str, Any]:
    """``ops`` events per phase; ``rounds // 5`` rounds (at least 1) of one phase per outbox, in shuffled order."""
    rounds = max(1, rounds // 5)
    queue = f"bench-latency-{uuid.uuid4().hex[:8]}"
    latencies: dict[str, list[float]] = {"empty": [], "kept": []}
    per_round: dict[str, list[tuple[float, float]]] = {"empty": [], "kept": []}
    scrapes: dict[str, list[float]] = {"empty": [], "kept": []}
    with scratch_database("empty") as empty, scratch_database("kept") as kept, _Consumer(queue) as consumer:
        urls = {"empty": empty, "kept": kept}
        for url in urls.values():
            _use(url)
            InfrastructureService.migrate()
        _fill(kept, KEPT)
        order = list(urls)
        for _ in range(rounds):
            random.shuffle(order)
            for name in order:
                measured, scraped = _phase(urls[name], queue, ops, consumer)
                latencies[name].extend(measured)
                scrapes[name].extend(scraped)
                per_round[name].append((_percentile(measured, 50), _percentile(measured, 99)))
        InfrastructureService.shutdown()
        _delete_queue(queue)
    results: dict[str, dict[str, Any]] = {
        name: {
            "p50_ms": round(_percentile(values, 50), 2),
            "p99_ms": round(_percentile(values, 99), 2),
            "rounds_p50_p99_ms": [[round(p50, 2), round(p99, 2)] for p50, p99 in per_round[name]],
            "events": len(values),
            "scrape_ms_median": round(statistics.median(scrapes[name]), 2) if scrapes[name] else None,
        }
        for name, values in latencies.items()
    }
    p50_ratio = _percentile(latencies["kept"], 50) / _percentile(latencies["empty"], 50)
    p99_ratio = _percentile(latencies["kept"], 99) / _percentile(latencies["empty"], 99)
    return {
        "benchmark": "outbox_latency",
        "work": f"commit-to-delivery at {RATE:.0f} events/s, {ops} events a phase, {rounds} rounds; "
        f"empty outbox vs {KEPT:,} sent rows kept; metrics scraped every {SCRAPE_EVERY:.0f} s",
        "results": results,
        "ratios": {"kept_vs_empty_p50": round(p50_ratio, 3), "kept_vs_empty_p99": round(p99_ratio, 3)},
        "target": {"kept_vs_empty_p50": f"<= {TARGET}", "kept_vs_empty_p99": f"<= {TARGET}",
                   "met": p50_ratio <= TARGET and p99_ratio <= TARGET},
    }


def _phase(url: str, queue: str, events: int, consumer: _Consumer) -> tuple[list[float], list[float]]:
    """Publish ``events`` at ``RATE``, scraping the metrics meanwhile; each event's latency and each scrape's time, in ms."""
    _use(url)
    committed: dict[str, float] = {}
    stop = threading.Event()
    scrapes: list[float] = []
    scraper = threading.Thread(target=_scrape, args=(stop, scrapes), daemon=True)
    InfrastructureService.metrics_text()  # build the components outside the timed part
    scraper.start()
    try:
        started = time.perf_counter()
        for n in range(events):
            delay = started + n / RATE - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            db = InfrastructureService.get_database_session()
            try:
                message_id = InfrastructureService.publish_event(queue, PAYLOAD, event_type="bench", source="bench", session=db)
                committed[message_id] = time.perf_counter()
                db.commit()
            finally:
                db.close()
        deadline = time.monotonic() + 30
        while not consumer.has_all(committed) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        scraper.join()
    arrived = consumer.arrivals
    missing = [m for m in committed if m not in arrived]
    if missing:
        raise RuntimeError(f"{len(missing)} of {events} events were not delivered within 30 s")
    return [(arrived[m] - t) * 1000 for m, t in committed.items()], scrapes


def _scrape(stop: threading.Event, durations: list[float]) -> None:
    while not stop.wait(SCRAPE_EVERY):
        started = time.perf_counter()
        InfrastructureService.metrics_text()
        durations.append((time.perf_counter() - started) * 1000)


class _Consumer:
    """A raw pika consumer on its own thread: the arrival time of every message id."""

    def __init__(self, queue: str) -> None:
        self._queue = queue
        self.arrivals: dict[str, float] = {}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._consume, daemon=True)

    def __enter__(self) -> _Consumer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the benchmark's consumer could not connect to RabbitMQ")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def has_all(self, ids: dict[str, float]) -> bool:
        return all(m in self.arrivals for m in ids)

    def _consume(self) -> None:
        connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
        channel = connection.channel()
        channel.queue_declare(self._queue, durable=True)

        def on_message(_channel: Any, _method: Any, properties: Any, _body: bytes) -> None:
            self.arrivals[properties.message_id] = time.perf_counter()

        channel.basic_consume(self._queue, on_message, auto_ack=True)
        self._ready.set()
        while not self._stop.is_set():
            connection.process_data_events(time_limit=0.05)
        connection.close()


def _use(url: str) -> None:
    os.environ.update(DATABASE_URL=url, RABBITMQ_URL=RABBITMQ_URL, OUTBOX_RELAY="immediate")
    InfrastructureService.reset()


def _fill(url: str, rows: int) -> None:
    """``rows`` sent rows inside the retention, in one statement, then vacuumed and analysed as autovacuum would."""
    body = json.dumps({"id": str(uuid.uuid4()), "type": "bench", "source": "bench", "destination": "bench.kept",
                       "priority": 0, "timestamp": "2026-12-02T00:00:00+00:00", "correlation_id": None,
                       "payload": PAYLOAD, "headers": {}})
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(FILL, {"body": body, "rows": rows})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE infrastructure_outbox")
    engine.dispose()


def _percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))]


def _delete_queue(queue: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    connection.channel().queue_delete(queue)
    connection.close()
