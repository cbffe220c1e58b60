"""The cache contract against the in-memory backend, bare and behind a namespace, on a fake clock."""

from __future__ import annotations

import pytest

from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache
from modules.infrastructure.domain.cache.namespaced import NamespacedCache
from modules.infrastructure.module_api import Cache
from tests.contracts.cache_contract import CacheContract, GetOrSetContract, Wait
from tests.fake_clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def wait(clock: FakeClock) -> Wait:
    return clock.advance


class TestMemoryCache(CacheContract, GetOrSetContract):
    @pytest.fixture
    def cache(self, clock: FakeClock) -> Cache:
        return MemoryCache(clock=clock)


class TestNamespacedMemoryCache(CacheContract, GetOrSetContract):
    @pytest.fixture
    def cache(self, clock: FakeClock) -> Cache:
        return NamespacedCache(MemoryCache(clock=clock), "contract")
