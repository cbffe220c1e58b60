"""The real adapters' embeddings and moderation on an ``httpx2.MockTransport``: where each request goes, and
what a provider without the capability says."""

from __future__ import annotations

import json

import httpx2
import pytest

from modules.infrastructure.domain.llm.embeddings import LLMEmbeddings
from modules.infrastructure.domain.llm.moderation import LLMModeration
from modules.infrastructure.domain.llm.usage import UsageLedger
from modules.infrastructure.module_api import InfrastructureService, LLMBadRequestError, Prompt
from tests.llm_support import API_KEY, Recorder, completion_body, config, gateway


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
