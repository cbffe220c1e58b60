"""LLM benchmark: ``execute_prompt`` against the raw ``openai`` client making the same request.

Against a local server that answers at once (the client layer dominates: the difference is the
facade's overhead per call), then the embedded model, then cache hits in memory and in Redis.
"""

from __future__ import annotations

import os
from typing import Any

import openai
import redis

from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache
from modules.infrastructure.module_api import InfrastructureService, Prompt, PromptContext
from scripts.benchmarks.instant_llm import InstantServer
from scripts.benchmarks.timing import interleave

MAX_OVERHEAD_US = 300.0
TEXT = "Name three colors."
PROMPT = Prompt("{text}", parameters={"max_tokens": 16})
CACHED = Prompt("{text}", parameters={"max_tokens": 16, "temperature": 0})
CONTEXT = PromptContext({"text": TEXT}, module="benchmark", use_cache=False)
LLM_VARIABLES = ("LLM_PROVIDER", "OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL", "REDIS_URL", "LLM_FALLBACK_PROVIDERS")


def run(ops: int, rounds: int) -> dict[str, Any]:
    saved = {name: os.environ.pop(name, None) for name in LLM_VARIABLES}
    try:
        with InstantServer() as server:
            instant = _instant(server.base_url, ops, rounds)
            memory_hit, redis_hit = _cache_hits(server.base_url, ops, rounds)
        embedded = _embedded(max(3, ops // 100), max(3, rounds // 3))
    finally:
        InfrastructureService.shutdown()
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value
    results = {**instant, **embedded, **memory_hit, **redis_hit}
    overhead = results["facade_instant"].per_op_us - results["raw_openai_instant"].per_op_us
    embedded_overhead = results["facade_embedded"].per_op_us - results["raw_openai_embedded"].per_op_us
    return {
        "benchmark": "llm",
        "work": f"one chat completion of {TEXT!r} (max_tokens 16); cache hits of the same prompt at temperature 0",
        "results": {name: result.to_dict() for name, result in results.items()},
        "ratios": {
            "facade_overhead_us_instant": round(overhead, 1),
            "facade_overhead_us_embedded": round(embedded_overhead, 1),
            "facade_latency_vs_raw_instant": round(results["facade_instant"].per_op_us / results["raw_openai_instant"].per_op_us, 3),
        },
        "target": {"facade_overhead_us_instant": f"< {MAX_OVERHEAD_US:g} (measured {overhead:.1f})", "met": overhead < MAX_OVERHEAD_US},
    }


def _configure(**settings: str) -> None:
    for name in LLM_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(settings)
    InfrastructureService.reset()


def _instant(base_url: str, ops: int, rounds: int) -> dict[str, Any]:
    _configure(LLM_PROVIDER="openai", OPENAI_BASE_URL=base_url, OPENAI_API_KEY="bench", OPENAI_MODEL="gpt-4o-mini")
    raw = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0, timeout=30)
    messages = [{"role": "user", "content": TEXT}]
    variants = {
        "raw_openai_instant": lambda: raw.chat.completions.create(model="gpt-4o-mini", messages=messages, max_tokens=16, timeout=30),
        "facade_instant": lambda: InfrastructureService.execute_prompt(PROMPT, CONTEXT),
    }
    return interleave(variants, ops, rounds)


def _cache_hits(base_url: str, ops: int, rounds: int) -> tuple[dict[str, Any], dict[str, Any]]:
    context = PromptContext({"text": TEXT}, module="benchmark")
    with InfrastructureService.override(cache=MemoryCache()):
        _configure(LLM_PROVIDER="openai", OPENAI_BASE_URL=base_url, OPENAI_API_KEY="bench")
        InfrastructureService.execute_prompt(CACHED, context)
        memory = interleave({"facade_cache_hit_memory": lambda: InfrastructureService.execute_prompt(CACHED, context)}, ops, rounds)
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_timeout=1).ping()
    except redis.RedisError:
        return memory, {}
    _configure(LLM_PROVIDER="openai", OPENAI_BASE_URL=base_url, OPENAI_API_KEY="bench", REDIS_URL=url)
    InfrastructureService.execute_prompt(CACHED, context)
    hit = interleave({"facade_cache_hit_redis": lambda: InfrastructureService.execute_prompt(CACHED, context)}, ops, rounds)
    cached_answers = redis.Redis.from_url(url)
    for key in cached_answers.scan_iter(match="llm:response:*"):  # this run's answers only, not the rate limits
        cached_answers.delete(key)
    cached_answers.close()
    return memory, hit


def _embedded(ops: int, rounds: int) -> dict[str, Any]:
    _configure(LLM_PROVIDER="local")
    InfrastructureService.execute_prompt(PROMPT, CONTEXT)  # starts the server
    from modules.infrastructure.infrastructure.runtime import runtime

    base_url = runtime.current().llm.provider().initialize_client().server.base_url()
    raw = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0, timeout=60)
    messages = [{"role": "user", "content": TEXT}]
    variants = {
        "raw_openai_embedded": lambda: raw.chat.completions.create(model="local", messages=messages, max_tokens=16, timeout=60),
        "facade_embedded": lambda: InfrastructureService.execute_prompt(PROMPT, CONTEXT),
    }
    return interleave(variants, ops, rounds, warmup=2)
