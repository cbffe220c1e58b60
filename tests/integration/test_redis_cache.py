"""The cache on the real Redis through the facade: round trip, TTL, namespaces, patterns, and a Redis that is down."""

from __future__ import annotations

import json
import multiprocessing
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from pytest_mock import MockerFixture

from modules.infrastructure.module_api import CheckStatus, InfrastructureService

pytestmark = pytest.mark.usefixtures("clean_env")

DOWN_PASSWORD = "down-Pa55-7c1"
DOWN_URL = f"redis://app:{DOWN_PASSWORD}@127.0.0.1:1/0"


@pytest.fixture
def facade_on_redis(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """The facade on the test Redis; yields a raw client to look behind it. Namespaces are unique per test."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    raw = redis.Redis.from_url(redis_url, socket_timeout=3)
    try:
        yield raw
    finally:
        raw.close()


@pytest.fixture
def namespace(facade_on_redis: redis.Redis) -> Iterator[str]:
    name = f"it-{uuid.uuid4().hex}"
    yield name
    InfrastructureService.get_cache(name).invalidate_pattern("*")


def test_round_trip_through_the_facade(facade_on_redis: redis.Redis, namespace: str) -> None:
    cache = InfrastructureService.get_cache(namespace)
    cache.set("greeting", "grüß dich")
    cache.set_json("lesson:1", {"title": "Joins", "tags": ["sql"]})
    assert cache.get("greeting") == "grüß dich"
    assert cache.get_json("lesson:1") == {"title": "Joins", "tags": ["sql"]}
    assert facade_on_redis.get(f"{namespace}:greeting") == "grüß dich".encode()
    assert json.loads(facade_on_redis.get(f"{namespace}:lesson:1")) == {"title": "Joins", "tags": ["sql"]}
    stats = cache.stats()
    assert (stats.backend, stats.hits, stats.errors) == ("redis", 2, 0)


def test_a_value_expires_after_its_ttl(facade_on_redis: redis.Redis, namespace: str) -> None:
    cache = InfrastructureService.get_cache(namespace)
    cache.set("session", "v", ttl=1)
    assert 0 < facade_on_redis.pttl(f"{namespace}:session") <= 1000
    assert cache.get("session") == "v"
    time.sleep(1.2)
    assert cache.get("session") is None


def test_cache_default_ttl_applies(facade_on_redis: redis.Redis, namespace: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_DEFAULT_TTL", "30")
    InfrastructureService.get_cache(namespace).set("k", "v")
    assert 29_000 < facade_on_redis.pttl(f"{namespace}:k") <= 30_000


def test_namespaces_are_isolated(facade_on_redis: redis.Redis, namespace: str) -> None:
    other_name = f"{namespace}-other"
    mine, other = InfrastructureService.get_cache(namespace), InfrastructureService.get_cache(other_name)
    try:
        mine.set("count", "1")
        other.set("count", "2")
        assert (mine.get("count"), other.get("count")) == ("1", "2")
        assert mine.invalidate_pattern("*") == 1
        assert other.get("count") == "2"
    finally:
        other.invalidate_pattern("*")


def test_invalidate_pattern_scans_in_batches_and_never_uses_keys(
    facade_on_redis: redis.Redis, namespace: str, mocker: MockerFixture
) -> None:
    cache = InfrastructureService.get_cache(namespace)
    with facade_on_redis.pipeline(transaction=False) as pipe:
        for n in range(1200):
            pipe.set(f"{namespace}:user:{n}", "v")
        pipe.set(f"{namespace}:lesson:1", "v")
        pipe.execute()
    keys = mocker.spy(redis.Redis, "keys")
    unlink = mocker.spy(redis.Redis, "unlink")
    assert cache.invalidate_pattern("user:*") == 1200
    assert keys.call_count == 0
    assert unlink.call_count >= 3, "1,200 keys go in batches of at most 500"
    assert cache.get("lesson:1") == "v"
    assert not list(facade_on_redis.scan_iter(match=f"{namespace}:user:*"))


def test_an_unreachable_redis_degrades_without_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", DOWN_URL)
    cache = InfrastructureService.get_cache("lessons")
    cache.set("k", "v")
    cache.set_json("j", [1])
    assert cache.get("k") is None and cache.get_json("j") is None
    assert cache.delete("k") is False and cache.invalidate_pattern("*") == 0
    assert cache.stats().errors == 6

    status = InfrastructureService.validate_environment(timeout=5)
    check = status.checks["cache"]
    assert status.is_valid
    assert check.status is CheckStatus.DEGRADED
    assert "redis://app:****@127.0.0.1:1/0" in check.detail and "Connection refused" in check.detail
    assert any(w.startswith("cache: ") for w in status.warnings)
    assert DOWN_PASSWORD not in json.dumps(status.to_dict())


def _child_round_trip(namespace: str, queue: multiprocessing.Queue) -> None:
    cache = InfrastructureService.get_cache(namespace)
    cache.set("from-child", "c")
    queue.put((cache.get("from-parent"), cache.stats().errors))


def test_a_forked_child_opens_its_own_connections(facade_on_redis: redis.Redis, namespace: str) -> None:
    cache = InfrastructureService.get_cache(namespace)
    cache.set("from-parent", "p")  # the parent now holds a pooled connection
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue = context.Queue()
    child = context.Process(target=_child_round_trip, args=(namespace, queue))
    child.start()
    child.join(20)
    assert child.exitcode == 0
    assert queue.get(timeout=5) == ("p", 0)
    assert cache.get("from-child") == "c", "the parent's connection survives the child"
    assert cache.stats().errors == 0
