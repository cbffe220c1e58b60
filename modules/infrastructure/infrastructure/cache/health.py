"""The ``cache`` line of the start-up report."""

from __future__ import annotations

from collections.abc import Callable

from modules.infrastructure.domain.cache.ports import CacheBackend
from modules.infrastructure.domain.errors import CacheError
from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck


class CacheHealthCheck:
    """Backend and round trip: ``ok``; ``degraded`` when Redis is configured but does not answer."""

    name = "cache"

    def __init__(self, cache: Callable[[], CacheBackend]) -> None:
        self._cache = cache

    def check(self) -> ComponentCheck:
        cache = self._cache()
        try:
            latency = cache.ping()
        except CacheError as exc:
            detail = f"{exc}; until it does, reads are misses and writes are skipped"
            return ComponentCheck(self.name, CheckStatus.DEGRADED, detail)
        return ComponentCheck(self.name, CheckStatus.OK, f"{cache.describe()}, round trip {_duration(latency)}")


def _duration(milliseconds: float) -> str:
    """Milliseconds from 1 ms up; microseconds below, where 0.00 ms (the in-memory cache) would say nothing."""
    return f"{milliseconds:.2f} ms" if milliseconds >= 1 else f"{milliseconds * 1000:.1f} µs"
