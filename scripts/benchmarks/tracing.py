"""Tracing benchmark: ``execute_prompt``, a database session and ``publish_event`` with tracing not installed,
installed with export off (the default configuration), and exporting to a local OTLP receiver, in the same run.

Each variant is a set of the module's components derived from one root, differing only in the tracing component:
``NoTracing()`` (no OpenTelemetry on the path), the default ``OtelTracer`` (no provider, no SDK installed by the
application), and the module's SDK provider batching to an ``OtlpReceiver`` in a process of its own on 127.0.0.1
(``OTEL_EXPORTER_OTLP_ENDPOINT`` set, the default batch schedule: ``OTEL_BSP_SCHEDULE_DELAY`` 5000 ms, or sooner
once 512 spans wait). The variants run interleaved, round by round; the LLM's embedded model is shared by all three.
The SQLite paths are timed in the process's CPU (the caller's and the export thread's), the LLM and PostgreSQL in wall
time. Goal (issue 17): off under 5 %, on under 20 % above not installed, on every path.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from modules.infrastructure.domain.tracing.ports import NoTracing, Tracing
from modules.infrastructure.infrastructure.bootstrap import Infrastructure, build_tracing
from modules.infrastructure.infrastructure.config.environment_loader import EnvironmentLoader
from modules.infrastructure.infrastructure.runtime import runtime
from modules.infrastructure.infrastructure.tracing.otel_tracer import OtelTracer
from modules.infrastructure.module_api import InfrastructureService, Prompt, PromptContext
from scripts.benchmarks.environment import cleared
from scripts.benchmarks.otlp_collector import OtlpCollector
from scripts.benchmarks.scratch import SERVER_URL, scratch_database
from scripts.benchmarks.timing import Result, interleave, round_overheads_us, round_ratios

TARGETS = {"off": 1.05, "on": 1.20}  # latency against the same call with tracing not installed
PROMPT = Prompt("{text}", parameters={"max_tokens": 1})  # the shortest call: the largest share for tracing
CONTEXT = PromptContext({"text": "Name three colors."}, module="benchmark", use_cache=False)
SELECT_ONE = text("SELECT 1")
# SQLite runs in this process: the CPU of all its threads (the caller's and the exporter's) is its cost, and load from
# other processes on a shared machine does not inflate it. A server's or the model's work is waited for: wall time.
CPU, WALL = time.process_time, time.perf_counter
PAYLOAD = {"lesson_id": 42, "title": "Joins", "tags": ["sql", "beginner"]}
# Cleared for the run and restored after: no keys (the embedded model), no broker, no relay, no export but ours.
CLEARED = ("DATABASE_URL", "RABBITMQ_URL", "OUTBOX_RELAY", "REDIS_URL", "LLM_PROVIDER", "OPENAI_BASE_URL", "OPENAI_API_KEY",
           "OPENAI_MODEL", "LLM_FALLBACK_PROVIDERS", "LLM_USAGE_PERSIST")


def run(ops: int, rounds: int) -> dict[str, Any]:
    """Per-call time of each path under each variant; the ratios are per round (the three ran side by side)."""
    # In memory when the machine has a tmpfs: no fsync noise, and a cheaper commit makes the ratio the harder one.
    scratch = Path(tempfile.mkdtemp(prefix="bench-tracing-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    load_before = os.getloadavg()
    results: dict[str, dict[str, Result]] = {}
    exported: dict[str, Mapping[str, int]] = {}
    try:
        with cleared((*CLEARED, *[name for name in os.environ if name.startswith("OTEL_")])), OtlpCollector() as collector:
            os.environ["OUTBOX_RELAY"] = "off"
            paths = {
                "llm local": (_execute_prompt, max(1, ops // 250), 2 * rounds, 3, WALL),  # ~30 ms a call, noisy: more rounds
                "session sqlite": (_database_session, ops, rounds, 50, CPU),
                "publish sqlite": (_publish_event, max(20, ops // 5), rounds, 20, CPU),
            }
            exported["sqlite"] = _measure(f"sqlite:///{scratch / 'bench.db'}", collector.endpoint, paths, results)
            postgres = _postgres(collector.endpoint, ops, rounds, results)
            if postgres is not None:
                exported["postgres"] = postgres
            received = collector.received()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return _report(results, exported, received, load_before, scratch.parent)


def _execute_prompt() -> None:
    InfrastructureService.execute_prompt(PROMPT, CONTEXT)


def _database_session() -> None:
    with InfrastructureService.get_database_session() as db:
        db.execute(SELECT_ONE)


def _publish_event() -> None:
    InfrastructureService.publish_event("bench-tracing", PAYLOAD, event_type="bench", source="bench")


Measured = tuple[Callable[[], None], int, int, int, Callable[[], float]]  # the call, ops per round, rounds, warm-up calls, clock


def _measure(database_url: str, endpoint: str, paths: Mapping[str, Measured], results: dict[str, dict[str, Result]]) -> Mapping[str, int]:
    """Each path through the three variant sets on ``database_url`` (migrated first); the exporting tracer's counts."""
    os.environ["DATABASE_URL"] = database_url
    InfrastructureService.reset()
    InfrastructureService.migrate()
    root = runtime.current_root()
    exporting = _exporting_tracer(root, endpoint)
    sets = {name: _KeptOpen({"tracing": tracing}, parent=root) for name, tracing in _tracings(root, exporting).items()}
    try:
        for path, (call, path_ops, path_rounds, warmup, clock) in paths.items():
            measured = interleave({name: call for name in sets}, path_ops, path_rounds, warmup, clock, lambda name: runtime.use(sets[name]))
            results[path] = measured
    finally:
        for components in sets.values():
            components.close_now()
        exporting.close()  # sends what still waits
        InfrastructureService.shutdown()
    return exporting.export_counts()


