"""Cache cluster benchmark: a hit through the facade on a private three-master Redis Cluster against a hit on a
private single Redis server, and redis-py's own cluster and single-server GETs beside them.

    python scripts/benchmark.py cache_cluster [--ops 500] [--rounds 15]

Both servers are started for the run on 127.0.0.1 (redis-server from the machine), in a scratch folder, and
stopped at the end; the same 256-byte value, the same key.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import redis
from redis.cluster import RedisCluster

from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache
from modules.infrastructure.module_api import InfrastructureService
from scripts.benchmarks.timing import interleave, ratio
from tests.integration.private_redis import PrivateRedis
from tests.integration.private_redis_topologies import PrivateRedisCluster

NAMESPACE = "benchmark"
KEY = "lesson:42"
VALUE = "x" * 256
MAX_CLUSTER_SLOWDOWN = 1.2


def run(ops: int, rounds: int) -> dict[str, Any]:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "single").mkdir()
        with PrivateRedis(folder / "single") as single, PrivateRedisCluster(folder / "cluster") as cluster:
            single_backend, cluster_backend = RedisCache(single.url), RedisCache(cluster.url)
            with InfrastructureService.override(cache=single_backend):
                single_cache = InfrastructureService.get_cache(NAMESPACE)
            with InfrastructureService.override(cache=cluster_backend):
                cluster_cache = InfrastructureService.get_cache(NAMESPACE)
            raw_single = redis.Redis.from_url(single.url)
            host, port = cluster.url.removeprefix("redis+cluster://").split(",")[0].split(":")
            raw_cluster = RedisCluster(host=host, port=int(port))
            for cache in (single_cache, cluster_cache):
                cache.set(KEY, VALUE, ttl=600)
                assert cache.get(KEY) == VALUE
            raw_key = f"{NAMESPACE}:{KEY}"
            variants = {
                "facade_single_hit": lambda: single_cache.get(KEY),
                "facade_cluster_hit": lambda: cluster_cache.get(KEY),
                "raw_single_get": lambda: raw_single.get(raw_key),
                "raw_cluster_get": lambda: raw_cluster.get(raw_key),
            }
            try:
                results = interleave(variants, ops, rounds)
                errors = single_backend.stats().errors + cluster_backend.stats().errors
            finally:
                raw_single.close()
                raw_cluster.close()
                single_backend.close()
                cluster_backend.close()
    slowdown = 1 / ratio(results, "facade_cluster_hit", "facade_single_hit")
    return {
        "benchmark": "cache_cluster",
        "work": f"GET of one {len(VALUE)}-byte value that is there: private 3-master Cluster vs private single server",
        "results": {name: result.to_dict() for name, result in results.items()},
        "ratios": {
            "facade_cluster_hit_latency_vs_single_hit": round(slowdown, 3),
            "raw_cluster_get_latency_vs_raw_single_get": round(1 / ratio(results, "raw_cluster_get", "raw_single_get"), 3),
            "facade_cluster_hit_latency_vs_raw_cluster_get": round(1 / ratio(results, "facade_cluster_hit", "raw_cluster_get"), 3),
        },
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()},
        "target": {
            "facade_cluster_hit_latency_vs_single_hit": f"<= {MAX_CLUSTER_SLOWDOWN}",
            "redis_errors": f"0 (measured {errors})",
            "met": slowdown <= MAX_CLUSTER_SLOWDOWN and errors == 0,
        },
    }
