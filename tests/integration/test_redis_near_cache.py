"""The near cache on a real Redis: copies served in-process, dropped when another process writes, and never served
while invalidations cannot be heard. Each test has its own private redis-server (pub/sub reaches every database)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from modules.infrastructure.infrastructure.cache.near_cache import CHANNEL, NearCache
from modules.infrastructure.infrastructure.cache.near_copies import NearCopies
from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache
from tests.integration.private_redis import PrivateRedis


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PrivateRedis]:
    with PrivateRedis(tmp_path) as private:
        yield private


def near(url: str, max_items: int = 100, ttl: float = 30.0) -> NearCache:
    cache = NearCache(RedisCache(url, retry_interval=0.05), NearCopies(max_items, ttl))
    eventually(lambda: cache._copies.listening.is_set(), "the listener to subscribe")
    return cache


def eventually(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.01)


@pytest.fixture
def pair(server: PrivateRedis) -> Iterator[tuple[NearCache, NearCache]]:
    """Two near caches with their own connections and listeners: two processes, as far as Redis can tell."""
    first, second = near(server.url), near(server.url)
    yield first, second
    first.close()
    second.close()


def test_a_hot_key_is_read_from_the_process_after_the_first_read(pair: tuple[NearCache, NearCache], server: PrivateRedis) -> None:
    writer, reader = pair
    writer.set("lesson:1", "Joins", ttl=60)
    # From Redis, then kept (a read that crossed the writer's announcement is not kept: read again).
    eventually(lambda: reader.get("lesson:1") == "Joins" and len(reader._copies) == 1, "a copy")
    redis.Redis.from_url(server.url).set("lesson:1", "changed behind the cache's back")
    before = reader.stats()
    assert [reader.get("lesson:1") for _ in range(3)] == ["Joins"] * 3  # the copy: Redis is not asked
    after = reader.stats()
    assert after.near_hits - before.near_hits == 3 and after.hits - before.hits == 3 and after.misses == before.misses


def test_a_write_in_another_process_reaches_every_copy(pair: tuple[NearCache, NearCache]) -> None:
    writer, reader = pair
    writer.set_json("lesson:1", {"v": 1})
    assert reader.get_json("lesson:1") == {"v": 1}
    writer.set_json("lesson:1", {"v": 2})
    eventually(lambda: reader.get_json("lesson:1") == {"v": 2}, "the new value")
    writer.delete("lesson:1")
    eventually(lambda: reader.get_json("lesson:1") is None, "the delete")


def test_a_pattern_invalidation_reaches_every_copy(pair: tuple[NearCache, NearCache]) -> None:
    writer, reader = pair
    for n in range(3):
        writer.set(f"lesson:{n}", str(n))
        reader.get(f"lesson:{n}")
    writer.set("other", "kept")
    reader.get("other")
    assert writer.invalidate_pattern("lesson:*") == 3
    eventually(lambda: [reader.get(f"lesson:{n}") for n in range(3)] == [None] * 3, "the pattern's keys to go")
    assert reader.get("other") == "kept"


def test_a_copy_never_outlives_the_value_in_redis(server: PrivateRedis) -> None:
    cache = near(server.url, ttl=30)
    try:
        cache.set("short", "lived", ttl=0.3)
        other = near(server.url, ttl=30)
        assert other.get("short") == "lived"
        time.sleep(0.35)
        assert other.get("short") is None and cache.get("short") is None
        other.close()
    finally:
        cache.close()


def test_copies_are_bounded_in_number_and_time(server: PrivateRedis) -> None:
    cache = near(server.url, max_items=3, ttl=0.2)
    try:
        for n in range(10):
            cache.set(f"k{n}", str(n))
        for n in range(10):
            cache.get(f"k{n}")
            assert len(cache._copies) <= 3
        eventually(lambda: [cache.get(f"k{n}") for n in (7, 8, 9)] == ["7", "8", "9"] and len(cache._copies) == 3, "three copies")
        time.sleep(0.25)
        before = cache.stats().near_hits
        assert cache.get("k9") == "9" and cache.stats().near_hits == before  # expired here: read from Redis
    finally:
        cache.close()


def test_a_message_it_does_not_know_clears_the_copies_and_the_listener_lives_on(pair: tuple[NearCache, NearCache], server: PrivateRedis) -> None:
    writer, reader = pair
    writer.set("k", "v")
    eventually(lambda: reader.get("k") == "v" and len(reader._copies) == 1, "a copy")
    raw = redis.Redis.from_url(server.url)
    raw.publish(CHANNEL, b"\xff\xfe not an announcement")
    eventually(lambda: len(reader._copies) == 0, "the copies to be cleared")
    writer.set("k", "v2")
    eventually(lambda: reader.get("k") == "v2", "the listener to keep working")


def test_while_redis_is_away_nothing_is_served_from_copies_and_they_resume_after(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path).__enter__()
    cache = near(server.url)
    try:
        cache.set("k", "before")
        eventually(lambda: cache.get("k") == "before" and len(cache._copies) == 1, "a copy")
        server.__exit__(None, None, None)  # Redis goes away: a write elsewhere could go unheard
        eventually(lambda: not cache._copies.listening.is_set(), "the listener to notice")
        assert cache.get("k") is None  # a miss from Redis, not the copy
        server.__enter__()  # back, empty, on the same port
        redis.Redis.from_url(server.url).set("k", "after")
        eventually(lambda: cache._copies.listening.is_set(), "the listener to subscribe again", timeout=15)
        eventually(lambda: cache.get("k") == "after", "the value written while away")
        assert cache.get("k") == "after" and cache.stats().near_hits >= 1
    finally:
        cache.close()
        server.__exit__(None, None, None)


def test_the_facade_puts_a_near_cache_in_front_of_redis_when_asked(server: PrivateRedis, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modules.infrastructure.module_api import InfrastructureService

    monkeypatch.setenv("REDIS_URL", server.url)
    monkeypatch.setenv("CACHE_NEAR_MAX_ITEMS", "100")
    monkeypatch.setenv("CACHE_NEAR_TTL", "2")
    InfrastructureService.reset()
    cache = InfrastructureService.get_cache("lessons")
    cache.set_json("lesson:1", {"title": "Joins"})
    eventually(lambda: cache.get_json("lesson:1") == {"title": "Joins"} and cache.stats().near_hits > 0, "a near hit")
    assert cache.get_or_set("lesson:2", lambda: ["computed"]) == ["computed"]
    report = InfrastructureService.validate_environment()
    assert "near cache" in str(report)
    InfrastructureService.reset()
    eventually(lambda: not any(t.name == "near-cache-listener" and t.is_alive() for t in __import__("threading").enumerate()), "the listener to stop")


def test_refresh_ahead_sees_the_value_s_time_left_through_a_copy(server: PrivateRedis) -> None:
    cache = near(server.url, ttl=30)
    try:
        versions = iter(range(1, 10))
        assert cache.get_or_set("rates", lambda: next(versions), ttl=3, refresh_ahead=2) == 1
        eventually(lambda: cache.get_or_set("rates", lambda: next(versions), ttl=3, refresh_ahead=2) == 1 and len(cache._copies) == 1, "a copy")
        time.sleep(1.2)  # 1.8 s left in Redis: the copy knows it
        assert cache.get_or_set("rates", lambda: next(versions), ttl=3, refresh_ahead=2) == 2
    finally:
        cache.close()


def test_a_subscription_redis_py_reconnected_serves_no_copy_it_may_have_missed_an_announcement_for(
    pair: tuple[NearCache, NearCache], server: PrivateRedis
) -> None:
    writer, reader = pair
    writer.set("k", "v1", ttl=600)
    eventually(lambda: reader.get("k") == "v1" and len(reader._copies) == 1, "a copy")
    raw = redis.Redis.from_url(server.url)
    atomically = raw.pipeline(transaction=True)  # the subscription drops, a write is announced while it is down
    atomically.client_kill_filter(_type="pubsub")
    atomically.set("k", "v2", px=600_000)
    atomically.publish(CHANNEL, b"another-process kk")
    atomically.execute()
    eventually(lambda: reader.get("k") == "v2", "the reader to drop the copy it could not hear about")
    writer.set("k", "v3")
    eventually(lambda: reader.get("k") == "v3", "announcements to be heard again")


def test_a_read_of_the_old_value_racing_a_write_in_the_same_process_is_not_kept(server: PrivateRedis) -> None:
    inner = RedisCache(server.url)
    cache = NearCache(inner, NearCopies(100, 60.0))
    try:
        eventually(lambda: cache._copies.listening.is_set(), "the listener")
        inner.set("k", "v0", 600)
        read_old, written = threading.Event(), threading.Event()
        real = inner.get_bytes_with_ttl

        def slow_read(key: str) -> tuple[bytes | None, float | None]:
            value = real(key)  # the old value, then the thread is descheduled until the write is done
            read_old.set()
            written.wait(5)
            return value

        inner.get_bytes_with_ttl = slow_read  # type: ignore[method-assign]
        reader = threading.Thread(target=lambda: cache.get("k"))
        reader.start()
        assert read_old.wait(5)
        inner.get_bytes_with_ttl = real  # type: ignore[method-assign]
        cache.set("k", "v1", ttl=600)
        written.set()
        reader.join(5)
        assert cache.get("k") == "v1" and redis.Redis.from_url(server.url).get("k") == b"v1"
    finally:
        cache.close()


def test_a_write_redis_refused_is_not_kept_as_a_copy(pair: tuple[NearCache, NearCache], server: PrivateRedis) -> None:
    writer, reader = pair
    writer.set("price", "10", ttl=600)
    raw = redis.Redis.from_url(server.url)
    raw.config_set("maxmemory-policy", "noeviction")  # the private server only
    raw.config_set("maxmemory", int(raw.info("memory")["used_memory"]) + 1024)
    writer.set("price", "12" + " " * 200_000, ttl=600)  # OOM: skipped, counted
    assert writer.stats().errors == 1
    assert writer.get("price") == "10" == reader.get("price") and raw.get("price") == b"10"
