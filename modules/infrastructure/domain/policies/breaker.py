"""A circuit breaker: after N consecutive failures a provider is skipped until a cool-down passes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    """Closed (calls go through), open (fail fast), then half-open: one trial call decides."""

    def __init__(self, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False  # a half-open trial call is out: its failure opens the breaker again
        self.openings = 0  # times it opened, a failed trial's reopening included: what an alert counts
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """True when a call may go out: closed, or open long enough for a trial."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._clock() - self._opened_at >= self.cooldown:
                self._opened_at = self._clock()  # half-open: this caller tries, others wait another cool-down
                self._trial = True
                return True
            return False

    def retry_in(self) -> float:
        """Seconds until the next trial call is allowed (0 when closed)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self.cooldown - (self._clock() - self._opened_at))

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= self.threshold:
                if self._opened_at is None or self._trial:
                    self.openings += 1
                self._opened_at = self._clock()
                self._trial = False

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    @property
    def fails_fast(self) -> bool:
        """True while a call now would fail fast: open, and its cool-down (or the running trial's) not yet over.

        What a metric shows: a breaker whose cool-down ended lets the next call through, so it no longer counts."""
        return self.retry_in() > 0
