"""``RedisCache``: the shared cache on Redis, which degrades to misses and no-ops when Redis fails."""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import unquote

import redis
from redis.client import PubSub
from redis.exceptions import ResponseError

from modules.infrastructure.domain.cache.glob import check_pattern
from modules.infrastructure.domain.cache.keys import check_key, check_ttl
from modules.infrastructure.domain.cache.ports import CacheStats
from modules.infrastructure.domain.cache.values import encode, shown
from modules.infrastructure.domain.config.values import TLSFiles
from modules.infrastructure.domain.errors import CacheConnectionError, CacheError
from modules.infrastructure.domain.policies.outage import Outage
from modules.infrastructure.domain.policies.throttle import Throttle
from modules.infrastructure.domain.secrets import Redactor, mask_url, url_password
from modules.infrastructure.domain.cache.compression import Compression
from modules.infrastructure.domain.cache.get_or_compute import Lock
from modules.infrastructure.domain.cache.single_flight import SingleFlight
from modules.infrastructure.infrastructure.cache.base import TextAndJson
from modules.infrastructure.infrastructure.cache.compute_once import LOCK_PREFIX, ComputeOnce
from modules.infrastructure.infrastructure.cache.redis_errors import REDIS_ERRORS, RedisErrors
from modules.infrastructure.infrastructure.cache.redis_pool import build_client, close_client, describe_target, reset_after_fork
from modules.infrastructure.infrastructure.cache.stats import StatsCounter

logger = logging.getLogger(__name__)

T = TypeVar("T")
_UNAVAILABLE = object()
# Delete the lock only while it holds this caller's token: an expired lock may be another caller's by now.
_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
SCAN_COUNT = 1000
DELETE_BATCH = 500
DEGRADED = "Reads are misses and writes are skipped until Redis answers"
STRICT = (
    "Check that Redis is running and that REDIS_URL is right, "
    "or call get_cache() without strict=True to treat failures as misses"
)