def _postgres(endpoint: str, ops: int, rounds: int, results: dict[str, dict[str, Result]]) -> Mapping[str, int] | None:
    """The database paths again on a scratch database of the test server; skipped (None) when it is unreachable."""
    try:
        create_engine(SERVER_URL, poolclass=NullPool).connect().close()
    except SQLAlchemyError as exc:
        print(f"tracing: PostgreSQL at {SERVER_URL} skipped ({type(exc).__name__})", file=sys.stderr)
        return None
    with scratch_database("tracing") as url:
        paths = {
            "session postgres": (_database_session, ops, rounds, 50, WALL),
            "publish postgres": (_publish_event, max(20, ops // 5), rounds, 20, WALL),
        }
        return _measure(url, endpoint, paths, results)


def _exporting_tracer(root: Infrastructure, endpoint: str) -> OtelTracer:
    """The tracing component the module builds when ``OTEL_EXPORTER_OTLP_ENDPOINT`` names ``endpoint``."""
    config = EnvironmentLoader({**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}).load_config()
    tracer = build_tracing(config, root.redactor)
    assert isinstance(tracer, OtelTracer) and tracer.provider is not None, "export is on with an endpoint"
    return tracer


def _tracings(root: Infrastructure, exporting: OtelTracer) -> dict[str, Tracing]:
    default = build_tracing(root.config, root.redactor)  # the default configuration: no endpoint, no exporter
    assert isinstance(default, OtelTracer) and default.provider is None, "export is off by default"
    return {"not_installed": NoTracing(), "off": default, "on": exporting}


class _KeptOpen(Infrastructure):
    """A variant's set, made current for each of its rounds and closed once at the end (not by each ``use`` block)."""

    def close(self) -> None:
        return None

    def close_now(self) -> None:
        super().close()


def _report(
    results: Mapping[str, Mapping[str, Result]],
    exported: Mapping[str, Mapping[str, int]],
    received: Mapping[str, Any],
    load_before: tuple[float, ...],
    sqlite_folder: Path,
) -> dict[str, Any]:
    ratios: dict[str, float] = {}
    ratio_spread: dict[str, dict[str, float]] = {}
    overheads: dict[str, dict[str, float]] = {}
    worst = {variant: 0.0 for variant in TARGETS}
    for path, measured in results.items():
        for variant in TARGETS:
            # Latency over latency: not_installed's throughput over the variant's, round by round.
            spread = round_ratios(measured, "not_installed", variant)
            ratio_spread[f"{path} {variant}"] = spread
            ratios[f"{path} {variant}/none"] = spread["median"]
            overheads[f"{path} {variant}"] = round_overheads_us(measured, variant, "not_installed")
            worst[variant] = max(worst[variant], spread["median"])
    flat = {f"{path} {variant}": result.to_dict() for path, measured in results.items() for variant, result in measured.items()}
    counts = "; ".join(f"{db}: {', '.join(f'{k} {v}' for k, v in sorted(c.items())) or 'none'}" for db, c in exported.items())
    return {
        "benchmark": "tracing",
        "work": "per call, tracing not installed (NoTracing) / installed, export off (default) / exporting to a local "
        "OTLP receiver (default batch schedule); embedded model, max_tokens 1, uncached; SELECT 1 in a session; "
        f"publish_event to the outbox, no broker; SQLite file in {sqlite_folder}, timed in process CPU; LLM and "
        "PostgreSQL in wall time",
        "results": flat,
        "ratios": ratios,
        "ratio_spread": ratio_spread,
        "overhead_us_spread": overheads,
        "notes": [f"spans exported ({counts}); the receiver got {received['spans']} spans in {received['requests']} requests"],
        "exported_spans": {db: dict(c) for db, c in exported.items()},
        "received": dict(received),
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()},
        "target": {
            "off/none": f"<= {TARGETS['off']} on every path (worst {worst['off']:.3f})",
            "on/none": f"<= {TARGETS['on']} on every path (worst {worst['on']:.3f})",
            "met": all(worst[variant] <= limit for variant, limit in TARGETS.items()),
        },
    }
