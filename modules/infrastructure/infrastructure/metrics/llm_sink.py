"""``LLMMetricsSink``: a usage-ledger sink turning each LLM call's ``UsageRecord`` into metric samples."""

from __future__ import annotations

from modules.infrastructure.domain.llm.usage import UsageRecord
from modules.infrastructure.infrastructure.metrics.registry import InfrastructureMetrics


class LLMMetricsSink:
    """Counts calls, attempts, tokens, cost, cache hits and latency per provider, model and module.

    Only the record's provider, model, module and outcome become labels (guarded, so bounded);
    never the prompt, its name or any id.
    """

    def __init__(self, metrics: InfrastructureMetrics) -> None:
        self._metrics = metrics

    def __call__(self, record: UsageRecord) -> None:
        m, label = self._metrics, self._metrics.label
        labels = (label(record.provider), label(record.model), m.module_label(record.module))
        m.llm_calls.labels(*labels, label(record.outcome)).inc()
        if record.attempts:
            m.llm_attempts.labels(*labels).inc(record.attempts)
        if record.cached:  # the provider did no work: no tokens, no cost, no provider latency
            m.llm_cache_hits.labels(*labels).inc()
            return
        m.llm_seconds.labels(*labels).observe(record.latency_ms / 1000)
        if record.prompt_tokens:
            m.llm_tokens.labels(*labels, "prompt").inc(record.prompt_tokens)
        if record.completion_tokens:
            m.llm_tokens.labels(*labels, "completion").inc(record.completion_tokens)
        if record.cost_usd:
            m.llm_cost.labels(*labels).inc(record.cost_usd)
        elif record.cost_usd is None and record.outcome == "ok":
            m.llm_unpriced.labels(*labels).inc()
