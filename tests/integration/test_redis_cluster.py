"""The cache, its get_or_set locks, the near cache and the shared rate limits on a private three-master Redis Cluster;
a master killed under load costs callers misses, never an error."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modules.infrastructure.domain.cache.namespaced import NamespacedCache
from modules.infrastructure.infrastructure.cache.near_cache import NearCache
from modules.infrastructure.infrastructure.cache.near_copies import NearCopies
from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache
from modules.infrastructure.infrastructure.cache.redis_pool import build_client
from modules.infrastructure.infrastructure.shared_limits.redis_rate_limit import RedisRateLimiter
from modules.infrastructure.module_api import InfrastructureService
from tests.integration.private_redis_topologies import PrivateRedisCluster
from tests.integration.redis_load import Load


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedisCluster]:
    with PrivateRedisCluster(tmp_path_factory.mktemp("cluster")) as private:
        yield private


@pytest.fixture
def cache(cluster: PrivateRedisCluster) -> Iterator[NamespacedCache]:
    backend = RedisCache(cluster.url, strict=True)
    namespaced = NamespacedCache(backend, "lessons")
    yield namespaced
    namespaced.invalidate_pattern("*")
    backend.close()


def eventually(check: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.05)


def test_keys_spread_over_every_master(cluster: PrivateRedisCluster, cache: NamespacedCache) -> None:
    for n in range(300):
        cache.set(f"lesson:{n}", str(n))
    per_master = cluster.keys_per_master()
    assert len(per_master) == 3 and all(count >= 50 for count in per_master.values()), per_master
    assert [cache.get(f"lesson:{n}") for n in range(0, 300, 37)] == [str(n) for n in range(0, 300, 37)]


def test_pattern_invalidation_reaches_every_master(cluster: PrivateRedisCluster, cache: NamespacedCache) -> None:
    for n in range(200):
        cache.set(f"draft:{n}", "x")
        cache.set(f"kept:{n}", "y")
    assert cache.invalidate_pattern("draft:*") == 200
    assert all(cache.get(f"draft:{n}") is None for n in range(200))
    assert cache.get("kept:7") == "y"


def test_get_or_set_locks_and_values_live_in_other_slots(cache: NamespacedCache) -> None:
    calls: list[int] = []
    for _ in range(3):
        assert cache.get_or_set("report", lambda: calls.append(1) or {"rows": 3}, ttl=30, refresh_ahead=5) == {"rows": 3}
    assert calls == [1]


def test_compressed_values_read_back(cluster: PrivateRedisCluster) -> None:
    backend = RedisCache(cluster.url, strict=True, compress_min_bytes=100)
    try:
        backend.set("big", "lesson text " * 1000)
        assert backend.get("big") == "lesson text " * 1000
    finally:
        backend.delete("big")
        backend.close()


def test_the_near_cache_hears_writes_through_the_cluster(cluster: PrivateRedisCluster) -> None:
    first = NearCache(RedisCache(cluster.url), NearCopies(100, 30))
    second = NearCache(RedisCache(cluster.url), NearCopies(100, 30))
    try:
        eventually(lambda: first._copies.listening.is_set() and second._copies.listening.is_set(), "the listeners")
        first.set("hot", "v1")
        eventually(lambda: second.get("hot") == "v1" and len(second._copies) == 1, "a copy")
        first.set("hot", "v2")
        eventually(lambda: second.get("hot") == "v2", "the write to reach the copy")
    finally:
        first.delete("hot")
        first.close()
        second.close()


def test_the_shared_rate_limit_updates_its_buckets_in_one_slot(cluster: PrivateRedisCluster) -> None:
    limiter = RedisRateLimiter(build_client(cluster.url, 1.0), "llm:ratelimit:fake:cluster", rpm=3, tpm=1000)
    waits = [limiter.reserve(10) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0] and waits[3] > 0  # shared in Redis: no CROSSSLOT, no fallback to local


def test_the_facade_runs_on_the_cluster(cluster: PrivateRedisCluster, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", cluster.url)
    InfrastructureService.reset()
    cache = InfrastructureService.get_cache("facade")
    cache.set_json("k", {"a": 1})
    assert cache.get_json("k") == {"a": 1} and cache.delete("k")
    assert "cluster via 127.0.0.1" in str(InfrastructureService.validate_environment())


def test_a_master_killed_under_load_costs_misses_never_an_error(tmp_path: Path) -> None:
    with PrivateRedisCluster(tmp_path) as cluster:
        backend = RedisCache(cluster.url, retry_interval=0.2)
        cache = NamespacedCache(backend, "failover")
        load = Load()
        load.start(cache)
        try:
            time.sleep(1.0)
            before = load.calls
            killed = cluster.kill_master_of(b"failover:load:1")
            time.sleep(6.0)  # the replica takes over in about two seconds
            eventually(lambda: cluster.healthy(), "the replica to take the slots over")
            during = load.calls - before
            check = NamespacedCache(RedisCache(cluster.url, strict=True), "failover")
            eventually(lambda: check.set("after", "ok") is None and check.get("after") == "ok", "writes to every slot")
        finally:
            load.stop()
            backend.close()
        assert load.raised == [], load.raised[:3]
        assert during > 100 and load.misses > 0
        assert killed not in cluster.master_ports()
        print(f"\ncluster failover: master {killed} killed; {load.calls} calls, {load.misses} misses, 0 errors raised; "
              f"{backend.stats().errors} failed Redis calls counted")


def test_a_cluster_that_is_down_at_start_up_costs_misses_not_the_start(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis+cluster://127.0.0.1:1,127.0.0.1:2")
    InfrastructureService.reset()
    cache = InfrastructureService.get_cache("down")
    assert cache.get("k") is None and cache.get_or_set("k", lambda: "computed") == "computed"
    assert cache.stats().errors >= 1
    limiter = RedisRateLimiter(build_client("redis+cluster://127.0.0.1:1", 0.2), "llm:ratelimit:fake:down", rpm=2, tpm=None)
    assert [limiter.reserve(1) for _ in range(2)] == [0.0, 0.0]  # this process's own bucket takes over
