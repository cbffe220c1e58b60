"""The real adapters' embeddings and moderation on an ``httpx2.MockTransport`` (where each request goes, what a
provider without the capability says), their metrics, and the breaker and rate limits they share with chat."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import httpx2
import pytest

from modules.infrastructure.domain.llm.embeddings import LLMEmbeddings
from modules.infrastructure.domain.llm.moderation import LLMModeration
from modules.infrastructure.domain.llm.usage import UsageLedger
from modules.infrastructure.module_api import (
    InfrastructureService,
    LLMBadRequestError,
    LLMConfig,
    LLMProviderError,
    LLMRateLimitError,
    Prompt,
)
from modules.infrastructure.module_api.testing import FakeLLM
from scripts.benchmarks.instant_llm import InstantServer
from tests.llm_support import API_KEY, Recorder, completion_body, config, gateway
from tests.metrics_support import sample


def answer(request: httpx2.Request) -> httpx2.Response:
    if request.url.path.endswith("/embeddings"):
        texts = json.loads(request.content)["input"]
        data = [{"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0]} for i, t in enumerate(texts)]
        return httpx2.Response(200, json={"object": "list", "data": data, "model": "m", "usage": {"prompt_tokens": 2, "total_tokens": 2}})
    return httpx2.Response(200, json=completion_body())


def test_azure_embeds_on_its_embedding_deployment_and_chats_on_its_chat_one() -> None:
    recorder = Recorder(answer)
    provider = recorder.provider(config("azure", embedding_model="embed-deploy"))
    llm = gateway(provider)
    result = LLMEmbeddings(llm.providers, llm.cache, llm.ledger).embed(["abc"], module="search")
    llm.execute(Prompt("Hi"))
    assert result.vectors == ((3.0, 1.0),) and result.model == "embed-deploy" and result.provider == "azure"
    paths = [r.url.path for r in recorder.requests]
    assert paths == ["/openai/deployments/embed-deploy/embeddings", "/openai/deployments/chat/chat/completions"]
    assert recorder.requests[0].headers["api-key"] == API_KEY and recorder.requests[0].url.params["api-version"] == "2024-10-21"


def test_azure_without_an_embedding_deployment_or_moderation_says_what_to_set() -> None:
    recorder = Recorder(answer)
    llm = gateway(recorder.provider(config("azure")))
    with pytest.raises(LLMBadRequestError, match="set AZURE_OPENAI_EMBEDDING_DEPLOYMENT"):
        LLMEmbeddings(llm.providers, llm.cache, llm.ledger).embed(["abc"], module="search")
    with pytest.raises(LLMBadRequestError, match="'azure' has no moderation endpoint"):
        LLMModeration(llm.providers, UsageLedger()).moderate("abc", module="forum")
    assert recorder.requests == []


def test_moderation_on_a_fallback_openai_is_named_in_the_refusal() -> None:
    recorder = Recorder(answer)
    llm = gateway(recorder.provider(config("azure")), recorder.provider(config("openai", moderation_model="omni-moderation-latest")))
    with pytest.raises(LLMBadRequestError, match="pass provider='openai'"):
        LLMModeration(llm.providers, UsageLedger()).moderate("abc", module="forum")


@pytest.mark.usefixtures("clean_env")
def test_the_local_model_refuses_moderation_without_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "local")
    with pytest.raises(LLMBadRequestError, match="'local' has no moderation endpoint; moderation needs OpenAI: set OPENAI_API_KEY"):
        InfrastructureService.moderate("hello", module="forum")
    from modules.infrastructure.infrastructure.runtime import runtime

    assert not runtime.current().llm.provider().initialize_client().server.running


def test_embeddings_reach_the_metrics_per_provider_model_and_module(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with InstantServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
        InfrastructureService.reset()
        InfrastructureService.embed(["one text"], module="lessons")
        InfrastructureService.embed(["one text"], module="lessons")
        labels = {"provider": "openai", "model": "text-embedding-3-small", "module": "lessons"}
        assert sample("infrastructure_llm_calls_total", **labels, outcome="ok") == 2
        assert sample("infrastructure_llm_cache_hits_total", **labels) == 1
        assert sample("infrastructure_llm_tokens_total", **labels, kind="prompt") == 4


@pytest.mark.usefixtures("clean_env")
def test_the_circuit_breaker_and_the_rate_limits_hold_for_embeddings() -> None:
    fake = FakeLLM()
    settings = LLMConfig(provider="fake", model="fake-model", max_retries=0, breaker_threshold=1, tpm_limit=60, timeout=5.0, deadline=0.5)
    fake.fail_embeddings(LLMProviderError("scripted 500", provider="fake", status_code=500))
    with InfrastructureService.override(llm=fake.gateway(settings=settings)):
        with pytest.raises(LLMProviderError, match="scripted 500"):
            InfrastructureService.embed(["first"], module="search")
        with pytest.raises(LLMProviderError, match="calls fail fast") as raised:
            InfrastructureService.embed(["second"], module="search")
    assert raised.value.code == "circuit_open" and fake.embedded == [("first",)]
    fake = FakeLLM()
    with InfrastructureService.override(llm=fake.gateway(settings=replace(settings, breaker_threshold=5))):
        InfrastructureService.embed(["x" * 200], module="search")  # about 58 of the 60 tokens a minute
        with pytest.raises(LLMRateLimitError, match="LLM_TPM_LIMIT"):
            InfrastructureService.embed(["y" * 200], module="search")  # no capacity within the 0.5 s deadline
    assert len(fake.embedded) == 1
