"""``MemoryCache``: LRU bound, TTL on an injected clock, JSON, patterns, stats and thread safety."""

from __future__ import annotations

import random
import threading

import pytest

from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache
from tests.fake_clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_the_least_recently_used_key_goes_first(clock: FakeClock) -> None:
    cache = MemoryCache(max_items=3, clock=clock)
    for key in ("a", "b", "c"):
        cache.set(key, key)
    cache.get("a")  # "a" is now the most recently used; "b" the least
    cache.set("d", "d")
    assert cache.get("b") is None
    assert [cache.get(k) for k in ("a", "c", "d")] == ["a", "c", "d"]
    assert len(cache) == 3


def test_overwriting_refreshes_a_key(clock: FakeClock) -> None:
    cache = MemoryCache(max_items=2, clock=clock)
    cache.set("a", "1")
    cache.set("b", "1")
    cache.set("a", "2")
    cache.set("c", "1")
    assert cache.get("a") == "2" and cache.get("b") is None


def test_a_key_expires_exactly_at_its_ttl(clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    cache.set("k", "v", ttl=10)
    clock.advance(9.999)
    assert cache.get("k") == "v"
    clock.advance(0.001)
    assert cache.get("k") is None
    assert len(cache) == 0, "an expired key is dropped when read"


def test_the_default_ttl_applies_when_set_gives_none(clock: FakeClock) -> None:
    cache = MemoryCache(default_ttl=5, clock=clock)
    cache.set("default", "v")
    cache.set("own", "v", ttl=60)
    clock.advance(5)
    assert cache.get("default") is None and cache.get("own") == "v"


def test_max_items_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_items"):
        MemoryCache(max_items=0)


def test_json_round_trip(clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    cache.set_json("lesson", {"id": 1, "tags": ["a"], "title": "Ünïcode"})
    assert cache.get_json("lesson") == {"id": 1, "tags": ["a"], "title": "Ünïcode"}


def test_invalidate_pattern_counts_live_keys_only(clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    cache.set("s:1", "v", ttl=1)
    cache.set("s:2", "v")
    cache.set("t:1", "v")
    clock.advance(2)
    assert cache.invalidate_pattern("s:*") == 1
    assert len(cache) == 1 and cache.get("t:1") == "v"


def test_stats_and_hit_rate(clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    assert cache.stats().hit_rate == 0.0
    cache.set("k", "v")
    for key in ("k", "k", "k", "absent"):
        cache.get(key)
    stats = cache.stats()
    assert (stats.backend, stats.hits, stats.misses, stats.errors) == ("memory", 3, 1, 0)
    assert stats.hit_rate == 0.75


def test_clear_forgets_keys_but_keeps_counters(clock: FakeClock) -> None:
    cache = MemoryCache(clock=clock)
    cache.set("k", "v")
    cache.get("k")
    cache.clear()
    assert cache.get("k") is None and cache.stats().hits == 1


def test_describe_and_ping_for_the_report() -> None:
    cache = MemoryCache(max_items=50)
    cache.set("k", "v")
    assert cache.describe() == "in-memory, 1/50 items"
    assert cache.ping() >= 0


def test_threads_sharing_the_cache_keep_it_consistent() -> None:
    cache = MemoryCache(max_items=64)
    reads_per_thread, errors = 2000, []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for i in range(reads_per_thread):
                key = f"k{rng.randrange(200)}"
                if rng.random() < 0.5:
                    cache.set(key, str(i), ttl=rng.choice([None, 30]))
                if rng.random() < 0.05:
                    cache.invalidate_pattern("k1*")
                cache.get(key)
        except Exception as exc:  # collected: an exception in a thread would otherwise pass unnoticed
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 64
    stats = cache.stats()
    assert stats.hits + stats.misses == 8 * reads_per_thread


def test_after_fork_gives_fresh_locks() -> None:
    cache = MemoryCache()
    cache._lock.acquire()  # as if another thread held it when the process forked
    cache.after_fork()
    cache.set("k", "v")
    assert cache.get("k") == "v"
