"""LLM metrics through the facade's own gateway (a local OpenAI-compatible server), and what labels never hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules.infrastructure.module_api import InfrastructureService, LLMProviderError, Prompt, PromptContext
from scripts.benchmarks.instant_llm import InstantServer
from tests.metrics_support import sample

API_KEY = "sk-proj-METRICSCANARY-4f1d9a"
DB_PASSWORD = "db-METRICSCANARY-pw"
PROMPT_TEXT = "Summarise the confidential METRICSCANARY memo: {text}"
LABELS = {"provider": "openai", "model": "gpt-4o-mini", "module": "lessons"}


@pytest.fixture
def llm_server(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> InstantServer:
    with InstantServer() as server:
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / 'llm.db'}")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
        InfrastructureService.reset()
        InfrastructureService.migrate()
        yield server


def ask(module: str | None = "lessons", **options: object) -> None:
    InfrastructureService.execute_prompt(Prompt(PROMPT_TEXT, name="quarterly_memo"), PromptContext({"text": "q3 figures"}, module=module, **options))  # type: ignore[arg-type]


def test_calls_tokens_cost_latency_and_cache_hits_per_provider_model_module(llm_server: InstantServer) -> None:
    ask(use_cache=True)
    ask(use_cache=True)  # the same prompt again: answered from the cache
    assert sample("infrastructure_llm_calls_total", **LABELS, outcome="ok") == 2
    assert sample("infrastructure_llm_cache_hits_total", **LABELS) == 1
    assert sample("infrastructure_llm_attempts_total", **LABELS) == 1
    assert sample("infrastructure_llm_tokens_total", **LABELS, kind="prompt") == 12
    assert sample("infrastructure_llm_tokens_total", **LABELS, kind="completion") == 9
    assert sample("infrastructure_llm_cost_usd_total", **LABELS) == pytest.approx((12 * 0.15 + 9 * 0.60) / 1e6)
    assert sample("infrastructure_llm_latency_seconds_count", **LABELS) == 1  # cache hits excluded


def test_a_failed_call_counts_under_its_error_class_with_its_attempts(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")  # nothing listens there
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("LLM_MAX_RETRIES", "1")
    InfrastructureService.reset()
    with pytest.raises(LLMProviderError) as raised:
        ask(module=None)
    labels = {**LABELS, "module": "unknown"}
    assert sample("infrastructure_llm_calls_total", **labels, outcome=type(raised.value).__name__) == 1
    assert sample("infrastructure_llm_attempts_total", **labels) == 2


def test_caller_supplied_module_names_that_are_not_names_become_invalid(llm_server: InstantServer) -> None:
    ask(module="lessons; DROP TABLE users")
    ask(module="x" * 65)
    assert sample("infrastructure_llm_calls_total", **{**LABELS, "module": "invalid"}, outcome="ok") == 2


def test_no_secret_url_prompt_or_id_appears_in_the_metrics(llm_server: InstantServer, monkeypatch: pytest.MonkeyPatch) -> None:
    ask(use_cache=True, request_id="req-METRICSCANARY-1")
    ask(use_cache=True)
    InfrastructureService.publish_event("lessons", {"memo": "METRICSCANARY"}, event_type="quarterly.sent", source="lessons")
    answered = InfrastructureService.metrics_text()
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg2://app:{DB_PASSWORD}@127.0.0.1:1/app")
    monkeypatch.setenv("DB_CONNECT_TIMEOUT", "1")
    monkeypatch.setenv("REDIS_URL", f"redis://cache:{DB_PASSWORD}@127.0.0.1:1/0")
    InfrastructureService.reset()
    InfrastructureService.get_cache("lessons").get("a")  # Redis down: a miss and an error
    failing = InfrastructureService.metrics_text()  # the outbox cannot be counted: left out
    assert sample("infrastructure_llm_calls_total", answered, **LABELS, outcome="ok") == 2
    assert sample("infrastructure_cache_errors_total", failing, backend="redis") == 1
    assert sample("infrastructure_outbox_up", failing) == 0
    for leak in ("METRICSCANARY", "127.0.0.1", "Summarise", "q3 figures", "quarterly", "req-", "postgresql", "redis://"):
        assert leak not in answered + failing
