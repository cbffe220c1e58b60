"""``SingleFlight``: per key, one call of a function at a time in this process; callers that arrive meanwhile
share its outcome instead of calling it again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from modules.infrastructure.domain.errors import InvalidArgumentError

T = TypeVar("T")


class _Flight(Generic[T]):
    """One call in progress, by thread ``owner``: its waiters block on ``done``, then read ``value`` or ``error``."""

    __slots__ = ("done", "value", "error", "owner")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.owner = threading.get_ident()


class SingleFlight:
    """``run(key, fn)`` calls ``fn`` once for all the threads asking for ``key`` together; each gets its result or
    its exception. Nothing is kept after the call: the next ``run`` for the key calls ``fn`` again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight[Any]] = {}

    def run(self, key: str, fn: Callable[[], T], wait: float | None = None) -> T:
        """``fn()``'s result, or that of the call already in progress for ``key``. A waiter gives that call at most
        ``wait`` seconds (``None``: as long as it takes), then calls ``fn`` itself."""
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            with self._lock:
                flight: _Flight[T] | None = self._flights.get(key)
                if flight is None:
                    flight = self._flights[key] = _Flight()
                    leading = True
                else:
                    leading = False
            if leading:
                return self._lead(key, flight, fn)
            if flight.owner == threading.get_ident():
                raise InvalidArgumentError(
                    "The computation of a cache key asked for the same key (directly, or through another cached "
                    "function making the same key): it would wait for itself forever. Give the two different keys."
                )
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not flight.done.wait(left):
                return fn()  # waited long enough: this caller's own call
            if flight.error is None:
                return flight.value  # type: ignore[no-any-return]
            if isinstance(flight.error, Exception):
                raise flight.error
            # The computing thread was interrupted (KeyboardInterrupt, SystemExit): that is its own, not ours.

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

    def after_fork(self) -> None:
        """In a forked child: the parent's flights belong to threads the child does not have."""
        self._lock = threading.Lock()
        self._flights = {}
