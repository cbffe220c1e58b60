"""Rate limits shared by every process through Redis (an LLM model's, an HTTP integration's): token buckets updated atomically."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


from modules.infrastructure.domain.config.values import CacheConfig
from modules.infrastructure.domain.errors import CacheError
from modules.infrastructure.domain.policies.breaker import CircuitBreaker
from modules.infrastructure.domain.policies.rate_limit import RateLimiter
from modules.infrastructure.domain.policies.throttle import Throttle
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.cache.redis_errors import RedisErrors
from modules.infrastructure.infrastructure.cache.redis_pool import RedisClient, build_client

logger = logging.getLogger(__name__)

# KEYS: one hash per bucket; ARGV: capacity, amount per bucket. Redis's own clock, so hosts agree.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
for i, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[2 * i - 1])
  local amount = tonumber(ARGV[2 * i])
  local rate = cap / 60
  local state = redis.call('HMGET', key, 'level', 'ts')
  local level = tonumber(state[1]) or cap
  local ts = tonumber(state[2]) or now
  level = math.min(cap, math.min(cap, level + (now - ts) * rate) - amount)
  redis.call('HSET', key, 'level', tostring(level), 'ts', tostring(now))
  redis.call('EXPIRE', key, 120)
  if level < 0 then wait = math.max(wait, -level / rate) end
end
return tostring(wait)
"""
WARN_EVERY = 30.0
RETRY_INTERVAL = 1.0  # seconds Redis is skipped after a failure: a hung Redis costs one socket timeout per interval


def shared_redis(cache: CacheConfig) -> RedisClient:
    """The client the shared limits count on: REDIS_URL (one server, Sentinel or Cluster) with the cache's timeout and
    TLS files, connections of its own."""
    assert cache.redis_url is not None
    return build_client(cache.redis_url, cache.socket_timeout, cache.tls)


class RedisRateLimiter:
    """The buckets under ``{<key>}:rpm`` and ``{<key>}:tpm`` (``llm:ratelimit:<provider>:<model>``,
    ``integration:ratelimit:<name>``): the braces are a Cluster hash tag, which puts both in one slot, as the script
    that updates them together needs. ``settings`` names the variables that set them, for the messages.

    When Redis fails, the in-process buckets take over: Redis is skipped for ``retry_interval``
    seconds, then one call tries it again (the others keep counting locally) and shared limiting
    resumes when it answers. A warning is logged at most every 30 s.
    """

    def __init__(
        self,
        client: RedisClient,
        key: str,
        rpm: int | None,
        tpm: int | None,
        redactor: Redactor | None = None,
        *,
        settings: str = "LLM_RPM_LIMIT / LLM_TPM_LIMIT",
        retry_interval: float = RETRY_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._errors = RedisErrors(f"Redis (shared limits {key})", redactor or Redactor())
        self._fallback = f"This process's own {settings} buckets apply until it answers; check REDIS_URL"
        self._script = client.register_script(_RESERVE)
        self._buckets = [(f"{{{key}}}:{kind}", limit, kind == "rpm") for kind, limit in (("rpm", rpm), ("tpm", tpm)) if limit]
        self._local = RateLimiter(rpm, tpm, clock)
        # Open after one failure: Redis is skipped; after the interval one trial call decides, as for a provider.
        self._redis_failing = CircuitBreaker(threshold=1, cooldown=retry_interval, clock=clock)
        self._warnings = Throttle(WARN_EVERY, clock)

    def reserve(self, tokens: int) -> float:
        return self._run(tokens, 1) if self._buckets else 0.0

    def refund(self, tokens: int) -> None:
        if self._buckets:
            self._run(tokens, -1)

    def _run(self, tokens: int, sign: int) -> float:
        if self._redis_failing.allow():
            try:
                return self._shared(tokens, sign)
            except CacheError as exc:
                self._redis_failing.record_failure()
                if self._warnings.allow():
                    logger.warning("%s", exc)
        if sign < 0:
            self._local.refund(tokens)
            return 0.0
        return self._local.reserve(tokens)

    def _shared(self, tokens: int, sign: int) -> float:
        keys = [key for key, _, _ in self._buckets]
        args: list[float] = []
        for _, limit, per_call in self._buckets:
            args += [limit, sign * min(1 if per_call else tokens, limit)]
        resuming = self._redis_failing.is_open
        with self._errors("could not count this call", self._fallback):
            wait = float(self._script(keys=keys, args=args))
        self._redis_failing.record_success()
        if resuming:
            logger.info("%s answers again: the limits are shared again", self._errors.where)
        return wait
