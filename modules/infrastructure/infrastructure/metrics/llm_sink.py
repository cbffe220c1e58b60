"""``LLMMetricsSink``: a usage-ledger sink turning each LLM call's ``UsageRecord`` into metric samples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modules.infrastructure.domain.llm.usage import UsageRecord
from modules.infrastructure.infrastructure.metrics.registry import InfrastructureMetrics


@dataclass(frozen=True)
class _Series:
    """The labelled children of one provider, model and module: bound once, since ``labels()`` is the slow part."""

    attempts: Any
    cache_hits: Any
    seconds: Any
    prompt_tokens: Any
    completion_tokens: Any
    cost: Any
    unpriced: Any


class LLMMetricsSink:
    """Counts calls, attempts, tokens, cost, cache hits and latency per provider, model and module.

    Only the record's provider, model, module and outcome become labels (guarded, so bounded);
    never the prompt, its name or any id.
    """

    def __init__(self, metrics: InfrastructureMetrics) -> None:
        self._metrics = metrics
        self._series: dict[tuple[str, str, str], _Series] = {}
        self._calls: dict[tuple[str, str, str, str], Any] = {}

    def __call__(self, record: UsageRecord) -> None:
        label = self._metrics.label
        labels = (label(record.provider), label(record.model), self._metrics.module_label(record.module))
        series = self._series.get(labels) or self._bind(labels)
        self._call_counter(labels, label(record.outcome)).inc()
        if record.attempts:
            series.attempts.inc(record.attempts)
        if record.cached:  # the provider did no work: no tokens, no cost, no provider latency
            series.cache_hits.inc()
            return
        series.seconds.observe(record.latency_ms / 1000)
        if record.prompt_tokens:
            series.prompt_tokens.inc(record.prompt_tokens)
        if record.completion_tokens:
            series.completion_tokens.inc(record.completion_tokens)
        if record.cost_usd:
            series.cost.inc(record.cost_usd)
        elif record.cost_usd is None and record.outcome == "ok":
            series.unpriced.inc()

    def _bind(self, labels: tuple[str, str, str]) -> _Series:
        m = self._metrics
        series = _Series(
            m.llm_attempts.labels(*labels),
            m.llm_cache_hits.labels(*labels),
            m.llm_seconds.labels(*labels),
            m.llm_tokens.labels(*labels, "prompt"),
            m.llm_tokens.labels(*labels, "completion"),
            m.llm_cost.labels(*labels),
            m.llm_unpriced.labels(*labels),
        )
        self._series[labels] = series  # a race binds the same children twice: harmless
        return series

    def _call_counter(self, labels: tuple[str, str, str], outcome: str) -> Any:
        key = (*labels, outcome)
        counter = self._calls.get(key)
        if counter is None:
            counter = self._calls[key] = self._metrics.llm_calls.labels(*labels, outcome)
        return counter
