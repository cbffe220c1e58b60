"""``MemoryCache``: the in-process cache (LRU, per-key TTL, thread-safe); also the test fake for ``Cache``."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from modules.infrastructure.domain.cache.glob import compile_glob
from modules.infrastructure.domain.cache.keys import check_key, check_ttl
from modules.infrastructure.domain.cache.ports import CacheStats
from modules.infrastructure.domain.cache.values import encode
from modules.infrastructure.domain.cache.get_or_compute import Lock
from modules.infrastructure.domain.cache.single_flight import SingleFlight
from modules.infrastructure.infrastructure.cache.base import TextAndJson
from modules.infrastructure.infrastructure.cache.compute_once import ComputeOnce
from modules.infrastructure.infrastructure.cache.stats import StatsCounter

_Entry = tuple[bytes, float | None]  # value, expiry on the clock (None: never)


class MemoryCache(ComputeOnce, TextAndJson):
    """Holds at most ``max_items`` keys, dropping the least recently used; never fails.

    ``clock`` (seconds, monotonic) can be injected so tests expire keys without sleeping.
    """

    backend = "memory"

    def __init__(
        self, max_items: int = 10000, default_ttl: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, not {max_items}")
        self.max_items = max_items
        self.default_ttl = check_ttl(default_ttl)
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._stats = StatsCounter(self.backend)
        self._lock = threading.Lock()
        self._flights = SingleFlight()
        self._key_locks: dict[str, tuple[str, float]] = {}  # get_or_set's locks: key -> token, expiry on the clock

    def get_bytes(self, key: str) -> bytes | None:
        """The bytes stored under ``key``; ``None`` on a miss."""
        if type(key) is not str or not key.isascii():  # cheaper than a call on every read; check_key lets a str subclass through
            check_key(key)
        with self._lock:
            value = self._live(key)
            if value is not None:
                self._entries.move_to_end(key)
        self._stats.read(value is not None)
        return value

    def get_bytes_with_ttl(self, key: str) -> tuple[bytes | None, float | None]:
        """The bytes under ``key`` and the seconds they have left (``None``: no expiry); ``(None, None)`` on a miss."""
        value = self.get_bytes(key)
        with self._lock:
            entry = self._entries.get(key)
        expires = entry[1] if entry is not None and value is not None else None
        return value, None if expires is None else max(0.0, expires - self._clock())

    def lock(self, key: str, ttl: float) -> Lock:
        """Take ``key``'s computation lock for ``ttl`` seconds unless another caller holds it (``token`` is then ``None``)."""
        now = self._clock()
        with self._lock:
            held = self._key_locks.get(key)
            if held is not None and held[1] > now:
                return Lock(None)
            token = uuid.uuid4().hex
            self._key_locks[key] = (token, now + ttl)
            if len(self._key_locks) > self.max_items:  # expired locks of keys never asked again
                self._key_locks = {k: v for k, v in self._key_locks.items() if v[1] > now}
        return Lock(token)

    def unlock(self, key: str, token: str) -> None:
        """Release ``key``'s lock if ``token`` still holds it (an expired one may be another caller's now)."""
        with self._lock:
            held = self._key_locks.get(key)
            if held is not None and held[0] == token:
                del self._key_locks[key]

    def set(self, key: str, value: str | bytes, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (``None``: the default TTL, else forever)."""
        data, ttl = encode(value), check_ttl(ttl) or self.default_ttl
        if type(key) is not str or not key.isascii():
            check_key(key)
        expires = None if ttl is None else self._clock() + ttl
        with self._lock:
            self._entries[key] = (data, expires)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_items:
                self._entries.popitem(last=False)

    def delete(self, key: str) -> bool:
        if type(key) is not str or not key.isascii():
            check_key(key)
        with self._lock:
            found = self._live(key) is not None
            self._entries.pop(key, None)
        return found

    def invalidate_pattern(self, pattern: str) -> int:
        """Delete every live key matching the glob ``pattern``, by Redis's rules (``domain/cache/glob.py``)."""
        matches = compile_glob(pattern).fullmatch
        with self._lock:
            matched = [key for key in self._entries if matches(key.encode())]
            deleted = sum(1 for key in matched if self._live(key) is not None)
            for key in matched:
                self._entries.pop(key, None)
        return deleted

    def stats(self) -> CacheStats:
        return self._stats.snapshot()

    def clear(self) -> None:
        """Forget every key (the counters stay)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def ping(self) -> float:
        """Milliseconds a lock round trip takes; the in-memory cache is always there."""
        started = time.perf_counter()
        with self._lock:
            pass
        return (time.perf_counter() - started) * 1000

    def describe(self) -> str:
        return f"in-memory, {len(self)}/{self.max_items} items"

    def __repr__(self) -> str:
        return f"MemoryCache({len(self)}/{self.max_items} items)"

    def with_strict(self, strict: bool = True) -> MemoryCache:
        """Itself: the in-memory cache never fails, strict or not."""
        return self

    def close(self) -> None:
        """Nothing to close: the values live in this process's memory."""

    def after_fork(self) -> None:
        """In a forked child: fresh locks (another thread may have held one at the fork)."""
        self._lock = threading.Lock()
        self._flights.after_fork()
        self._stats.after_fork()

    def _live(self, key: str) -> bytes | None:
        """The value under ``key`` unless it has expired (an expired entry is dropped); call under the lock."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and self._clock() >= expires:
            del self._entries[key]
            return None
        return value
