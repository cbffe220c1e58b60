"""LLM_RPM_LIMIT shared through Redis: two processes together get one minute's capacity, not two."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import sys
import redis
from modules.infrastructure.infrastructure.llm_clients.redis_rate_limit import RedisRateLimiter
limiter = RedisRateLimiter(redis.Redis.from_url(sys.argv[1]), "openai", sys.argv[2], rpm=5, tpm=None)
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
        client.delete(f"llm:ratelimit:openai:{model}:rpm")
        client.close()
    assert sum(granted) == 5  # 8 asked within the minute, 5 allowed at once across both processes


def test_redis_down_falls_back_to_the_process_buckets() -> None:
    from modules.infrastructure.infrastructure.llm_clients.redis_rate_limit import RedisRateLimiter

    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2, socket_timeout=0.2)
    limiter = RedisRateLimiter(dead, "openai", "m", rpm=2, tpm=None)
    assert [limiter.reserve(1) == 0.0 for _ in range(3)] == [True, True, False]


def test_the_facade_shares_limits_when_redis_is_configured(clean_env, redis_url: str, monkeypatch) -> None:
    from modules.infrastructure.infrastructure.runtime import runtime
    from modules.infrastructure.infrastructure.llm_clients.redis_rate_limit import RedisRateLimiter
    from modules.infrastructure.module_api import InfrastructureService

    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("LLM_RPM_LIMIT", "600")
    InfrastructureService.reset()
    assert isinstance(runtime.current().llm.provider().limiter, RedisRateLimiter)
