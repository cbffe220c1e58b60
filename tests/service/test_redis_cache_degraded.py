"""``RedisCache`` when Redis fails, with redis-py mocked at its boundary: misses, no-ops, one warning, strict errors."""

from __future__ import annotations

import logging
from unittest.mock import MagicMock

import pytest
import redis
from pytest_mock import MockerFixture
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from modules.infrastructure.infrastructure.cache.health import CacheHealthCheck
from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache
from modules.infrastructure.module_api import CacheError, CheckStatus
from tests.fake_clock import FakeClock

PASSWORD = "s3cret-Pa55"
URL = f"redis://app:{PASSWORD}@cache.internal:6379/0"
MASKED = "redis://app:****@cache.internal:6379/0"
LOGGER = "modules.infrastructure.infrastructure.cache.redis_cache"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=[RedisConnectionError, RedisTimeoutError])
def failing(request: pytest.FixtureRequest, mocker: MockerFixture) -> MagicMock:
    """Every Redis command raises the driver's connection or timeout error."""
    error = request.param(f"Error connecting to cache.internal:6379 as app with {PASSWORD}")
    return mocker.patch.object(redis.Redis, "execute_command", side_effect=error)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def test_reads_are_misses_and_writes_are_no_ops(failing: MagicMock, clock: FakeClock) -> None:
    cache = RedisCache(URL, clock=clock)
    assert cache.get("k") is None
    assert cache.get_json("k") is None
    assert cache.get_bytes("k") is None
    cache.set("k", "v", ttl=5)
    cache.set_json("k", {"a": 1})
    assert cache.delete("k") is False
    assert cache.invalidate_pattern("*") == 0
    stats = cache.stats()
    assert (stats.backend, stats.hits, stats.misses, stats.errors, stats.hit_rate) == ("redis", 0, 3, 7, 0.0)


def test_one_warning_per_30_seconds_with_the_masked_url(
    failing: MagicMock, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    cache = RedisCache(URL, clock=clock)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    for _ in range(50):
        cache.get("k")
        clock.advance(0.5)  # 25 s in all
    assert len(warnings(caplog)) == 1
    first = warnings(caplog)[0]
    assert MASKED in first and "'k'" in first and "reads are misses and writes are skipped" in first.lower()
    clock.advance(5)
    cache.set("k", "v")
    assert len(warnings(caplog)) == 2
    assert "49 more failure(s) since the last warning" in warnings(caplog)[1]
    assert PASSWORD not in caplog.text
    assert cache.stats().errors == 51


def test_after_a_connection_failure_calls_skip_redis_for_the_retry_interval(
    failing: MagicMock, clock: FakeClock
) -> None:
    cache = RedisCache(URL, clock=clock, retry_interval=1.0)
    for _ in range(10):
        assert cache.get("k") is None
    assert failing.call_count == 1, "a down Redis must not cost a timeout per call"
    assert cache.stats().errors == 10
    clock.advance(1.0)
    cache.get("k")
    assert failing.call_count == 2


def test_a_command_error_degrades_without_skipping_redis(mocker: MockerFixture, clock: FakeClock) -> None:
    command = mocker.patch.object(redis.Redis, "execute_command", side_effect=ResponseError("OOM command not allowed"))
    cache = RedisCache(URL, clock=clock)
    cache.set("k", "v")
    cache.set("k", "v")
    assert command.call_count == 2
    assert cache.stats().errors == 2


def test_strict_raises_a_chained_cache_error_without_the_password(failing: MagicMock, clock: FakeClock) -> None:
    cache = RedisCache(URL, clock=clock, strict=True)
    with pytest.raises(CacheError) as raised:
        cache.get("lesson:1")
    message = str(raised.value)
    assert isinstance(raised.value.__cause__, (RedisConnectionError, RedisTimeoutError))
    assert MASKED in message and "'lesson:1'" in message
    assert "REDIS_URL" in message and "strict=True" in message
    assert PASSWORD not in message
    assert cache.stats().errors == 1


def test_strict_calls_go_to_redis_even_during_an_outage(failing: MagicMock, clock: FakeClock) -> None:
    cache = RedisCache(URL, clock=clock)
    cache.get("k")
    strict = cache.with_strict()
    for _ in range(3):
        with pytest.raises(CacheError):
            strict.set("k", "v")
    assert failing.call_count == 4
    assert cache.stats().errors == 4, "a strict view shares the backend's counters"


def test_the_health_check_reports_degraded_with_the_masked_url_and_reason(failing: MagicMock) -> None:
    check = CacheHealthCheck(lambda: RedisCache(URL)).check()
    assert check.status is CheckStatus.DEGRADED
    assert MASKED in check.detail and "did not answer PING" in check.detail
    assert "Error" in check.detail and PASSWORD not in check.detail


def test_the_health_check_reports_ok_with_the_round_trip(mocker: MockerFixture) -> None:
    mocker.patch.object(redis.Redis, "execute_command", return_value=True)
    check = CacheHealthCheck(lambda: RedisCache(URL)).check()
    assert check.status is CheckStatus.OK
    assert check.detail.startswith(f"redis {MASKED}, round trip ")


def test_close_disconnects_the_pool_and_after_fork_resets_it(mocker: MockerFixture) -> None:
    cache = RedisCache(URL)
    disconnect = mocker.spy(redis.ConnectionPool, "disconnect")
    reset = mocker.spy(redis.ConnectionPool, "reset")
    cache.after_fork()
    assert reset.call_count == 1 and disconnect.call_count == 0
    cache.close()
    assert disconnect.call_count == 1


def test_the_pool_fails_fast(mocker: MockerFixture) -> None:
    cache = RedisCache("rediss://app:pw@cache.internal:6380/2", socket_timeout=0.25)
    pool = cache._client.connection_pool  # type: ignore[union-attr]
    kwargs = pool.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (0.25, 0.25)
    assert kwargs["retry"].get_retries() == 1
    assert pool.connection_class is redis.SSLConnection
    assert "pw" not in repr(cache)
