"""``NearCache``: a small in-process cache in front of Redis for hot keys, kept coherent across processes.

Reads that miss locally go to Redis and are kept here for at most ``CACHE_NEAR_TTL`` seconds (never past the
value's own TTL in Redis). Every write, delete and pattern invalidation goes to Redis first, then is announced on a
Redis pub/sub channel; every process's listener thread drops the keys it names. A read that raced with an
announcement is not kept. While the listener is not subscribed (starting, Redis down, reconnecting), nothing is
read from or kept in the near cache: callers get Redis's answers, never a value another process may have changed.
"""

from __future__ import annotations

import copy
import logging
import threading
import uuid
from dataclasses import replace
from collections.abc import Callable
from typing import Any, Protocol

from modules.infrastructure.domain.cache.get_or_compute import Lock
from modules.infrastructure.domain.cache.ports import CacheBackend, CacheStats
from modules.infrastructure.domain.cache.single_flight import SingleFlight
from modules.infrastructure.domain.cache.values import encode
from modules.infrastructure.infrastructure.cache.base import TextAndJson
from modules.infrastructure.infrastructure.cache.compute_once import ComputeOnce
from modules.infrastructure.infrastructure.cache.near_copies import NearCopies

logger = logging.getLogger(__name__)

CHANNEL = "infrastructure:cache:invalidate"
KEY, PATTERN = b"k", b"p"
RECONNECT_PAUSE = (0.1, 5.0)  # seconds between the listener's reconnection attempts: first, longest


class Remote(CacheBackend, Protocol):
    """What the near cache needs of Redis (``RedisCache``, or a ``TracedCache`` around one)."""

    default_ttl: float | None

    def get_bytes_with_ttl(self, key: str) -> tuple[bytes | None, float | None]: ...

    def lock(self, key: str, ttl: float) -> Lock: ...

    def unlock(self, key: str, token: str) -> None: ...

    def write(self, key: str, value: str | bytes, ttl: float | None = None) -> bool: ...

    def publish(self, channel: str, message: bytes) -> None: ...

    def subscribe(self, channel: str, on_reconnect: Callable[[Any], None] | None = None) -> Any: ...