class RedisCache(ComputeOnce, TextAndJson):
    """Redis through one thread-safe connection pool.

    When Redis fails, reads are misses and writes are skipped; each failure is counted in
    ``stats()``, a warning is logged at most every ``warn_interval`` seconds, and after a
    connection failure calls skip Redis for ``retry_interval`` seconds instead of waiting on
    timeouts. With ``strict=True`` every call goes to Redis and a failure raises ``CacheError``.
    """

    backend = "redis"

    def __init__(
        self,
        url: str,
        *,
        socket_timeout: float = 0.5,
        default_ttl: float | None = None,
        strict: bool = False,
        retry_interval: float = 1.0,
        warn_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        redactor: Redactor | None = None,
        tls: TLSFiles = TLSFiles(),
        compress_min_bytes: int = 0,
    ) -> None:
        self.masked_url = mask_url(url)
        self._socket_timeout = socket_timeout
        self.default_ttl = check_ttl(default_ttl)
        self.strict = strict
        self._target = describe_target(url)
        self._client = build_client(url, socket_timeout, tls)
        password = url_password(url)
        self._redactor = redactor or Redactor()
        self._redactor.add({password, unquote(password)} if password else ())
        self._errors = RedisErrors(f"Redis cache at {self.masked_url}", self._redactor)
        self._stats = StatsCounter(self.backend)
        self._warnings = Throttle(warn_interval, clock)
        self._outage = Outage(retry_interval, clock)
        self._flights = SingleFlight()
        self._compression = Compression(compress_min_bytes)
        self._unlock = self._client.register_script(_UNLOCK)

    def get_bytes(self, key: str) -> bytes | None:
        """The bytes stored under ``key``; ``None`` on a miss or when Redis fails."""
        if type(key) is not str or not key.isascii():  # redis-py takes bytes, counts None as a failed read; text is checked
            check_key(key)
        # decode_responses is off, so GET answers bytes.
        stored = cast("bytes | None", self._call("read", key, lambda: self._client.get(key), None))
        value = None if stored is None else self._unpacked(key, stored)
        self._stats.read(value is not None)
        return value

    def get_bytes_with_ttl(self, key: str) -> tuple[bytes | None, float | None]:
        """The bytes under ``key`` and their remaining seconds (``None``: no expiry), in one round trip."""
        if type(key) is not str or not key.isascii():
            check_key(key)

        def read() -> tuple[bytes | None, float | None]:
            pipeline = self._client.pipeline(transaction=False)
            pipeline.get(key)
            pipeline.pttl(key)
            value, pttl = pipeline.execute()
            return value, (pttl / 1000 if pttl >= 0 else None)

        missed: tuple[bytes | None, float | None] = (None, None)
        stored, remaining = self._call("read", key, read, missed)
        value = None if stored is None else self._unpacked(key, stored)
        self._stats.read(value is not None)
        return value, (remaining if value is not None else None)

    def lock(self, key: str, ttl: float) -> Lock:
        """Take ``key``'s computation lock for ``ttl`` seconds (SET NX PX) unless another process holds it."""
        token = uuid.uuid4().hex
        taken = self._call("lock", key, lambda: self._client.set(LOCK_PREFIX + key, token, nx=True, px=max(1, round(ttl * 1000))), _UNAVAILABLE)
        if taken is _UNAVAILABLE:
            return Lock(None, available=False)
        return Lock(token if taken else None)

    def unlock(self, key: str, token: str) -> None:
        """Release ``key``'s lock if ``token`` still holds it; when Redis fails, it expires by itself."""
        self._call("unlock", key, lambda: self._unlock(keys=[LOCK_PREFIX + key], args=[token]), None)

    def publish(self, channel: str, message: bytes) -> None:
        """Send ``message`` to ``channel``'s subscribers; skipped (counted, logged) when Redis fails."""
        self._call("publish", channel, lambda: self._client.publish(channel, message), None)

    def subscribe(self, channel: str, on_reconnect: Callable[[Any], None] | None = None) -> PubSub:
        """A subscription to ``channel`` the server has confirmed (messages published from now on reach it); raises
        redis-py's errors, for the caller's reconnection loop. redis-py reconnects and resubscribes a dropped
        subscription by itself, and messages sent meanwhile are lost: ``on_reconnect`` hears of each reconnection."""
        subscription = self._client.pubsub()
        subscription.subscribe(channel)
        connection: Any = subscription.connection  # set by subscribe()
        if on_reconnect is not None and connection is not None:
            connection.register_connect_callback(on_reconnect)  # held weakly: the caller keeps it
        deadline = time.monotonic() + max(1.0, self._socket_timeout * 4)
        while time.monotonic() < deadline:
            message = subscription.get_message(timeout=0.1)
            if message is not None and message.get("type") == "subscribe":
                return subscription
        subscription.close()
        raise redis.exceptions.TimeoutError(f"Redis did not confirm the subscription to {channel}")

    def set(self, key: str, value: str | bytes, ttl: float | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (``None``: the default TTL, else forever); skipped when Redis fails."""
        self.write(key, value, ttl)

    def write(self, key: str, value: str | bytes, ttl: float | None = None) -> bool:
        """``set``, saying whether Redis stored the value (false when the write was skipped after a failure)."""
        data, ttl = self._compression.pack(encode(value)), check_ttl(ttl) or self.default_ttl
        if type(key) is not str or not key.isascii():
            check_key(key)
        px = None if ttl is None else max(1, round(ttl * 1000))
        stored: object = self._call("write", key, lambda: bool(self._client.set(key, data, px=px)), False)
        return stored is True

    def delete(self, key: str) -> bool:
        if type(key) is not str or not key.isascii():
            check_key(key)
        return bool(self._call("delete", key, lambda: self._client.delete(key), 0))

    def invalidate_pattern(self, pattern: str) -> int:
        """Delete the keys matching the glob ``pattern`` with SCAN and UNLINK in batches (never KEYS)."""
        check_pattern(pattern)  # refused here as in the in-memory cache
        return self._call("invalidate", pattern, lambda: self._delete_matching(pattern), 0)

    def stats(self) -> CacheStats:
        return self._stats.snapshot()

    def ping(self) -> float:
        """Milliseconds a PING takes; raises ``CacheError`` when Redis does not answer (strict or not)."""
        started = time.perf_counter()
        with self._errors("did not answer PING"):
            self._client.ping()
        self._outage.end()
        return (time.perf_counter() - started) * 1000

    def describe(self) -> str:
        return f"redis {self._target}"

    def with_strict(self, strict: bool = True) -> RedisCache:
        """The same cache (pool, counters, warnings) raising ``CacheError`` on failure when ``strict``."""
        view = copy.copy(self)
        view.strict = strict
        return view

    def close(self) -> None:
        """Close every pooled connection; the next call opens new ones."""
        close_client(self._client)

    def after_fork(self) -> None:
        """In a forked child: forget the parent's connections (without closing them) and locks."""
        reset_after_fork(self._client)
        self._flights.after_fork()
        self._stats.after_fork()
        self._warnings.after_fork()

    def __repr__(self) -> str:
        return f"RedisCache({self.masked_url!r}, strict={self.strict})"

    def _unpacked(self, key: str, stored: bytes) -> bytes | None:
        """The value ``stored`` holds; a marked value that does not unpack is a failed read (a miss unless strict)."""
        try:
            return self._compression.unpack(key, stored)
        except CacheError as error:
            return self._failed(f"{self._errors.where}: {error}", None, error)

    def _delete_matching(self, pattern: str) -> int:
        deleted, batch = 0, []
        for key in self._client.scan_iter(match=pattern, count=SCAN_COUNT):
            batch.append(key)
            if len(batch) >= DELETE_BATCH:
                deleted, batch = deleted + self._unlink(batch), []
        return deleted + (self._unlink(batch) if batch else 0)

    def _unlink(self, keys: list[bytes]) -> int:
        try:
            return self._client.unlink(*keys)
        except ResponseError:  # a server without UNLINK (before Redis 4) or an ACL that forbids it
            return self._client.delete(*keys)

    def _call(self, action: str, key: str, command: Callable[[], T], fallback: T) -> T:
        if not self.strict and self._outage.active():
            skipped = f"{self._errors.where} could not {action} {shown(key)}: skipped after a recent failure ({self._outage.reason}). {DEGRADED}"
            return self._failed(skipped, fallback)
        try:
            return command()
        except REDIS_ERRORS as exc:  # the seam's own classes and mapping, inline: this is the hot path of every hit
            error = self._errors.error(exc, f"could not {action} {shown(key)}", STRICT if self.strict else DEGRADED)
            if isinstance(error, CacheConnectionError):
                self._outage.start(self._errors.reason(exc))  # skip Redis for a while: no timeout per call
            return self._failed(str(error), fallback, error, exc)

    def _failed(self, message: str, fallback: T, error: CacheError | None = None, cause: BaseException | None = None) -> T:
        """Count and (at most every ``warn_interval``) log a failure; raise it (chained to ``cause``) when strict, else ``fallback``."""
        self._stats.error()
        if self._warnings.allow():
            held = self._warnings.take_held_back()
            logger.warning("%s%s", message, f"; {held} more failure(s) since the last warning" if held else "")
        if self.strict and error is not None:
            raise error from cause
        return fallback
