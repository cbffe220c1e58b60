"""The cache port every module sees, and the figures it reports."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable
from typing import Any, Protocol

from modules.infrastructure.domain.lifecycle import Resource


@dataclass(frozen=True)
class CacheStats:
    """Cache calls since start: reads that found a value, reads that did not, and backend failures.

    A read that failed counts as a miss and an error; ``hit_rate`` is hits over reads (0.0 before any).
    """

    backend: str
    hits: int = 0
    misses: int = 0
    errors: int = 0
    hit_rate: float = 0.0
    near_hits: int = 0  # of the hits, those the in-process near cache answered without asking Redis


class Cache(Protocol):
    """Key-value cache. ``str`` in, ``str`` out; ``bytes`` may be stored and read back with ``get_bytes``.

    ``ttl`` is in seconds (``None``: the configured default, else no expiry). Patterns are Redis's
    globs on every backend (``domain/cache/glob.py``). A key that is not a ``str``, a pattern no
    backend can match alike and a bad ``ttl`` raise ``ValueError``.
    """

    def get(self, key: str) -> str | None:
        """The text stored under ``key``; ``None`` on a miss."""
        ...

    def get_bytes(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: str | bytes, ttl: float | None = None) -> None: ...

    def delete(self, key: str) -> bool:
        """Remove ``key``; true when it was there."""
        ...

    def get_json(self, key: str) -> Any:
        """The object stored with ``set_json``; ``None`` on a miss."""
        ...

    def set_json(self, key: str, value: Any, ttl: float | None = None) -> None: ...

    def get_or_set(
        self,
        key: str,
        compute: Callable[[], Any],
        ttl: float | None = None,
        *,
        refresh_ahead: float | None = None,
        lock_ttl: float = 10.0,
        lock_wait: float = 10.0,
    ) -> Any:
        """The JSON value under ``key``, or ``compute()``'s, stored for ``ttl``: one caller computes a missing key at
        a time, in this process and across processes; ``refresh_ahead`` seconds before expiry one caller recomputes."""
        ...

    def invalidate_pattern(self, pattern: str) -> int:
        """Delete every key matching the glob ``pattern``; returns how many were deleted."""
        ...

    def stats(self) -> CacheStats: ...


class CacheBackend(Cache, Resource, Protocol):
    """The shared cache every module's namespace sits on: Redis or the in-process cache."""

    def ping(self) -> float:
        """Milliseconds a round trip takes; raises ``CacheError`` when the backend does not answer."""
        ...

    def describe(self) -> str:
        """Which backend, where, and how full, for the start-up report (no password)."""
        ...

    def with_strict(self, strict: bool = True) -> CacheBackend:
        """The same backend raising ``CacheError`` on failure when ``strict`` (a backend that cannot fail returns itself)."""
        ...
