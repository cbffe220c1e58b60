"""One usage record per ``embed`` or ``moderate`` call, as ``execute_prompt`` records its calls."""

from __future__ import annotations

import time

from modules.infrastructure.domain.llm.usage import UsageLedger, UsageRecord


def record_call(
    ledger: UsageLedger, provider: str, model: str, module: str, tokens: int, started: float,
    cost: float | None, *, cached: bool = False, outcome: str = "ok", attempts: int = 0,
) -> None:
    """Record a call that started at ``started`` (``time.perf_counter()``) and sent ``tokens`` input tokens."""
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    ledger.record(UsageRecord(ledger.clock(), provider, model, module, None, tokens, 0, latency_ms, cost, cached, outcome, attempts))
