"""Listener benchmark: commit-to-handler latency at a steady rate, and delivery throughput against the bare relay.

Latency: ``ops`` events at 200 a second, each published in its own transaction, to one listener
whose handler timestamps the event's arrival: run by the in-process worker (no broker) on a
scratch PostgreSQL database and on a SQLite file, and through RabbitMQ (relay, module queue,
consumer) on PostgreSQL. Throughput: 2,000 events already committed, then handled by the listener
(records claimed, handler transaction, completion) against the bare outbox relay of the same
2,000 events to RabbitMQ (``relay_outbox``), round by round; and through RabbitMQ, relay plus
module queue plus records, against the same bare relay.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pika

from modules.infrastructure.module_api import DatabaseSession, Envelope, InfrastructureService
from scripts.benchmarks.scratch import scratch_database

RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
RATE = 200.0
PAYLOAD = {"lesson_id": 42, "title": "Joins", "tags": ["sql", "beginner"]}
BACKLOG = 2000
TARGETS = {"embedded_p50_ms": 5.0, "embedded_p99_ms": 50.0, "broker_p50_ms": 20.0, "records_vs_bare_relay": 0.5}
MODULE_QUEUES = "infrastructure.listeners."
QUEUE = "bench.listeners"


class _Arrivals:
    """The handler: the arrival time of every event id, and a signal when all expected ones came."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Envelope, db: DatabaseSession) -> None:
        with self._lock:
            self.at.setdefault(event.id, time.perf_counter())

    def wait_for(self, ids: dict[str, float] | list[str], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while any(i not in self.at for i in ids):
            if time.monotonic() > deadline:
                missing = sum(1 for i in ids if i not in self.at)
                raise RuntimeError(f"{missing} of {len(ids)} events did not reach the listener within {seconds:g} s")
            time.sleep(0.01)


def run(ops: int, rounds: int) -> dict[str, Any]:
    """``ops`` events per latency phase; ``max(1, rounds // 5)`` rounds of each phase and of the throughput pair."""
    rounds = max(1, rounds // 5)
    latencies: dict[str, list[float]] = {"embedded_postgres": [], "embedded_sqlite": [], "broker_postgres": []}
    per_round: dict[str, list[list[float]]] = {name: [] for name in latencies}
    throughput: dict[str, list[float]] = {"listener_records": [], "bare_relay": [], "broker_records": []}
    modules: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for round_number in range(rounds):
                for name in latencies:
                    # Each phase on a database of its own: no records or listeners of an earlier phase in its way.
                    with _database(name, Path(folder) / f"bench-{round_number}.db") as database:
                        measured = _latency_phase(database, ops, modules, broker=name.startswith("broker"))
                    latencies[name].extend(measured)
                    per_round[name].append([round(_percentile(measured, 50), 2), round(_percentile(measured, 99), 2)])
                    _delete_queues(_queues_of(modules))
                with scratch_database("listeners") as url:
                    records, relay = _throughput_pair(url)
                throughput["listener_records"].append(records)
                throughput["bare_relay"].append(relay)
                with scratch_database("listeners") as url:
                    throughput["broker_records"].append(_broker_throughput(url, modules))
                _delete_queues(_queues_of(modules))
    finally:
        _delete_queues([QUEUE, *_queues_of(modules)])
    results: dict[str, dict[str, Any]] = {
        name: {"p50_ms": round(_percentile(v, 50), 2), "p99_ms": round(_percentile(v, 99), 2), "events": len(v), "rounds_p50_p99_ms": per_round[name]}
        for name, v in latencies.items()
    }
    for name, values in throughput.items():
        results[name] = {"events_per_second": round(statistics.median(values), 1), "rounds_events_per_second": [round(v, 1) for v in values]}
    pairs = sorted(a / b for a, b in zip(throughput["listener_records"], throughput["bare_relay"]))
    broker_pairs = sorted(a / b for a, b in zip(throughput["broker_records"], throughput["bare_relay"]))
    ratio = statistics.median(pairs)
    p50, p99 = results["embedded_postgres"]["p50_ms"], results["embedded_postgres"]["p99_ms"]
    broker_p50 = results["broker_postgres"]["p50_ms"]
    return {
        "benchmark": "listeners",
        "work": f"commit-to-handler at {RATE:.0f} events/s, {ops} events a phase, {rounds} round(s), in-process worker on PostgreSQL "
        f"and SQLite; throughput: {BACKLOG:,} committed events handled by a listener vs relayed to RabbitMQ, round by round",
        "results": results,
        "ratios": {
            "records_vs_bare_relay": round(ratio, 3), "records_vs_bare_relay_min": round(pairs[0], 3), "records_vs_bare_relay_max": round(pairs[-1], 3),
            "broker_records_vs_bare_relay": round(statistics.median(broker_pairs), 3),
            "broker_records_vs_bare_relay_min": round(broker_pairs[0], 3), "broker_records_vs_bare_relay_max": round(broker_pairs[-1], 3),
        },
        "target": {
            "embedded_p50_ms": f"< {TARGETS['embedded_p50_ms']}", "embedded_p99_ms": f"< {TARGETS['embedded_p99_ms']}",
            "broker_p50_ms": f"< {TARGETS['broker_p50_ms']}", "records_vs_bare_relay": f">= {TARGETS['records_vs_bare_relay']}",
            "met": p50 < TARGETS["embedded_p50_ms"] and p99 < TARGETS["embedded_p99_ms"] and broker_p50 < TARGETS["broker_p50_ms"]
            and ratio >= TARGETS["records_vs_bare_relay"],
        },
    }


def _use(database: str, broker: bool = False, **settings: str) -> None:
    os.environ.pop("RABBITMQ_URL", None)
    if broker:
        os.environ["RABBITMQ_URL"] = RABBITMQ_URL
    relay = "immediate" if broker else "off"
    os.environ.update({"DATABASE_URL": database, "LISTENER_WORKER": "thread", "OUTBOX_RELAY": relay, **settings})
    InfrastructureService.reset()
    InfrastructureService.migrate()


def _module(modules: list[str]) -> str:
    """A module name of its own for each phase: a queue that starts empty, deleted at the end."""
    modules.append(f"bench_{uuid.uuid4().hex[:8]}")
    return modules[-1]


def _latency_phase(database: str, events: int, modules: list[str], broker: bool) -> list[float]:
    """Publish ``events`` at ``RATE``; each one's commit-to-handler time in ms."""
    _use(database, broker)
    arrivals = _Arrivals()
    InfrastructureService.listen("bench.#", arrivals, module=_module(modules), name="latency")
    committed: dict[str, float] = {}
    started = time.perf_counter()
    for n in range(events):
        delay = started + n / RATE - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        with InfrastructureService.get_database_session() as db:
            event_id = InfrastructureService.publish_event(QUEUE, PAYLOAD, event_type="bench.latency", source="bench", session=db)
        committed[event_id] = time.perf_counter()
    arrivals.wait_for(committed, 30)
    InfrastructureService.shutdown()
    return [(arrivals.at[i] - t) * 1000 for i, t in committed.items()]


def _broker_throughput(database: str, modules: list[str]) -> float:
    """Events per second through RabbitMQ: ``BACKLOG`` committed events relayed, routed to a module queue and handled with records."""
    _use(database, broker=True, OUTBOX_RELAY="off")
    arrivals = _Arrivals()
    InfrastructureService.listen("bench.#", arrivals, module=_module(modules), name="throughput")
    ids = _commit_backlog()
    started = time.perf_counter()
    InfrastructureService.relay_outbox()
    arrivals.wait_for(ids, 60)
    rate = BACKLOG / (max(arrivals.at.values()) - started)
    InfrastructureService.shutdown()
    return rate


def _throughput_pair(database: str) -> tuple[float, float]:
    """Events per second: a listener handling ``BACKLOG`` committed events, then the relay sending the same events."""
    _use(database, LISTENER_WORKER="off")  # the backlog is committed first; run_listeners times the handling
    arrivals = _Arrivals()
    InfrastructureService.listen("bench.#", arrivals, module="bench", name=f"throughput_{time.monotonic_ns()}")
    ids = _commit_backlog()
    started = time.perf_counter()
    InfrastructureService.run_listeners()
    records = BACKLOG / (time.perf_counter() - started)
    arrivals.wait_for(ids, 1)
    os.environ["RABBITMQ_URL"] = RABBITMQ_URL
    InfrastructureService.reset()
    started = time.perf_counter()
    result = InfrastructureService.relay_outbox()
    relay = result.sent / (time.perf_counter() - started)
    if result.sent < BACKLOG:
        raise RuntimeError(f"the relay sent {result.sent} of {BACKLOG} events ({result.pending} pending)")
    InfrastructureService.shutdown()
    os.environ.pop("RABBITMQ_URL", None)
    return records, relay


@contextmanager
def _database(phase: str, sqlite_file: Path) -> Iterator[str]:
    """A new scratch PostgreSQL database, or a new SQLite file, for one phase."""
    if phase.endswith("sqlite"):
        yield f"sqlite:///{sqlite_file}"
        InfrastructureService.shutdown()
        return
    with scratch_database("listeners") as url:
        yield url


def _queues_of(modules: list[str]) -> list[str]:
    return [f"{MODULE_QUEUES}{m}{suffix}" for m in modules for suffix in ("", ".dead")]


def _commit_backlog() -> list[str]:
    """``BACKLOG`` events committed in one transaction; their ids."""
    with InfrastructureService.get_database_session() as db:
        return [InfrastructureService.publish_event(QUEUE, PAYLOAD, event_type="bench.throughput", source="bench", session=db) for _ in range(BACKLOG)]


def _percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(percent / 100 * len(ordered)) - 1))]


def _delete_queues(queues: list[str]) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    channel = connection.channel()
    for queue in queues:
        channel.queue_delete(queue)
    connection.close()
