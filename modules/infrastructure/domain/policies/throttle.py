"""``Throttle``: lets an event through at most once per interval and counts the ones held back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """``allow()`` is true at most once per ``interval`` seconds of ``clock``; thread-safe."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: float | None = None
        self._held_back = 0
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """True when the interval since the last allowed event has passed (always true the first time)."""
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last < self.interval:
                self._held_back += 1
                return False
            self._last = now
            return True

    def take_held_back(self) -> int:
        """How many events were held back since the last call, resetting the count."""
        with self._lock:
            held, self._held_back = self._held_back, 0
            return held

    def after_fork(self) -> None:
        self._lock = threading.Lock()
