"""The cache on a private Sentinel group (a master, a replica, three sentinels): it follows the master the sentinels
name, and a master killed under load costs callers misses, never an error."""

from __future__ import annotations

import time
from pathlib import Path

from modules.infrastructure.domain.cache.namespaced import NamespacedCache
from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache
from tests.integration.private_redis_topologies import PrivateSentinelGroup
from tests.integration.redis_load import Load


def eventually(check: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:  # a strict check against a master that is moving
            pass
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.1)


def test_the_cache_follows_the_master_through_a_failover_under_load(tmp_path: Path) -> None:
    with PrivateSentinelGroup(tmp_path) as group:
        backend = RedisCache(group.url, retry_interval=0.2)
        cache = NamespacedCache(backend, "lessons")
        cache.set("lesson:1", "Joins")
        assert cache.get("lesson:1") == "Joins" and "sentinel master 'mymaster'" in backend.describe()
        assert cache.get_or_set("report", lambda: [1, 2]) == [1, 2]
        load = Load()
        load.start(cache)
        try:
            time.sleep(1.0)
            killed = group.kill_master()
            eventually(lambda: group.current_master() != killed, "the sentinels to promote the replica")
            strict = NamespacedCache(RedisCache(group.url, strict=True), "lessons")
            eventually(lambda: strict.set("after", "ok") is None and strict.get("after") == "ok", "writes on the new master")
            time.sleep(1.0)
        finally:
            load.stop()
            backend.close()
        assert load.raised == [], load.raised[:3]
        assert load.calls > 100 and load.misses > 0
        assert strict.get("lesson:1") == "Joins"  # replicated before the failover
        print(f"\nsentinel failover: master {killed} killed, {group.current_master()} promoted; {load.calls} calls, "
              f"{load.misses} misses, 0 errors raised; {backend.stats().errors} failed Redis calls counted")
