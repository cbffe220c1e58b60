"""Get a cached value or compute it, with one computation per key at a time: across threads (``SingleFlight``) and
across processes (a short lock in the shared store, with a bounded wait).

A caller that finds no value takes the key's lock, reads again (another process may just have stored it), computes
and stores. Callers of other processes that find the lock taken poll for the value with a growing pause; when the
lock's holder dies or fails, its lock expires or is released without a value and the next poller takes over; when
``lock_wait`` runs out, a poller computes itself. A computation that raises stores nothing.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from modules.infrastructure.domain.cache.keys import MAX_TTL_SECONDS, check_ttl
from modules.infrastructure.domain.cache.single_flight import SingleFlight
from modules.infrastructure.domain.cache.values import dump_json
from modules.infrastructure.domain.errors import InvalidArgumentError

logger = logging.getLogger(__name__)

MISS: Any = object()  # no usable value under the key (a stored JSON null is the value None)
MAX_LOCK_SECONDS = 3600.0
FIRST_PAUSE, LONGEST_PAUSE = 0.005, 0.05  # seconds between a waiting caller's polls


@dataclass(frozen=True)
class Lock:
    """The outcome of asking for a key's lock: ``token`` when taken; ``available`` is false when the store could not
    be asked (Redis down), and the caller computes on its own."""

    token: str | None
    available: bool = True


class LockingStore(Protocol):
    """What ``get_or_compute`` needs of a cache backend."""

    def read_text(self, key: str, with_ttl: bool) -> tuple[str | None, float | None]:
        """The text under ``key`` (``None`` when none, or not text) and, when asked, its remaining seconds
        (``None``: no expiry)."""
        ...

    def set(self, key: str, value: str, ttl: float | None = None) -> None: ...

    def lock(self, key: str, ttl: float) -> Lock: ...

    def unlock(self, key: str, token: str) -> None: ...


@dataclass(frozen=True)
class ComputeOptions:
    """``ttl`` of the value; ``refresh_ahead``: seconds before expiry when one caller recomputes while the others
    still get the value; ``lock_ttl``: seconds a computation may hold the key's lock (a dead holder's lock frees
    after it); ``lock_wait``: seconds a caller waits for another process's computation before computing itself."""

    ttl: float | None = None
    refresh_ahead: float | None = None
    lock_ttl: float = 10.0
    lock_wait: float = 10.0

    @classmethod
    def checked(cls, ttl: object, refresh_ahead: object, lock_ttl: object, lock_wait: object) -> ComputeOptions:
        """The options, or ``InvalidArgumentError`` naming the one that cannot be used."""
        checked_ttl = check_ttl(ttl)  # type: ignore[arg-type]
        refresh = None if refresh_ahead is None else _seconds("refresh_ahead", refresh_ahead, MAX_TTL_SECONDS)
        if refresh is not None and checked_ttl is not None and refresh >= checked_ttl:
            raise InvalidArgumentError(
                f"refresh_ahead ({refresh:g} s) must be shorter than ttl ({checked_ttl:g} s): it is how long before "
                "expiry one caller recomputes the value"
            )
        return cls(checked_ttl, refresh, _seconds("lock_ttl", lock_ttl, MAX_LOCK_SECONDS), _seconds("lock_wait", lock_wait, MAX_LOCK_SECONDS))


def _seconds(name: str, value: object, longest: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0 < value <= longest and math.isfinite(value)):
        raise InvalidArgumentError(f"{name} must be a number of seconds above 0 and at most {longest:g}, not {value!r:.40}")
    return float(value)


def get_or_compute(
    store: LockingStore,
    flights: SingleFlight,
    key: str,
    compute: Callable[[], Any],
    options: ComputeOptions,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """The value under ``key``, computed by ``compute`` and stored for ``options.ttl`` when there is none.

    The value is always what its JSON gives back (a tuple comes back a list, on the first call as on the others),
    and each caller gets an object of its own, even the threads that shared one computation.
    """
    text, remaining = store.read_text(key, options.refresh_ahead is not None)
    value = _loaded(text)
    if value is MISS:
        deadline = clock() + options.lock_wait  # one wait in all: for this process's threads, then for others
        return json.loads(flights.run(key, lambda: _fill(store, key, compute, options, deadline, clock, sleep), options.lock_wait))
    if options.refresh_ahead is not None and remaining is not None and remaining <= options.refresh_ahead:
        ran, fresh = flights.try_run("\0refresh\0" + key, lambda: _refresh(store, key, compute, options))
        if ran and fresh is not None:
            return json.loads(fresh)
    return value


def _fill(
    store: LockingStore,
    key: str,
    compute: Callable[[], Any],
    options: ComputeOptions,
    deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> str:
    """Compute ``key`` under its lock, or wait until ``deadline`` for the process that holds it; the value's JSON."""
    pause = FIRST_PAUSE
    while True:
        lock = store.lock(key, options.lock_ttl)
        if not lock.available:
            return _compute_and_store(store, key, compute, options)
        if lock.token is not None:
            try:
                found = _usable(store, key)  # stored by the holder we waited for, or just before we missed
                return _compute_and_store(store, key, compute, options) if found is None else found
            finally:
                store.unlock(key, lock.token)
        found = _usable(store, key)
        if found is not None:
            return found
        left = deadline - clock()
        if left <= 0:
            logger.warning("Waited %.3g s for another process to compute a cache key; computing it here", options.lock_wait)
            return _compute_and_store(store, key, compute, options)
        sleep(min(pause, left))
        pause = min(pause * 2, LONGEST_PAUSE)


def _refresh(store: LockingStore, key: str, compute: Callable[[], Any], options: ComputeOptions) -> str | None:
    """Recompute a value close to expiry when no other process is doing it; ``None`` when another one is, or when
    the computation fails (the caller keeps the value it read, still valid)."""
    lock = store.lock(key, options.lock_ttl)
    if lock.available and lock.token is None:
        return None
    try:
        return _compute_and_store(store, key, compute, options)
    except Exception:
        logger.warning("Refreshing a cache value ahead of its expiry failed; the current value is kept", exc_info=True)
        return None
    finally:
        if lock.token is not None:
            store.unlock(key, lock.token)


def _compute_and_store(store: LockingStore, key: str, compute: Callable[[], Any], options: ComputeOptions) -> str:
    text = dump_json(key, compute())
    store.set(key, text, options.ttl)
    return text


def _usable(store: LockingStore, key: str) -> str | None:
    text, _ = store.read_text(key, False)
    return None if _loaded(text) is MISS else text


def _loaded(text: str | None) -> Any:
    """The value of JSON ``text``; ``MISS`` for no text, or text that is not JSON (computed again and replaced)."""
    if text is None:
        return MISS
    try:
        return json.loads(text)
    except ValueError:
        logger.debug("get_or_set found a value that is not JSON under a key; computing it again")
        return MISS
