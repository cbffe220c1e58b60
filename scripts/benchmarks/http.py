"""HTTP integration benchmark: ``get_http_client(name)`` against a bare ``httpx2.Client()`` (its defaults) on the
same local server that answers at once, so the difference is the client's overhead per call.

The facade's client runs each call through the retry loop (breaker, in-process rate limit with no limit set,
deadline), the request checks, the deadline transport, a size-limited read and the call metrics. No Redis, no
credential: both send the same request. Then a POST with ``json=`` and an idempotency key, the same way.
Each is timed twice: wall time (the headline), then the client thread's CPU time (``*_cpu``), which time spent
waiting for a CPU on a busy machine does not inflate.
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

import httpx2

from modules.infrastructure.module_api import InfrastructureService
from scripts.benchmarks.instant_http import BODY, InstantHttpServer
from scripts.benchmarks.timing import interleave, round_overheads_us, round_ratios

MAX_OVERHEAD_US = 200.0
NAME = "bench"
PATH = "/x"
PAYLOAD = {"name": "Ada Lovelace", "email": "ada@example.com", "tags": ["math", "engines"]}


def run(ops: int, rounds: int) -> dict[str, Any]:
    """Interleaved rounds of GET (and POST) through each client; the headline is the median per-round overhead."""
    saved = {name: os.environ.pop(name, None) for name in list(os.environ) if name.startswith("INTEGRATION_") or name == "REDIS_URL"}
    load_before = os.getloadavg()
    try:
        with InstantHttpServer() as server:
            results = _measure(server.base_url, ops, rounds)
    finally:
        InfrastructureService.shutdown()
        for name in [n for n in os.environ if n.startswith("INTEGRATION_")]:
            del os.environ[name]
        os.environ.update({name: value for name, value in saved.items() if value is not None})
    get = round_overheads_us(results, "facade_get", "raw_httpx2_get")
    post = round_overheads_us(results, "facade_post_idempotent", "raw_httpx2_post")
    get_cpu = round_overheads_us(results, "facade_get_cpu", "raw_httpx2_get_cpu")
    post_cpu = round_overheads_us(results, "facade_post_idempotent_cpu", "raw_httpx2_post_cpu")
    return {
        "benchmark": "http",
        "work": f"GET {PATH} answered with {len(BODY)} bytes of JSON over keep-alive; POST of a small JSON body with an Idempotency-Key; "
        f"get_http_client({NAME!r}) looked up each call vs httpx2.Client() defaults",
        "results": {name: result.to_dict() for name, result in results.items()},
        "ratios": {
            "facade_overhead_us_get": get["median"],
            "facade_overhead_us_post": post["median"],
            "facade_overhead_cpu_us_get": get_cpu["median"],
            "facade_overhead_cpu_us_post": post_cpu["median"],
            "facade_latency_vs_raw_get": round(1 / round_ratios(results, "facade_get", "raw_httpx2_get")["median"], 3),
            "facade_latency_vs_raw_post": round(1 / round_ratios(results, "facade_post_idempotent", "raw_httpx2_post")["median"], 3),
        },
        "overhead_us_spread": {"get": get, "post": post, "get_cpu": get_cpu, "post_cpu": post_cpu},
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()},
        "target": {"facade_overhead_us_get": f"< {MAX_OVERHEAD_US:g} (measured {get['median']:.1f})", "met": get["median"] < MAX_OVERHEAD_US},
    }


def _measure(base_url: str, ops: int, rounds: int) -> dict[str, Any]:
    os.environ.update({f"INTEGRATION_{NAME.upper()}_BASE_URL": base_url, f"INTEGRATION_{NAME.upper()}_AUTH": "none"})
    InfrastructureService.reset()
    raw = httpx2.Client()
    url = base_url + PATH
    keys = itertools.count()
    assert raw.get(url).json() == InfrastructureService.get_http_client(NAME).get(PATH).json()
    variants = {
        "raw_httpx2_get": lambda: raw.get(url),
        "facade_get": lambda: InfrastructureService.get_http_client(NAME).get(PATH),
        "raw_httpx2_post": lambda: raw.post(url, json=PAYLOAD, headers={"Idempotency-Key": f"key-{next(keys)}"}),
        "facade_post_idempotent": lambda: InfrastructureService.get_http_client(NAME).post(PATH, json=PAYLOAD, idempotency_key=f"key-{next(keys)}"),
    }
    try:
        wall = interleave(variants, ops, rounds)
        cpu = interleave(variants, ops, rounds, clock=time.thread_time)
        return wall | {f"{name}_cpu": result for name, result in cpu.items()}
    finally:
        raw.close()
