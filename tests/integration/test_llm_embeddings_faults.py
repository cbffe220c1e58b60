"""``embed`` and ``moderate`` against a fault-injecting OpenAI-compatible server on 127.0.0.1, through the facade."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from modules.infrastructure.module_api import (
    InfrastructureService,
    LLMAuthenticationError,
    LLMMalformedResponseError,
    LLMTimeoutError,
)
from tests.integration.fault_server import FAULT_API_KEY, Answer, FaultServer, text_vector

pytestmark = pytest.mark.usefixtures("clean_env")

PRICES = {"version": "test", "models": {"text-embedding-3-small": {"input": 0.02, "output": 0.0}}}


@pytest.fixture
def embeddings_at(openai_at: Callable[..., None], clean_env: Path) -> Callable[..., None]:
    """``openai_at`` with a price table that has the embedding model."""
    prices = clean_env / "prices.json"
    prices.write_text(json.dumps(PRICES))
    return lambda server, **settings: openai_at(server, LLM_PRICES_FILE=str(prices), **settings)


def vector(text: str) -> tuple[float, ...]:
    return tuple(text_vector(text))


def test_vectors_come_back_in_order_with_usage_and_cost(embeddings_at) -> None:
    with FaultServer([Answer()]) as server:
        embeddings_at(server)
        result = InfrastructureService.embed(["one two", "three four five"], module="search")
    assert result.vectors == (vector("one two"), vector("three four five")) and result.model == "text-embedding-3-small"
    assert result.usage_stats.prompt_tokens == 5 and result.usage_stats.cost_usd == pytest.approx(5 * 0.02 / 1e6)
    sent = server.requests[0]
    assert sent.path == "/v1/embeddings" and sent.body["input"] == ["one two", "three four five"]
    assert sent.body["model"] == "text-embedding-3-small" and sent.body["encoding_format"] == "float"
    usage = InfrastructureService.get_llm_usage(module="search")
    assert usage.calls == 1 and usage.prompt_tokens == 5 and usage.cost_usd == pytest.approx(1e-7)


def test_a_list_over_the_request_limit_goes_in_several_requests_in_order(embeddings_at) -> None:
    texts = [f"text {i}" for i in range(2100)]
    with FaultServer([Answer()]) as server:
        embeddings_at(server)
        result = InfrastructureService.embed(texts, module="search")
    assert [len(r.body["input"]) for r in server.requests] == [2048, 52]
    assert result.vectors == tuple(vector(t) for t in texts)


def test_a_second_call_sends_only_the_texts_not_cached(embeddings_at) -> None:
    with FaultServer([Answer()]) as server:
        embeddings_at(server)
        InfrastructureService.embed(["alpha", "beta"], module="search")
        again = InfrastructureService.embed(["beta", "gamma", "alpha"], module="search")
        all_cached = InfrastructureService.embed(["gamma"], module="search")
    assert [r.body["input"] for r in server.requests] == [["alpha", "beta"], ["gamma"]]
    assert again.cached == 2 and again.vectors == (vector("beta"), vector("gamma"), vector("alpha"))
    assert all_cached.cached == 1 and all_cached.usage_stats.cost_usd == 0.0
    assert InfrastructureService.get_llm_usage(module="search").cached_calls == 1


def test_429_with_retry_after_is_retried(embeddings_at) -> None:
    with FaultServer([Answer(429, {"retry-after": "1"}), Answer()]) as server:
        embeddings_at(server)
        result = InfrastructureService.embed(["retry"], module="search")
    assert result.vectors == (vector("retry"),) and len(server.requests) == 2
    assert server.requests[1].at - server.requests[0].at >= 0.95


def test_401_is_not_retried_and_the_key_is_not_shown(embeddings_at) -> None:
    with FaultServer([Answer(401)]) as server:
        embeddings_at(server)
        with pytest.raises(LLMAuthenticationError) as raised:
            InfrastructureService.embed(["refused"], module="search")
    assert len(server.requests) == 1 and FAULT_API_KEY not in str(raised.value)
    assert InfrastructureService.get_llm_usage(module="search").failed_calls == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"data": [{"index": 0, "embedding": [0.1]}]}',  # one vector for two texts
        b'{"data": [{"index": 0, "embedding": [0.1]}, {"index": 5, "embedding": [0.2]}]}',
        b'{"data": [{"index": 0, "embedding": [0.1]}, {"index": 1, "embedding": ["x"]}]}',
        b'{"data": [{"index": 0, "embedding": [NaN]}, {"index": 1, "embedding": [0.2]}]}',
        b'{"data": [{"index": 0, "embedding": [0.1]}, {"index": 1, "embedding": [0.2, 0.3]}]}',
    ],
    ids=["not-json", "wrong-count", "wrong-index", "non-float", "nan", "differing-lengths"],
)
def test_a_malformed_body_is_an_error_and_nothing_is_cached(embeddings_at, body: bytes) -> None:
    with FaultServer([Answer(body=body), Answer(body=body), Answer()]) as server:
        embeddings_at(server, LLM_MAX_RETRIES="1")
        with pytest.raises(LLMMalformedResponseError, match="not with embeddings"):
            InfrastructureService.embed(["first", "second"], module="search")
        result = InfrastructureService.embed(["first", "second"], module="search")
    assert len(server.requests) == 3 and result.cached == 0 and result.vectors == (vector("first"), vector("second"))


def test_a_slow_server_meets_the_deadline(embeddings_at) -> None:
    with FaultServer([Answer(delay=3)]) as server:
        embeddings_at(server, LLM_TIMEOUT="0.4", LLM_DEADLINE="1.5")
        started = time.monotonic()
        with pytest.raises(LLMTimeoutError):
            InfrastructureService.embed(["slow"], module="search")
        elapsed = time.monotonic() - started
    assert elapsed < 1.5 + 0.5, f"embed failed after {elapsed:.2f} s with LLM_DEADLINE=1.5"
    assert len(server.requests) >= 2


def test_moderation_through_the_endpoint_with_retries(embeddings_at) -> None:
    with FaultServer([Answer(429, {"retry-after": "0.2"}), Answer()]) as server:
        embeddings_at(server)
        flagged = InfrastructureService.moderate("I will attack you", module="forum")
        calm = InfrastructureService.moderate("Nice weather", module="forum")
    assert flagged.flagged and flagged.categories["violence"] and flagged.scores["violence"] == 0.9
    assert not calm.flagged and calm.provider == "openai" and calm.model == "omni-moderation-latest"
    assert [r.path for r in server.requests] == ["/v1/moderations"] * 3
    assert server.requests[1].body == {"model": "omni-moderation-latest", "input": "I will attack you"}
    usage = InfrastructureService.get_llm_usage(module="forum")
    assert usage.calls == 2 and usage.total_tokens == 0 and usage.cost_usd == 0.0


def test_a_malformed_moderation_is_an_error(embeddings_at) -> None:
    with FaultServer([Answer(body=b'{"results": []}')]) as server:
        embeddings_at(server, LLM_MAX_RETRIES="0")
        with pytest.raises(LLMMalformedResponseError, match="not with a moderation"):
            InfrastructureService.moderate("text", module="forum")
    assert len(server.requests) == 1
