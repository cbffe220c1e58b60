"""``x-should-retry`` from a fault-injecting OpenAI-compatible server on 127.0.0.1, through the facade."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from modules.infrastructure.module_api import InfrastructureService, LLMProviderError
from tests.integration.fault_server import Answer, FaultServer
from tests.integration.test_llm_faults import API_KEY, CONTEXT, PROMPT

pytestmark = pytest.mark.usefixtures("clean_env")
DO_NOT_RETRY = {"x-should-retry": "false"}


@pytest.mark.parametrize("status", [500, 503, 429, 409])
def test_false_stops_the_retries_of_a_retryable_status(openai_at: Callable[..., None], status: int) -> None:
    with FaultServer([Answer(status, DO_NOT_RETRY), Answer(200)]) as server:
        openai_at(server)
        with pytest.raises(LLMProviderError, match="asked not to retry it") as raised:
            InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert len(server.requests) == 1 and raised.value.should_retry is False


def test_false_stops_the_retries_of_a_stream_too(openai_at: Callable[..., None]) -> None:
    with FaultServer([Answer(500, DO_NOT_RETRY), Answer(200)]) as server:
        openai_at(server)
        with pytest.raises(LLMProviderError):
            list(InfrastructureService.stream_prompt(PROMPT, CONTEXT))
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 404, 422])
def test_true_retries_a_status_otherwise_final(openai_at: Callable[..., None], status: int) -> None:
    with FaultServer([Answer(status, {"x-should-retry": "true"}), Answer(200)]) as server:
        openai_at(server)
        response = InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert response.metadata["attempts"] == 2 and len(server.requests) == 2


def test_false_on_the_primary_still_falls_back_to_another_provider(openai_at: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultServer([Answer(503, DO_NOT_RETRY)]) as primary, FaultServer([Answer(200, content="from azure")]) as fallback:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fallback.root_url)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", API_KEY)
        monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "backup")
        openai_at(primary, LLM_FALLBACK_PROVIDERS="azure")
        response = InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert (len(primary.requests), len(fallback.requests)) == (1, 1)
    assert response.content == "from azure" and response.metadata["fallback_from"] == ["openai"]