class NearCache(ComputeOnce, TextAndJson):
    """``redis`` with the keys last read or written kept in this process (``copies``)."""

    backend = "redis"

    def __init__(self, redis: Remote, copies: NearCopies) -> None:
        self._redis = redis
        self._copies = copies
        self._flights = SingleFlight()
        self._sender = uuid.uuid4().hex.encode()
        self._stop = threading.Event()
        self._listener = self._start_listener()

    def get_bytes(self, key: str) -> bytes | None:
        return self.get_bytes_with_ttl(key)[0]

    def get_bytes_with_ttl(self, key: str) -> tuple[bytes | None, float | None]:
        """The bytes under ``key`` and their remaining seconds in Redis (``None``: no expiry)."""
        near = self._copies.get(key)
        if near is not None:
            return near
        epoch = self._copies.epoch
        value, remaining = self._redis.get_bytes_with_ttl(key)
        if value is not None:
            self._copies.keep(key, value, remaining, epoch)
        return value, remaining

    def set(self, key: str, value: str | bytes, ttl: float | None = None) -> None:
        """Redis first; then this process's copy and the other processes' invalidation.

        The copy is dropped before the write and again after it, so a read of the old value in flight on another
        thread is not kept; the new value is kept only when Redis stored it and no invalidation came in meanwhile
        (another process may have written after us)."""
        data = encode(value)
        before = self._copies.drop(key)
        written = self._redis.write(key, data, ttl)
        after = self._copies.drop(key)
        self._announce(KEY, key)
        if written and after == before + 1:  # no announcement came in while writing: no newer write is known
            self._copies.keep(key, data, ttl or self._redis.default_ttl, after)

    def delete(self, key: str) -> bool:
        deleted = self._redis.delete(key)
        self._copies.drop(key)
        self._announce(KEY, key)
        return deleted

    def invalidate_pattern(self, pattern: str) -> int:
        removed = self._redis.invalidate_pattern(pattern)
        self._copies.drop_matching(pattern)
        self._announce(PATTERN, pattern)
        return removed

    def lock(self, key: str, ttl: float) -> Lock:
        return self._redis.lock(key, ttl)

    def unlock(self, key: str, token: str) -> None:
        self._redis.unlock(key, token)

    def stats(self) -> CacheStats:
        """Redis's figures, with the reads the near cache answered counted as hits (and as ``near_hits``)."""
        remote, near = self._redis.stats(), self._copies.hits
        hits = remote.hits + near
        reads = hits + remote.misses
        return replace(remote, hits=hits, near_hits=near, hit_rate=hits / reads if reads else 0.0)

    def ping(self) -> float:
        return self._redis.ping()

    def describe(self) -> str:
        copies = self._copies
        listening = "hearing invalidations" if copies.listening.is_set() else "not hearing invalidations: reads go to Redis"
        return f"{self._redis.describe()}; near cache {len(copies)}/{copies.max_items} keys for {copies.ttl:g} s, {listening}"

    def with_strict(self, strict: bool = True) -> NearCache:
        """The same copies and listener over Redis raising ``CacheError`` on failure when ``strict``."""
        view = copy.copy(self)
        view._redis = self._redis.with_strict(strict)  # type: ignore[assignment]
        return view

    def close(self) -> None:
        """Stop the listener, forget the copies and close Redis's connections."""
        self._stop.set()
        self._copies.listening.clear()
        if self._listener.is_alive() and self._listener is not threading.current_thread():
            self._listener.join(timeout=3)
        self._copies.clear()
        self._redis.close()

    def after_fork(self) -> None:
        """In a forked child: no listener thread came along; forget the parent's copies and listen anew."""
        self._copies.after_fork()
        self._flights.after_fork()
        self._redis.after_fork()
        self._sender = uuid.uuid4().hex.encode()
        self._stop = threading.Event()
        self._listener = self._start_listener()

    def __repr__(self) -> str:
        return f"NearCache({self._redis!r}, {len(self._copies)}/{self._copies.max_items} keys)"

    def _announce(self, kind: bytes, name: str) -> None:
        self._redis.publish(CHANNEL, self._sender + b" " + kind + name.encode("utf-8", "surrogatepass"))

    def _heard(self, message: bytes) -> None:
        sender, _, rest = message.partition(b" ")
        kind, name = rest[:1], rest[1:].decode("utf-8", "surrogatepass")
        if kind == KEY:
            # Our own write: the copy kept is the value written; only reads in flight are not kept.
            self._copies.drop(None if sender == self._sender else name)
        elif kind == PATTERN:
            self._copies.drop_matching(name)
        else:
            self._copies.clear()  # a message this version does not know: be safe

    def _reconnected(self, connection: Any) -> None:
        """redis-py reconnected the subscription: announcements sent while it was down are lost. Serve no copy until
        the server confirms the subscription again (the ``subscribe`` message), starting from none."""
        self._copies.listening.clear()
        self._copies.clear()

    def _start_listener(self) -> threading.Thread:
        listener = threading.Thread(target=self._listen, name="near-cache-listener", daemon=True)
        listener.start()
        return listener

    def _listen(self) -> None:
        """Subscribe, then drop what each announcement names; after a failure clear everything and resubscribe."""
        pause, stop, copies = RECONNECT_PAUSE[0], self._stop, self._copies
        while not stop.is_set():
            subscription = None
            try:
                subscription = self._redis.subscribe(CHANNEL, self._reconnected)
                copies.clear()  # what was kept before this subscription may have changed unheard
                copies.listening.set()
                pause = RECONNECT_PAUSE[0]
                while not stop.is_set():
                    message = subscription.get_message(timeout=1.0)
                    kind = None if message is None else message.get("type")
                    if kind == "message":
                        self._heard(message["data"])
                    elif kind == "subscribe":  # subscribed again after redis-py reconnected: listening from now on
                        copies.clear()
                        copies.listening.set()
            except Exception as exc:  # a listener that died would leave stale copies: it never dies
                if not stop.is_set():
                    logger.warning(
                        "The near cache stopped hearing invalidations (%s); reads go to Redis until it hears them again",
                        type(exc).__name__,
                    )
            finally:
                copies.listening.clear()
                copies.clear()
                if subscription is not None:
                    _close_quietly(subscription)
            stop.wait(pause)
            pause = min(pause * 2, RECONNECT_PAUSE[1])


def _close_quietly(subscription: Any) -> None:
    try:
        subscription.close()
    except Exception:  # the connection is already broken
        logger.debug("Closing a broken pub/sub connection failed", exc_info=True)
