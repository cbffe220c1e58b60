"""Thread-safe hit, miss and error counters behind ``Cache.stats()``."""

from __future__ import annotations

import threading

from modules.infrastructure.domain.cache.ports import CacheStats


class StatsCounter:
    """Counts reads and failures of one backend; ``snapshot()`` gives the public ``CacheStats``."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self._hits = self._misses = self._errors = 0
        self._lock = threading.Lock()

    def read(self, found: bool) -> None:
        with self._lock:
            if found:
                self._hits += 1
            else:
                self._misses += 1

    def error(self) -> None:
        with self._lock:
            self._errors += 1

    def snapshot(self) -> CacheStats:
        with self._lock:
            hits, misses, errors = self._hits, self._misses, self._errors
        reads = hits + misses
        return CacheStats(self.backend, hits, misses, errors, hits / reads if reads else 0.0)

    def after_fork(self) -> None:
        self._lock = threading.Lock()
