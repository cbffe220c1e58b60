"""The ``cache`` line of the start-up report."""

from __future__ import annotations

from collections.abc import Callable

from modules.infrastructure.domain.cache.ports import Cache
from modules.infrastructure.domain.errors import CacheError
from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck


class CacheHealthCheck:
    """Backend and round trip: ``ok``; ``degraded`` when Redis is configured but does not answer."""

    name = "cache"

    def __init__(self, cache: Callable[[], Cache]) -> None:
        self._cache = cache

    def check(self) -> ComponentCheck:
        cache = self._cache()
        describe = getattr(cache, "describe", None)
        ping = getattr(cache, "ping", None)
        if describe is None or ping is None:
            return ComponentCheck(self.name, CheckStatus.OK, f"{type(cache).__name__} (not checked)")
        try:
            latency = ping()
        except CacheError as exc:
            detail = f"{exc}; until it does, reads are misses and writes are skipped"
            return ComponentCheck(self.name, CheckStatus.DEGRADED, detail)
        return ComponentCheck(self.name, CheckStatus.OK, f"{describe()}, round trip {_duration(latency)}")


def _duration(milliseconds: float) -> str:
    """Milliseconds from 1 ms up; microseconds below, where 0.00 ms (the in-memory cache) would say nothing."""
    return f"{milliseconds:.2f} ms" if milliseconds >= 1 else f"{milliseconds * 1000:.1f} µs"
