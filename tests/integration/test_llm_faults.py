"""Resilience against a fault-injecting OpenAI-compatible server on 127.0.0.1, through the facade."""

from __future__ import annotations

import time

import pytest

from modules.infrastructure.module_api import (
    InfrastructureService,
    LLMAuthenticationError,
    LLMMalformedResponseError,
    LLMProviderError,
    LLMRateLimitError,
    LLMTimeoutError,
    Prompt,
    PromptContext,
)
from tests.integration.fault_server import FAULT_API_KEY, Answer, FaultServer
from tests.metrics_support import sample

pytestmark = pytest.mark.usefixtures("clean_env")

API_KEY = FAULT_API_KEY
PROMPT = Prompt("Say {word}", parameters={"max_tokens": 8})
CONTEXT = PromptContext({"word": "hi"})



def test_retry_after_is_honoured(openai_at) -> None:
    with FaultServer([Answer(429, {"retry-after": "1"}), Answer(200)]) as server:
        openai_at(server)
        response = InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert response.content == "Hello from the fault server" and response.metadata["attempts"] == 2
    assert server.requests[1].at - server.requests[0].at >= 0.95


def test_a_retry_after_beyond_the_deadline_fails_at_once(openai_at) -> None:
    with FaultServer([Answer(429, {"retry-after-ms": "30000"})]) as server:
        openai_at(server, LLM_DEADLINE="5")
        started = time.monotonic()
        with pytest.raises(LLMRateLimitError) as raised:
            InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert raised.value.retry_after == 30 and time.monotonic() - started < 2 and len(server.requests) == 1


def test_5xx_is_retried(openai_at) -> None:
    with FaultServer([Answer(500), Answer(502), Answer(200)]) as server:
        openai_at(server)
        response = InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert response.metadata["attempts"] == 3 and len(server.requests) == 3


def test_the_breaker_opens_fails_fast_and_its_metric_shows_closed_once_the_cool_down_ends(openai_at) -> None:
    with FaultServer([Answer(503), Answer(503), Answer(200)]) as server:
        openai_at(server, LLM_MAX_RETRIES="0", LLM_BREAKER_THRESHOLD="2", LLM_BREAKER_COOLDOWN="0.5")
        for _ in range(2):
            with pytest.raises(LLMProviderError):
                InfrastructureService.execute_prompt(PROMPT, CONTEXT)
        with pytest.raises(LLMProviderError, match="LLM_BREAKER_COOLDOWN") as raised:
            InfrastructureService.execute_prompt(PROMPT, CONTEXT)
        assert raised.value.code == "circuit_open" and len(server.requests) == 2  # failed fast: the server never saw it
        assert sample("infrastructure_llm_breaker_open", provider="openai", model="gpt-4o-mini") == 1
        time.sleep(0.6)
        assert sample("infrastructure_llm_breaker_open", provider="openai", model="gpt-4o-mini") == 0  # no call needed
        assert InfrastructureService.execute_prompt(PROMPT, CONTEXT).content == "Hello from the fault server"


def test_a_slow_server_times_out_within_the_deadline(openai_at) -> None:
    with FaultServer([Answer(200, delay=3)]) as server:
        openai_at(server, LLM_TIMEOUT="0.4", LLM_DEADLINE="1.5")
        started = time.monotonic()
        with pytest.raises(LLMTimeoutError):
            InfrastructureService.execute_prompt(PROMPT, CONTEXT)
        elapsed = time.monotonic() - started
    assert elapsed < 2.0 and len(server.requests) >= 2


@pytest.mark.parametrize(("answer", "error"), [(Answer(401), LLMAuthenticationError), (Answer(429, code="insufficient_quota"), LLMRateLimitError)])
def test_401_and_quota_errors_are_not_retried(openai_at, answer: Answer, error: type) -> None:
    with FaultServer([answer]) as server:
        openai_at(server)
        with pytest.raises(error) as raised:
            InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert len(server.requests) == 1 and API_KEY not in str(raised.value)


MALFORMED = {
    "not JSON": Answer(body=b"<html>upstream error</html>", headers={"content-type": "text/html"}),
    "an empty object": Answer(body=b"{}"),
    "no choices": Answer(body=b'{"choices": []}'),
    "null content": Answer(content=None),
}


@pytest.mark.parametrize("answer", list(MALFORMED.values()), ids=list(MALFORMED))
def test_a_success_that_is_no_completion_is_retried_recorded_and_never_cached(openai_at, answer: Answer) -> None:
    prompt = Prompt("Say {word}", parameters={"temperature": 0})  # deterministic: an answer would be cached
    context = PromptContext({"word": "hi"}, module="faults")
    with FaultServer([answer, answer, Answer(content="fine")]) as server:
        openai_at(server, LLM_MAX_RETRIES="1")
        with pytest.raises(LLMMalformedResponseError, match="not with a completion"):
            InfrastructureService.execute_prompt(prompt, context)
        assert len(server.requests) == 2  # retried like a 5xx
        labels = {"provider": "openai", "model": "gpt-4o-mini", "module": "faults"}
        assert sample("infrastructure_llm_calls_total", **labels, outcome="LLMMalformedResponseError") == 1
        assert InfrastructureService.get_llm_usage(module="faults").failed_calls == 1
        response = InfrastructureService.execute_prompt(prompt, context)  # nothing was cached
    assert (response.content, response.metadata["cached"], len(server.requests)) == ("fine", False, 3)


def test_fallback_to_the_local_model(openai_at) -> None:
    with FaultServer([Answer(503)]) as server:
        openai_at(server, LLM_MAX_RETRIES="1", LLM_FALLBACK_PROVIDERS="local")
        response = InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert len(server.requests) == 2
    assert response.metadata["provider"] == "local" and response.metadata["fallback_from"] == ["openai"]
    assert response.content


def test_the_azure_request_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultServer([Answer(200)]) as server:
        monkeypatch.setenv("LLM_PROVIDER", "azure")
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.root_url)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", API_KEY)
        monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "lessons-gpt")
        monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2024-10-21")
        InfrastructureService.reset()
        response = InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    seen = server.requests[0]
    assert seen.path == "/openai/deployments/lessons-gpt/chat/completions?api-version=2024-10-21"
    assert seen.headers["api-key"] == API_KEY and "authorization" not in seen.headers
    assert response.metadata["provider"] == "azure"


def test_an_unreachable_server_is_a_provider_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultServer([Answer(200)]) as server:
        url = server.base_url  # closed when the block ends: nothing listens on its port any more
    monkeypatch.setenv("LLM_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    monkeypatch.setenv("LLM_MAX_RETRIES", "1")
    InfrastructureService.reset()
    with pytest.raises(LLMProviderError, match="could not be reached"):
        InfrastructureService.execute_prompt(PROMPT, CONTEXT)
