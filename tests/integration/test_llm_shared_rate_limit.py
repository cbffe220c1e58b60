"""LLM_RPM_LIMIT shared through Redis: two processes together get one minute's capacity, not two."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

from modules.infrastructure.domain.policies.deadline import Deadline
from modules.infrastructure.domain.llm.provider import LLMProvider
from modules.infrastructure.domain.llm.values import CompletionRequest
from modules.infrastructure.infrastructure.cache.redis_pool import build_pool
from modules.infrastructure.infrastructure.shared_limits.redis_rate_limit import RedisRateLimiter
from modules.infrastructure.module_api import LLMConfig
from modules.infrastructure.module_api.testing import FakeLLM
from tests.integration.private_redis import PrivateRedis

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import sys
import redis
from modules.infrastructure.infrastructure.shared_limits.redis_rate_limit import RedisRateLimiter
limiter = RedisRateLimiter(redis.Redis.from_url(sys.argv[1]), "llm:ratelimit:openai:" + sys.argv[2], rpm=5, tpm=None)
print(sum(limiter.reserve(10) == 0.0 for _ in range(4)))
"""


def test_two_processes_share_one_rpm_budget(redis_url: str) -> None:
    model = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        children = [
            subprocess.Popen([sys.executable, "-c", CHILD, redis_url, model], cwd=ROOT, stdout=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        granted = [int(child.communicate(timeout=30)[0]) for child in children]
    finally:
        client = redis.Redis.from_url(redis_url)
        client.delete(f"{{llm:ratelimit:openai:{model}}}:rpm")
        client.close()
    assert sum(granted) == 5  # 8 asked within the minute, 5 allowed at once across both processes


def test_redis_down_falls_back_to_the_process_buckets() -> None:
    from modules.infrastructure.infrastructure.shared_limits.redis_rate_limit import RedisRateLimiter

    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2, socket_timeout=0.2)
    limiter = RedisRateLimiter(dead, "llm:ratelimit:openai:m", rpm=2, tpm=None)
    assert [limiter.reserve(1) == 0.0 for _ in range(3)] == [True, True, False]


def test_the_facade_shares_limits_when_redis_is_configured(clean_env, redis_url: str, monkeypatch) -> None:
    from modules.infrastructure.infrastructure.runtime import runtime
    from modules.infrastructure.infrastructure.shared_limits.redis_rate_limit import RedisRateLimiter
    from modules.infrastructure.module_api import InfrastructureService

    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("LLM_RPM_LIMIT", "600")
    InfrastructureService.reset()
    assert isinstance(runtime.current().llm.provider().limiter, RedisRateLimiter)


CALLS = 50
SOCKET_TIMEOUT = 0.25


def test_a_hung_redis_costs_one_socket_timeout_then_calls_keep_their_speed_and_sharing_resumes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    request = CompletionRequest([{"role": "user", "content": "Hi"}], {"max_tokens": 5})
    with PrivateRedis(tmp_path) as server:
        client = redis.Redis(connection_pool=build_pool(server.url, SOCKET_TIMEOUT))
        limiter = RedisRateLimiter(client, "llm:ratelimit:fake:m", rpm=6000, tpm=None, retry_interval=1.0)
        fake = FakeLLM(respond=lambda prompt: "ok")  # an instant provider: what is timed is the limiter
        provider = LLMProvider(LLMConfig(provider="fake", model="m", rpm_limit=6000), lambda _: fake, limiter=limiter)
        bucket = "{llm:ratelimit:fake:m}:rpm"
        observer = redis.Redis.from_url(server.url)

        def call() -> float:
            started = time.monotonic()
            provider.complete(request, Deadline.after(30))
            return time.monotonic() - started

        call()
        counted_at = float(observer.hget(bucket, "ts"))  # Redis's clock when it last counted a call
        server.freeze()
        first = call()  # waits for one socket timeout, then limits locally
        fifty = sum(call() for _ in range(CALLS))
        figures = f"with Redis frozen: the first call took {first:.3f} s, the next {CALLS} took {fifty:.3f} s in all"
        print(figures)
        assert first < SOCKET_TIMEOUT + 0.5, figures
        assert fifty < SOCKET_TIMEOUT, figures  # not one of them waited on Redis
        warnings = [r for r in caplog.records if r.levelname == "WARNING" and "shared limits llm:ratelimit:" in r.getMessage()]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]

        server.thaw()
        time.sleep(1.0)  # the retry interval: the next call tries Redis again
        call()
        assert float(observer.hget(bucket, "ts")) > counted_at  # Redis counted it: limits are shared again
        assert fake.calls == CALLS + 3
        observer.close()
        client.close()
