"""Cache benchmark: a hit through the facade on Redis against a raw redis-py GET, the in-memory hit, and a near-cache
hit (``CACHE_NEAR_MAX_ITEMS``) against both."""

from __future__ import annotations

import os
import time
from typing import Any

import redis

from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache
from modules.infrastructure.infrastructure.cache.near_cache import NearCache
from modules.infrastructure.infrastructure.cache.near_copies import NearCopies
from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache
from modules.infrastructure.module_api import InfrastructureService
from scripts.benchmarks.timing import interleave, ratio

DEFAULT_URL = "redis://127.0.0.1:6379/0"
NAMESPACE = "benchmark"
KEY = "lesson:42"
VALUE = "x" * 256
MAX_REDIS_SLOWDOWN = 1.5
MAX_MEMORY_HIT_US = 50.0
MAX_NEAR_VS_MEMORY = 1.5


def run(ops: int, rounds: int) -> dict[str, Any]:
    """One interleaved run of cache hits: facade on Redis, raw GET of the same key, facade in memory."""
    url = os.environ.get("TEST_REDIS_URL", DEFAULT_URL)
    os.environ["REDIS_URL"] = url
    InfrastructureService.reset()
    redis_cache = InfrastructureService.get_cache(NAMESPACE)
    with InfrastructureService.override(cache=MemoryCache()):
        memory_cache = InfrastructureService.get_cache(NAMESPACE)
    near_backend = NearCache(RedisCache(url), NearCopies(10_000, 60.0))
    with InfrastructureService.override(cache=near_backend):
        near_cache = InfrastructureService.get_cache(NAMESPACE)
    raw = redis.Redis.from_url(url, socket_timeout=1)
    redis_cache.set(KEY, VALUE, ttl=600)
    memory_cache.set(KEY, VALUE)
    raw_key = f"{NAMESPACE}:{KEY}"
    assert raw.get(raw_key) == VALUE.encode() and redis_cache.get(KEY) == VALUE == memory_cache.get(KEY)
    _wait_until_kept(near_cache, near_backend)

    variants = {
        "facade_redis_hit": lambda: redis_cache.get(KEY),
        "facade_redis_lookup": lambda: InfrastructureService.get_cache(NAMESPACE).get(KEY),
        "raw_redis_get": lambda: raw.get(raw_key),
        "facade_memory_hit": lambda: memory_cache.get(KEY),
        "facade_near_hit": lambda: near_cache.get(KEY),
    }
    try:
        results = interleave(variants, ops, rounds)
        errors = redis_cache.stats().errors
        near_hits = near_backend.stats().near_hits
    finally:
        redis_cache.invalidate_pattern("*")
        near_backend.close()
        raw.close()
        InfrastructureService.shutdown()
    slowdown = 1 / ratio(results, "facade_redis_hit", "raw_redis_get")
    memory_us = results["facade_memory_hit"].per_op_us
    near_vs_memory = 1 / ratio(results, "facade_near_hit", "facade_memory_hit")
    return {
        "benchmark": "cache",
        "work": f"GET of one {len(VALUE)}-byte value that is there; facade handle from get_cache('{NAMESPACE}')",
        "results": {name: result.to_dict() for name, result in results.items()},
        "ratios": {
            "facade_redis_latency_vs_raw_get": round(slowdown, 3),
            "lookup_each_time_latency_vs_raw": round(1 / ratio(results, "facade_redis_lookup", "raw_redis_get"), 3),
            "memory_hit_vs_raw_get": round(1 / ratio(results, "facade_memory_hit", "raw_redis_get"), 3),
            "near_hit_vs_memory_hit": round(near_vs_memory, 3),
            "near_hit_vs_redis_hit": round(1 / ratio(results, "facade_near_hit", "facade_redis_hit"), 3),
        },
        "target": {
            "facade_redis_latency_vs_raw_get": f"<= {MAX_REDIS_SLOWDOWN}",
            "facade_memory_hit_us": f"< {MAX_MEMORY_HIT_US:g} (measured {memory_us:.1f})",
            "redis_errors": f"0 (measured {errors})",
            "near_hit_latency_vs_memory_hit": f"<= {MAX_NEAR_VS_MEMORY} (measured {near_vs_memory:.2f}; {near_hits} near hits)",
            "met": slowdown <= MAX_REDIS_SLOWDOWN and memory_us < MAX_MEMORY_HIT_US and errors == 0
            and near_vs_memory <= MAX_NEAR_VS_MEMORY,
        },
    }


def _wait_until_kept(cache: Any, backend: NearCache) -> None:
    """Read until the near cache keeps the key (its listener has subscribed, and no announcement crossed the read)."""
    for _ in range(500):
        if cache.get(KEY) == VALUE and backend.stats().near_hits:
            return
        time.sleep(0.01)
    raise RuntimeError("the near cache never kept the benchmark's key")
