"""Metric label values stay name-like and bounded, whatever a caller passes."""

from __future__ import annotations

from modules.infrastructure.domain.llm.usage import UsageRecord
from modules.infrastructure.infrastructure.metrics.labels import LabelGuard
from modules.infrastructure.infrastructure.metrics.llm_sink import LLMMetricsSink
from modules.infrastructure.infrastructure.metrics.registry import InfrastructureMetrics


def test_name_like_values_pass_and_empty_ones_are_unknown() -> None:
    guard = LabelGuard()
    assert [guard(v) for v in ("lessons", "gpt-4o-mini", "replica-1", None, "")] == ["lessons", "gpt-4o-mini", "replica-1", "unknown", "unknown"]


def test_text_and_overlong_values_are_invalid() -> None:
    guard = LabelGuard()
    assert guard("Summarise this memo") == "invalid"
    assert guard("a" * 65) == "invalid"
    assert guard('x"} 1\nfake_metric') == "invalid"


def test_past_the_limit_new_values_are_other_and_known_ones_stay() -> None:
    guard = LabelGuard(limit=2)
    assert [guard("a"), guard("b"), guard("c"), guard("a")] == ["a", "b", "other", "a"]


def test_a_caller_flooding_module_names_does_not_take_the_model_label_budget() -> None:
    metrics = InfrastructureMetrics()
    sink = LLMMetricsSink(metrics)
    for n in range(150):
        sink(usage(module=f"caller-{n}"))
    sink(usage(model="gpt-4.1", module="caller-0"))
    registry = metrics.registry
    labels = {"provider": "openai", "module": "other", "outcome": "ok"}
    assert registry.get_sample_value("infrastructure_llm_calls_total", {**labels, "model": "gpt-4o-mini"}) == 50
    assert registry.get_sample_value("infrastructure_llm_calls_total", {**labels, "module": "caller-0", "model": "gpt-4.1"}) == 1


def usage(model: str = "gpt-4o-mini", module: str = "lessons") -> UsageRecord:
    return UsageRecord(0.0, "openai", model, module, None, 3, 2, 12.0, 0.0001, False, "ok", 1)
