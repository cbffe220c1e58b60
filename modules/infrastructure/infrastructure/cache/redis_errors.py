"""``RedisErrors``: the one seam between redis-py and callers; every redis exception leaves it as a
``CacheError``, and a refused, lost or timed-out connection as ``CacheConnectionError``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.exceptions import (
    ChildDeadlockedError,
    IncorrectPolicyType,
    RedisClusterException,
    RedisClusterUnreachableError,
    RedisError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from modules.infrastructure.domain.errors import CacheConnectionError, CacheError
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.tls_advice import REDIS_TLS, tls_advice

# redis.exceptions: RedisError and, outside it, the cluster errors, ChildDeadlockedError and IncorrectPolicyType.
REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException, ChildDeadlockedError, IncorrectPolicyType)
# Refused, dropped, timed out (and redis-py's own connection-level refusals: AUTH, LOADING, a full pool).
UNREACHABLE: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, RedisClusterUnreachableError)
CHECK_REDIS = "Check that Redis is running and that REDIS_URL is right"


class RedisErrors:
    """``with errors("could not read 'k'"):`` raises a redis failure as ``CacheError``/``CacheConnectionError``,
    chained. Messages read "<where> <failed>: <redacted reason>. <advice>"."""

    def __init__(self, where: str, redactor: Redactor) -> None:
        self.where = where
        self._redactor = redactor

    @contextmanager
    def __call__(self, failed: str, advice: str = CHECK_REDIS) -> Iterator[None]:
        try:
            yield
        except REDIS_ERRORS as exc:
            raise self.error(exc, failed, advice) from exc

    def error(self, exc: BaseException, failed: str, advice: str = CHECK_REDIS) -> CacheError:
        kind = CacheConnectionError if isinstance(exc, UNREACHABLE) else CacheError
        reason = self.reason(exc)
        if kind is CacheConnectionError:
            advice = tls_advice(reason, REDIS_TLS) or advice
        return kind(f"{self.where} {failed}: {reason}. {advice}")

    def reason(self, exc: BaseException) -> str:
        """``Type: message``, secrets masked."""
        return self._redactor.redact(f"{type(exc).__name__}: {exc}".rstrip(". :"))
