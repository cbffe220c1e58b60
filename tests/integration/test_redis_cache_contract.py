"""The cache contract against the real Redis, each test in a namespace of its own, cleaned up after."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from modules.infrastructure.domain.cache.namespaced import NamespacedCache
from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache
from modules.infrastructure.module_api import Cache
from tests.contracts.cache_contract import CacheContract, GetOrSetContract, Wait


@pytest.fixture
def wait() -> Wait:
    return time.sleep


class TestRedisCache(CacheContract, GetOrSetContract):
    @pytest.fixture
    def cache(self, redis_url: str) -> Iterator[Cache]:
        backend = RedisCache(redis_url, strict=True)  # strict: a Redis failure fails the test, not a silent miss
        cache = NamespacedCache(backend, f"contract-{uuid.uuid4().hex}")
        try:
            yield cache
        finally:
            cache.invalidate_pattern("*")
            backend.close()
