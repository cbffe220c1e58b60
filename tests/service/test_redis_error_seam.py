"""redis-py's exceptions at the cache and the shared LLM limits, with redis-py mocked at its boundary:
every one is a ``CacheError`` (a lost connection a ``CacheConnectionError``), degraded or strict."""

from __future__ import annotations

import logging

import pytest
import redis
from pytest_mock import MockerFixture
from redis.exceptions import ChildDeadlockedError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError

from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache
from modules.infrastructure.infrastructure.shared_limits.redis_rate_limit import RedisRateLimiter
from modules.infrastructure.module_api import CacheConnectionError, CacheError
from tests.fake_clock import FakeClock

URL = "redis://app:s3cret-Pa55@cache.internal:6379/0"


def test_strict_calls_raise_a_connection_error_for_a_lost_connection_and_a_cache_error_otherwise(mocker: MockerFixture) -> None:
    cache = RedisCache(URL, strict=True, clock=FakeClock())
    mocker.patch.object(redis.Redis, "execute_command", side_effect=RedisConnectionError("Connection reset by peer"))
    with pytest.raises(CacheConnectionError, match="REDIS_URL") as lost:
        cache.get("k")
    mocker.patch.object(redis.Redis, "execute_command", side_effect=ResponseError("WRONGTYPE Operation against a key"))
    with pytest.raises(CacheError) as refused:
        cache.get("k")
    assert type(refused.value) is CacheError and isinstance(lost.value.__cause__, RedisConnectionError)


def test_a_redis_exception_outside_redis_error_is_still_a_miss(mocker: MockerFixture) -> None:
    """``ChildDeadlockedError`` (a forked child found the pool locked) is not a ``RedisError``."""
    command = mocker.patch.object(redis.Redis, "execute_command", side_effect=ChildDeadlockedError("pool lock held by parent"))
    cache = RedisCache(URL, clock=FakeClock())
    assert cache.get("k") is None
    cache.set("k", "v")
    assert command.call_count == 2, "not a connection failure: Redis is not skipped"
    assert cache.stats().errors == 2


def test_the_ping_of_a_down_redis_is_a_connection_error(mocker: MockerFixture) -> None:
    mocker.patch.object(redis.Redis, "execute_command", side_effect=RedisConnectionError("Connection refused"))
    with pytest.raises(CacheConnectionError, match="did not answer PING"):
        RedisCache(URL).ping()


def limiter_failing_with(error: Exception, mocker: MockerFixture) -> RedisRateLimiter:
    limiter = RedisRateLimiter(redis.Redis(), "llm:ratelimit:openai:gpt-4o-mini", rpm=2, tpm=None)
    mocker.patch.object(limiter, "_script", side_effect=error)
    return limiter


@pytest.mark.parametrize("error", [RedisConnectionError("Connection refused"), ChildDeadlockedError("pool lock held by parent")])
def test_the_shared_limits_fall_back_to_the_process_buckets_with_one_clear_warning(
    error: Exception, mocker: MockerFixture, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = limiter_failing_with(error, mocker)
    caplog.set_level(logging.WARNING, logger="modules.infrastructure.infrastructure.shared_limits.redis_rate_limit")
    assert [limiter.reserve(1) == 0.0 for _ in range(3)] == [True, True, False]
    [warning] = caplog.records
    assert "llm:ratelimit:openai:gpt-4o-mini" in warning.getMessage() and "REDIS_URL" in warning.getMessage()
    limiter.refund(1)  # falls back too
