"""``RetryLoop``: the attempts of one call under a deadline, a circuit breaker and a rate limit.

The LLM providers and the HTTP integrations run every call through it; each brings a ``Failures``
that says which of its errors are worth another attempt and words the errors the loop raises itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from modules.infrastructure.domain.policies.attempts import Attempts
from modules.infrastructure.domain.policies.backoff import backoff_delay
from modules.infrastructure.domain.policies.breaker import CircuitBreaker
from modules.infrastructure.domain.policies.deadline import Deadline
from modules.infrastructure.domain.policies.rate_limit import CapacityLimiter

T = TypeVar("T")


class Failures(Protocol):
    """What one kind of call fails with, and the errors the loop raises on its behalf."""

    @property
    def handled(self) -> type[Exception]:
        """The failures the loop decides about; any other exception passes through at once."""

    def retryable(self, error: Exception) -> bool:
        """Running the same request again may succeed (a dropped connection, a 503, a 429)."""

    def retry_after(self, error: Exception) -> float | None:
        """The wait in seconds the server asked for, when it did."""

    def is_timeout(self, error: Exception) -> bool:
        """The attempt ran out of time (so running out of the deadline is the error to report)."""

    def wait_past_deadline(self, error: Exception, remaining: float) -> Exception:
        """The server asked for a wait longer than the time the call has left."""

    def out_of_time(self, attempts: int) -> Exception:
        """The deadline passed before an answer came."""

    def circuit_open(self, breaker: CircuitBreaker) -> Exception:
        """The breaker is open: the call fails fast."""

    def no_capacity(self, wait: float) -> Exception:
        """The rate limit has no room before the deadline."""


class RetryLoop:
    """Retries with exponential backoff and full jitter (or the server's Retry-After), per-attempt ``timeout``
    shortened to the deadline, ``limiter`` reserving capacity for every attempt, and ``breaker`` counting
    the retryable failures. An error that retrying cannot help is an answer: the server is up, as after a success."""

    def __init__(
        self,
        failures: Failures,
        breaker: CircuitBreaker,
        limiter: CapacityLimiter,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        backoff: tuple[float, float] = (0.25, 8.0),
    ) -> None:
        self.failures = failures
        self.breaker = breaker
        self.limiter = limiter
        self.clock = clock
        self._sleep = sleep
        self._backoff = backoff

    def check_breaker(self) -> None:
        """Raise the circuit-open error when the breaker lets no call through now."""
        if not self.breaker.allow():
            raise self.failures.circuit_open(self.breaker)

    def run(
        self, call: Callable[[float], T], *, timeout: float, max_retries: int, deadline: Deadline, units: int = 1, attempts: Attempts | None = None
    ) -> tuple[T, int]:
        """``call(attempt_timeout)``'s result and the attempts it took, retrying at most ``max_retries`` times.

        The breaker is checked by ``check_breaker`` before (a caller may build its client in between);
        ``units`` is what each attempt reserves of the limit; ``attempts`` counts the requests sent, for a
        caller that reads the count after a failure too.
        """
        attempts = attempts or Attempts()
        while True:
            self._wait_for_capacity(units, deadline)  # every attempt is a request the limit must count
            attempt_timeout = min(timeout, deadline.remaining())
            if attempt_timeout <= 0:
                raise self.failures.out_of_time(attempts.count)
            attempts.count += 1
            try:
                result = call(attempt_timeout)
            except self.failures.handled as exc:
                self._after_failure(exc, attempts.count, max_retries, deadline)
                continue
            self.breaker.record_success()
            return result, attempts.count

    def _after_failure(self, exc: Exception, attempts: int, max_retries: int, deadline: Deadline) -> None:
        """Return when another attempt should be made (after waiting); raise otherwise."""
        if not self.failures.retryable(exc):
            self.breaker.record_success()  # it answered (a 400, a 401, a 404): the service is up, a half-open breaker closes
            raise exc
        self.breaker.record_failure()
        if attempts > max_retries:
            raise exc
        remaining = deadline.remaining()
        asked = self.failures.retry_after(exc)
        if asked is not None and asked >= remaining:
            raise self.failures.wait_past_deadline(exc, remaining) from exc
        delay = asked if asked is not None else backoff_delay(attempts - 1, base=self._backoff[0], cap=self._backoff[1])
        if delay >= remaining:
            if self.failures.is_timeout(exc):
                raise self.failures.out_of_time(attempts) from exc
            raise exc
        self._sleep(delay)

    def _wait_for_capacity(self, units: int, deadline: Deadline) -> None:
        wait = self.limiter.reserve(units)
        if wait <= 0:
            return
        if wait >= deadline.remaining():
            self.limiter.refund(units)
            raise self.failures.no_capacity(wait)
        self._sleep(wait)
