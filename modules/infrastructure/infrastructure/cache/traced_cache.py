"""Spans around the calls that reach Redis: each is a network round trip worth seeing in a trace.

The in-process cache is not wrapped: its calls take microseconds, less than the span would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from modules.infrastructure.domain.cache.ports import CacheBackend, CacheStats
from modules.infrastructure.domain.tracing.ports import Tracer

T = TypeVar("T")
_REDIS = {"db.system.name": "redis"}
_GET, _SET, _DEL = ({**_REDIS, "db.operation.name": name} for name in ("GET", "SET", "DEL"))


class TracedCache:
    """``cache`` with a client span per read, write, delete and pattern invalidation (the key is never recorded)."""

    def __init__(self, cache: CacheBackend, tracer: Tracer) -> None:
        self._cache = cache
        self._tracer = tracer

    def get(self, key: str) -> str | None:
        return self._read(self._cache.get, key)

    def get_bytes(self, key: str) -> bytes | None:
        return self._read(self._cache.get_bytes, key)

    def get_json(self, key: str) -> Any:
        return self._read(self._cache.get_json, key)

    def get_bytes_with_ttl(self, key: str) -> tuple[bytes | None, float | None]:
        with self._tracer.span("GET", "client", _GET) as span:
            value, remaining = self._cache.get_bytes_with_ttl(key)  # type: ignore[attr-defined]
            span.set_attributes({"infrastructure.cache.hit": value is not None})
            return value, remaining

    def __getattr__(self, name: str) -> Any:
        """What a near cache needs of Redis beyond the port (locks, pub/sub, the default TTL), untraced."""
        return getattr(self._cache, name)

    def set(self, key: str, value: str | bytes, ttl: float | None = None) -> None:
        with self._tracer.span("SET", "client", _SET):
            self._cache.set(key, value, ttl)

    def write(self, key: str, value: str | bytes, ttl: float | None = None) -> bool:
        with self._tracer.span("SET", "client", _SET):
            return bool(self._cache.write(key, value, ttl))  # type: ignore[attr-defined]

    def set_json(self, key: str, value: Any, ttl: float | None = None) -> None:
        with self._tracer.span("SET", "client", _SET):
            self._cache.set_json(key, value, ttl)

    def delete(self, key: str) -> bool:
        with self._tracer.span("DEL", "client", _DEL):
            return self._cache.delete(key)

    def get_or_set(self, key: str, compute: Callable[[], Any], ttl: float | None = None, **options: Any) -> Any:
        """One span for the whole call: its reads, lock and write, and the computation when there is one."""
        with self._tracer.span("get_or_set", "client", {**_REDIS, "db.operation.name": "GET+SET"}):
            return self._cache.get_or_set(key, compute, ttl, **options)

    def _read(self, read: Callable[[str], T], key: str) -> T:
        with self._tracer.span("GET", "client", _GET) as span:
            value = read(key)
            span.set_attributes({"infrastructure.cache.hit": value is not None})
            return value

    def invalidate_pattern(self, pattern: str) -> int:
        with self._tracer.span("invalidate_pattern", "client", {**_REDIS, "db.operation.name": "SCAN+DEL"}) as span:
            removed = self._cache.invalidate_pattern(pattern)
            span.set_attributes({"infrastructure.cache.removed": removed})
            return removed

    def stats(self) -> CacheStats:
        return self._cache.stats()

    def ping(self) -> float:
        return self._cache.ping()

    def describe(self) -> str:
        return self._cache.describe()

    def with_strict(self, strict: bool = True) -> CacheBackend:
        return TracedCache(self._cache.with_strict(strict), self._tracer)

    def close(self) -> None:
        self._cache.close()

    def after_fork(self) -> None:
        self._cache.after_fork()
