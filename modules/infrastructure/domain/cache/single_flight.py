"""``SingleFlight``: per key, one call of a function at a time in this process; callers that arrive meanwhile
share its outcome instead of calling it again."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class _Flight(Generic[T]):
    """One call in progress: its waiters block on ``done`` and then read ``value`` or ``error``."""

    __slots__ = ("done", "value", "error", "waiters")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.waiters = 0


class SingleFlight:
    """``run(key, fn)`` calls ``fn`` once for all the threads asking for ``key`` together; each gets its result or
    its exception. Nothing is kept after the call: the next ``run`` for the key calls ``fn`` again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight[Any]] = {}

    def run(self, key: str, fn: Callable[[], T]) -> T:
        with self._lock:
            flight: _Flight[T] | None = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = _Flight()
                leading = True
            else:
                flight.waiters += 1
                leading = False
        if leading:
            return self._lead(key, flight, fn)
        flight.done.wait()
        if flight.error is not None:
            raise flight.error
        return flight.value  # type: ignore[no-any-return]

    def try_run(self, key: str, fn: Callable[[], T]) -> tuple[bool, T | None]:
        """Call ``fn`` unless a call for ``key`` is already in progress, without waiting for it: ``(ran, result)``."""
        with self._lock:
            if key in self._flights:
                return False, None
            started: _Flight[T] = _Flight()
            self._flights[key] = started
        return True, self._lead(key, started, fn)

    def _lead(self, key: str, flight: _Flight[T], fn: Callable[[], T]) -> T:
        """Call ``fn`` for everyone waiting on ``flight``, then let them go and forget the flight."""
        try:
            flight.value = fn()
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()
        return flight.value  # type: ignore[no-any-return]

    def in_flight(self) -> int:
        """How many keys are being computed now."""
        return len(self._flights)

    def after_fork(self) -> None:
        """In a forked child: the parent's flights belong to threads the child does not have."""
        self._lock = threading.Lock()
        self._flights = {}
