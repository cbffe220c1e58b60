"""``Outage``: remembers that a backend is down, so calls fail fast instead of waiting on timeouts."""

from __future__ import annotations

import time
from collections.abc import Callable


class Outage:
    """After ``start(reason)``, ``active()`` is true for ``retry_interval`` seconds; then one call may try again."""

    def __init__(self, retry_interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.retry_interval = retry_interval
        self._clock = clock
        self._until = 0.0
        self.reason = ""

    def start(self, reason: str) -> None:
        self.reason = reason
        self._until = self._clock() + self.retry_interval

    def end(self) -> None:
        self._until = 0.0

    def active(self) -> bool:
        return self._until > 0.0 and self._clock() < self._until
