"""LLM_USAGE_PERSIST: usage records also land in the llm_usage table, and a failing write never fails a call."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.domain.llm.usage import UsageLedger, UsageRecord
from modules.infrastructure.infrastructure.llm_clients.usage_store import DatabaseUsageSink
from modules.infrastructure.module_api import InfrastructureService, Prompt, PromptContext
from scripts.benchmarks.instant_llm import InstantServer


def record(**changes: object) -> UsageRecord:
    values: dict[str, object] = dict(
        timestamp=1_790_000_000.0, provider="openai", model="gpt-4o-mini", module="lessons", prompt_name="quiz",
        prompt_tokens=12, completion_tokens=5, latency_ms=42.5, cost_usd=0.0001, cached=False, outcome="ok",
    )
    values.update(changes)
    return UsageRecord(**values)  # type: ignore[arg-type]


def usage_rows() -> list[dict[str, object]]:
    with InfrastructureService.get_database_session() as db:
        result = db.execute(text("SELECT provider, model, module, prompt_tokens, completion_tokens, cached, outcome FROM llm_usage"))
        return [dict(row._mapping) for row in result]


def test_the_ledger_hands_each_record_to_its_sinks_and_survives_a_failing_one(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[UsageRecord] = []

    def broken(_: UsageRecord) -> None:
        raise OSError("disk full")

    ledger = UsageLedger(sinks=[broken, seen.append])
    with caplog.at_level(logging.WARNING):
        ledger.record(record())
    assert seen == [record()] and ledger.records() == [record()]
    assert "LLM usage record not persisted (OSError: disk full)" in caplog.text


def test_the_database_sink_writes_one_row_per_record(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / 'usage.db'}")
    InfrastructureService.migrate()
    sink = DatabaseUsageSink(InfrastructureService.get_database_session)
    sink(record())
    sink(record(cached=True, cost_usd=None, outcome="LLMTimeoutError"))
    assert usage_rows() == [
        {"provider": "openai", "model": "gpt-4o-mini", "module": "lessons", "prompt_tokens": 12, "completion_tokens": 5, "cached": 0, "outcome": "ok"},
        {"provider": "openai", "model": "gpt-4o-mini", "module": "lessons", "prompt_tokens": 12, "completion_tokens": 5, "cached": 1, "outcome": "LLMTimeoutError"},
    ]


@pytest.mark.parametrize("persist", ["true", "false"])
def test_the_facade_persists_usage_only_when_asked(clean_env: Path, monkeypatch: pytest.MonkeyPatch, persist: str) -> None:
    with InstantServer() as server:
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / 'usage.db'}")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-usage")
        monkeypatch.setenv("LLM_USAGE_PERSIST", persist)
        InfrastructureService.migrate()
        InfrastructureService.execute_prompt(Prompt("Hi {name}", name="greet"), PromptContext({"name": "Ada"}, module="lessons"))
        rows = usage_rows()
    if persist == "true":
        assert [(r["provider"], r["module"], r["outcome"]) for r in rows] == [("openai", "lessons", "ok")]
    else:
        assert rows == []
    assert InfrastructureService.get_llm_usage(module="lessons").calls == 1
