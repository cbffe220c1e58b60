"""Token buckets for requests and tokens per minute; a call waits for capacity up to its deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class CapacityLimiter(Protocol):
    """Capacity per minute of one provider and model, or one integration: in this process or shared."""

    def reserve(self, tokens: int) -> float:
        """Take one request and ``tokens`` tokens; the seconds to wait before sending (0: go now)."""
        ...

    def refund(self, tokens: int) -> None:
        """Give back a reservation whose call will not be made."""
        ...


class TokenBucket:
    """Holds up to ``per_minute`` units, refilled continuously at ``per_minute / 60`` per second."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._level = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self, amount: float) -> float:
        """Take ``amount`` units now (the level may go negative) and return the seconds until they are covered."""
        amount = min(amount, self.capacity)  # a request larger than a minute's budget waits a full minute at most
        with self._lock:
            now = self._clock()
            self._level = min(self.capacity, self._level + (now - self._updated) * self.rate)
            self._updated = now
            self._level -= amount
            return 0.0 if self._level >= 0 else -self._level / self.rate

    def refund(self, amount: float) -> None:
        """Give back units reserved by a call that will not be made."""
        with self._lock:
            self._level = min(self.capacity, self._level + min(amount, self.capacity))


class RateLimiter:
    """RPM and TPM buckets of one provider and model; either may be ``None`` (no limit)."""

    def __init__(self, rpm: int | None, tpm: int | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets = [(bucket, per_call) for bucket, per_call in ((_bucket(rpm, clock), True), (_bucket(tpm, clock), False)) if bucket]

    def reserve(self, tokens: int) -> float:
        """Reserve one request and ``tokens`` tokens; the seconds to wait before sending (0: go now)."""
        return max((bucket.reserve(1 if per_call else tokens) for bucket, per_call in self._buckets), default=0.0)

    def refund(self, tokens: int) -> None:
        for bucket, per_call in self._buckets:
            bucket.refund(1 if per_call else tokens)


def _bucket(limit: int | None, clock: Callable[[], float]) -> TokenBucket | None:
    return TokenBucket(limit, clock) if limit else None
