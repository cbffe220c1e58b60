"""``NearCopies``: the near cache's in-process copies (LRU, per-copy lifetime), and the count of announcements heard
so that a Redis read which raced with one is not kept."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from modules.infrastructure.domain.cache.glob import compile_glob


class NearCopies:
    """At most ``max_items`` copies, each for at most ``ttl`` seconds; usable only while ``listening`` is set."""

    def __init__(self, max_items: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_items = max_items
        self.ttl = ttl
        self.listening = threading.Event()  # set while invalidations are being heard
        self.hits = 0
        self.epoch = 0  # changes at every invalidation heard or made
        self._clock = clock
        # key -> value, when the copy expires, when the value expires in Redis (None: never), on the clock
        self._entries: OrderedDict[str, tuple[bytes, float, float | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bytes, float | None] | None:
        """The live copy of ``key`` and the seconds its value has left in Redis (``None``: no expiry), if there is a
        copy and invalidations are being heard."""
        if not self.listening.is_set():
            return None
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            value, expires, remote_expires = entry
            if expires <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        return value, None if remote_expires is None else max(0.0, remote_expires - now)

    def keep(self, key: str, value: bytes, remaining: float | None, epoch: int) -> None:
        """Keep ``value`` (read or written when ``epoch`` was current) unless an invalidation came in since."""
        lifetime = self.ttl if remaining is None else min(self.ttl, remaining)
        now = self._clock()
        with self._lock:
            if not self.listening.is_set() or epoch != self.epoch or lifetime <= 0:
                return
            self._entries[key] = (value, now + lifetime, None if remaining is None else now + remaining)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_items:
                self._entries.popitem(last=False)

    def drop(self, key: str | None = None) -> int:
        """Forget ``key``'s copy (``None``: none is dropped, but reads in flight are not kept); the new epoch."""
        with self._lock:
            self.epoch += 1
            if key is not None:
                self._entries.pop(key, None)
            return self.epoch

    def drop_matching(self, pattern: str) -> None:
        matches = compile_glob(pattern).fullmatch
        with self._lock:
            self.epoch += 1
            for key in [key for key in self._entries if matches(key.encode())]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self.epoch += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def after_fork(self) -> None:
        """In a forked child: fresh locks, no copies, not listening until its own listener subscribes."""
        self._lock = threading.Lock()
        self._entries = OrderedDict()
        self.listening = threading.Event()
