"""The redis-py connection pool for ``REDIS_URL``: short timeouts, one immediate retry on a dropped connection."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from modules.infrastructure.domain.config.values import TLSFiles
from modules.infrastructure.domain.errors import ConfigurationError
from modules.infrastructure.domain.secrets import mask_url

HEALTH_CHECK_INTERVAL = 30


def build_pool(url: str, socket_timeout: float, tls: TLSFiles = TLSFiles()) -> redis.ConnectionPool:
    """A pool for ``redis://``, ``rediss://`` (TLS) or ``unix://`` URLs; connects on first use, not here.

    redis-py's client default retries three times with up to 10 s of backoff; a cache must fail
    fast instead, so only a connection dropped by the server (a restart) is retried, once, at once.
    A query string redis-py cannot read is a ``ConfigurationError`` naming ``REDIS_URL``. ``tls`` gives the
    CA and client certificate of a ``rediss://`` URL (REDIS_TLS_*; the configuration refuses them on others).
    """
    try:
        pool = redis.ConnectionPool.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            health_check_interval=HEALTH_CHECK_INTERVAL,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
            **_tls_options(tls),
        )
        # A connection object reads every option of the URL's query string (it connects on first use only):
        # an unknown or malformed one fails here, not in the middle of a cache call.
        pool.connection_class(**pool.connection_kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"REDIS_URL={mask_url(url)} cannot be used: {str(exc).rstrip('.')}; expected a URL such as "
            "redis://host:6379/0 whose query string holds only redis-py's connection options (client_name=app, "
            "socket_keepalive=true, ...; ssl_* on rediss:// only)"
        ) from None
    return pool


def _tls_options(tls: TLSFiles) -> dict[str, str]:
    """redis-py's ssl_* options for the given files; an option in the URL's query string wins (it is the same one)."""
    given = {"ssl_ca_certs": tls.ca_file, "ssl_certfile": tls.cert_file, "ssl_keyfile": tls.key_file}
    return {option: path for option, path in given.items() if path}
