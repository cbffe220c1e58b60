"""A ``REDIS_URL`` query string redis-py cannot read is a ``ConfigurationError`` when the pool is built, not mid-call."""

from __future__ import annotations

import pytest

from modules.infrastructure.infrastructure.cache.redis_cache import RedisCache
from modules.infrastructure.infrastructure.cache.redis_pool import build_pool
from modules.infrastructure.module_api import ConfigurationError

# Nothing listens on port 1: nothing here may connect, and nothing does.
BASE = "redis://:s3cret-pw@127.0.0.1:1/0"


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("socket_timeout=abc", "Invalid value for 'socket_timeout' in connection URL"),
        ("max_connections=many", "Invalid value for 'max_connections' in connection URL"),
        ("bogus=1", "unexpected keyword argument 'bogus'"),
        ("ssl_cert_reqs=none", "unexpected keyword argument 'ssl_cert_reqs'"),  # TLS options on a plain redis:// URL
    ],
)
def test_an_option_redis_py_cannot_read_names_redis_url_without_the_password(query: str, said: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        RedisCache(f"{BASE}?{query}")
    message = str(caught.value)
    assert message.startswith(f"REDIS_URL=redis://:****@127.0.0.1:1/0?{query} cannot be used: ")
    assert said in message
    assert "s3cret-pw" not in message and caught.value.__cause__ is None


@pytest.mark.parametrize("query", ["", "?socket_keepalive=true&client_name=lessons", "?health_check_interval=10"])
def test_options_redis_py_reads_build_a_pool_without_connecting(query: str) -> None:
    pool = build_pool(f"{BASE}{query}", socket_timeout=0.5)
    assert pool.connection_kwargs["socket_timeout"] == 0.5
    pool.disconnect()
