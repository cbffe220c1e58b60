"""Embedding benchmark: ``embed`` against the raw ``openai`` client's ``embeddings.create`` making the same request.

Against a local server that answers at once with one 1536-number vector (the client layer dominates: the
difference is the facade's overhead per call), then cache hits of the same text in memory and in Redis.
"""

from __future__ import annotations

import json
import os
from typing import Any

import openai
import redis

from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache
from modules.infrastructure.module_api import InfrastructureService
from scripts.benchmarks.instant_llm import InstantServer
from scripts.benchmarks.llm import LLM_VARIABLES, MAX_OVERHEAD_US, _configure
from scripts.benchmarks.timing import interleave, round_ratios

TEXT = "A kitten is sitting on a rug."
MODEL = "text-embedding-3-small"


def run(ops: int, rounds: int) -> dict[str, Any]:
    saved = {name: os.environ.pop(name, None) for name in (*LLM_VARIABLES, "LLM_CACHE_TTL")}
    try:
        with InstantServer() as server:
            instant = _instant(server.base_url, ops, rounds)
            hits = _cache_hits(server.base_url, ops, rounds)
    finally:
        InfrastructureService.shutdown()
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value
    results = {**instant, **hits}
    # The baseline is the raw client's raw response read with json.loads: the SDK's own parsing builds a model of
    # every number and is far slower than the facade, which reads the body as the raw variant does.
    overhead = results["embed_instant"].per_op_us - results["raw_openai_json_instant"].per_op_us
    return {
        "benchmark": "embed",
        "work": f"one embeddings request of {TEXT!r} answered with a 1536-number vector (overhead over the raw client's "
        "response read with json.loads); cache hits of the same text",
        "results": {name: result.to_dict() for name, result in results.items()},
        "ratios": {
            "embed_overhead_us_instant": round(overhead, 1),
            "embed_latency_vs_raw_json_instant": round(results["embed_instant"].per_op_us / results["raw_openai_json_instant"].per_op_us, 3),
            "embed_latency_vs_raw_sdk_instant": round(results["embed_instant"].per_op_us / results["raw_openai_embeddings_instant"].per_op_us, 3),
            "raw_json_over_embed_per_round_median": round_ratios(results, "raw_openai_json_instant", "embed_instant")["median"],
        },
        "target": {"embed_overhead_us_instant": f"< {MAX_OVERHEAD_US:g} (measured {overhead:.1f})", "met": overhead < MAX_OVERHEAD_US},
    }


def _instant(base_url: str, ops: int, rounds: int) -> dict[str, Any]:
    _configure(LLM_PROVIDER="openai", OPENAI_BASE_URL=base_url, OPENAI_API_KEY="bench", LLM_CACHE_TTL="0")
    raw = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0, timeout=30)
    variants = {
        "raw_openai_embeddings_instant": lambda: raw.embeddings.create(model=MODEL, input=[TEXT], encoding_format="float", timeout=30),
        "raw_openai_json_instant": lambda: json.loads(
            raw.embeddings.with_raw_response.create(model=MODEL, input=[TEXT], encoding_format="float", timeout=30).content
        ),
        "embed_instant": lambda: InfrastructureService.embed([TEXT], module="benchmark"),
    }
    return interleave(variants, ops, rounds)


def _cache_hits(base_url: str, ops: int, rounds: int) -> dict[str, Any]:
    os.environ.pop("LLM_CACHE_TTL", None)  # the instant run turned caching off
    with InfrastructureService.override(cache=MemoryCache()):
        _configure(LLM_PROVIDER="openai", OPENAI_BASE_URL=base_url, OPENAI_API_KEY="bench")
        InfrastructureService.embed([TEXT], module="benchmark")
        assert InfrastructureService.embed([TEXT], module="benchmark").cached == 1
        results = interleave({"embed_cache_hit_memory": lambda: InfrastructureService.embed([TEXT], module="benchmark")}, ops, rounds)
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_timeout=1).ping()
    except redis.RedisError:
        return results
    _configure(LLM_PROVIDER="openai", OPENAI_BASE_URL=base_url, OPENAI_API_KEY="bench", REDIS_URL=url)
    InfrastructureService.embed([TEXT], module="benchmark")
    assert InfrastructureService.embed([TEXT], module="benchmark").cached == 1
    results.update(interleave({"embed_cache_hit_redis": lambda: InfrastructureService.embed([TEXT], module="benchmark")}, ops, rounds))
    cached = redis.Redis.from_url(url)
    for key in cached.scan_iter(match="llm:embedding:*"):  # this run's vectors only
        cached.delete(key)
    cached.close()
    return results
