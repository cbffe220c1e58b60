"""Cache stampede benchmark: processes x threads asking for one expired key whose computation takes 100 ms.

    python scripts/benchmark.py cache_stampede [--rounds 5]

Each round deletes the key, starts 4 worker processes of 64 threads each (``cache_stampede_worker``), which all
ask at one wall-clock instant, then counts the computations (an INCR in the computation) and collects every
caller's wait. ``get_or_set`` against the same callers writing the read-miss-compute-write by hand. On the Redis at
``TEST_REDIS_URL`` (default 127.0.0.1:6379), in a namespace of its own, removed at the end.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import redis

DEFAULT_URL = "redis://127.0.0.1:6379/0"
PROCESSES, THREADS = 4, 64
MAX_ROUNDS = 10
ROOT = Path(__file__).resolve().parents[2]


def run(ops: int, rounds: int) -> dict[str, Any]:
    rounds = min(rounds, MAX_ROUNDS)
    url = os.environ.get("TEST_REDIS_URL", DEFAULT_URL)
    namespace = f"bench-stampede-{uuid.uuid4().hex[:8]}"
    raw = redis.Redis.from_url(url)
    load_before = os.getloadavg()
    outcome: dict[str, dict[str, list[float]]] = {mode: {"computations": [], "waits": []} for mode in ("get_or_set", "by_hand")}
    try:
        for _ in range(rounds):
            for mode in ("get_or_set", "by_hand"):
                computations, waits = _round(raw, url, namespace, mode)
                outcome[mode]["computations"].append(computations)
                outcome[mode]["waits"] += waits
    finally:
        for key in raw.scan_iter(match=f"{namespace}:*"):
            raw.delete(key)
        raw.close()
    summary = {mode: _summary(data) for mode, data in outcome.items()}
    return {
        "benchmark": "cache_stampede",
        "work": f"{PROCESSES} processes x {THREADS} threads ask at once for one missing key; computing it takes 100 ms",
        "results": summary,
        "ratios": {
            "get_or_set_computations_per_round_max": max(outcome["get_or_set"]["computations"]),
            "by_hand_computations_per_round_median": statistics.median(outcome["by_hand"]["computations"]),
            "get_or_set_p99_wait_ms": summary["get_or_set"]["p99_ms"],
            "by_hand_p99_wait_ms": summary["by_hand"]["p99_ms"],
        },
        "notes": [
            f"{rounds} rounds of each, alternating; the waits of every caller of every round",
            f"get_or_set computations per round: {outcome['get_or_set']['computations']}; "
            f"by hand: {outcome['by_hand']['computations']}",
        ],
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()},
        "target": {"computations_per_round": "1", "met": max(outcome["get_or_set"]["computations"]) == 1},
    }


def _round(raw: redis.Redis, url: str, namespace: str, mode: str) -> tuple[float, list[float]]:
    raw.delete(f"{namespace}:report", f"{namespace}:computations")
    start = time.time() + 3.0  # every process imported and its threads waiting by then
    command = [sys.executable, "-m", "scripts.benchmarks.cache_stampede_worker", "--start", repr(start),
               "--threads", str(THREADS), "--namespace", namespace, "--mode", mode]
    environment = {**os.environ, "REDIS_URL": url}
    workers = [subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE) for _ in range(PROCESSES)]
    waits: list[float] = []
    for worker in workers:
        out, _ = worker.communicate(timeout=60)
        if worker.returncode != 0:
            raise RuntimeError(f"a stampede worker failed with exit code {worker.returncode}")
        waits += json.loads(out)
    return float(int(raw.get(f"{namespace}:computations") or 0)), waits


def _summary(data: dict[str, list[float]]) -> dict[str, Any]:
    waits = sorted(data["waits"])
    return {
        "computations_per_round": data["computations"],
        "callers": len(waits),
        "p50_ms": round(statistics.median(waits), 1),
        "p99_ms": round(waits[int(len(waits) * 0.99) - 1], 1),
        "max_ms": round(waits[-1], 1),
    }
