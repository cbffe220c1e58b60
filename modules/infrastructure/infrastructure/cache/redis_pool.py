"""The redis-py connection pool for ``REDIS_URL``: short timeouts, one immediate retry on a dropped connection."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

HEALTH_CHECK_INTERVAL = 30


def build_pool(url: str, socket_timeout: float) -> redis.ConnectionPool:
    """A pool for ``redis://``, ``rediss://`` (TLS) or ``unix://`` URLs; connects on first use, not here.

    redis-py's client default retries three times with up to 10 s of backoff; a cache must fail
    fast instead, so only a connection dropped by the server (a restart) is retried, once, at once.
    """
    return redis.ConnectionPool.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        health_check_interval=HEALTH_CHECK_INTERVAL,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
    )
