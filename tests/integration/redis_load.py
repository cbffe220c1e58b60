"""Cache traffic for failover tests: threads reading and writing keys until told to stop, counting what they saw."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from modules.infrastructure.module_api import Cache


@dataclass
class Load:
    """What the callers saw: calls made, misses, and any exception a call raised (there should be none)."""

    calls: int = 0
    misses: int = 0
    raised: list[BaseException] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self, cache: Cache, threads: int = 8, keys: int = 200) -> None:
        for _ in range(threads):
            thread = threading.Thread(target=self._run, args=(cache, keys), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self, cache: Cache, keys: int) -> None:
        while not self._stop.is_set():
            key = f"load:{random.randrange(keys)}"
            try:
                missed = cache.get(key) is None
                if missed:
                    cache.set(key, "value", ttl=60)
            except BaseException as exc:  # the promise under test: a caller never sees one
                with self._lock:
                    self.raised.append(exc)
                return
            with self._lock:
                self.calls += 1
                self.misses += missed
