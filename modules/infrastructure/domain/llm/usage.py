"""Usage records of LLM calls, kept in process and added up on demand."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from modules.infrastructure.domain.llm.values import LLMUsageSummary

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UsageRecord:
    """One call: who made it, against what, what it used and how it ended (``ok`` or the error class)."""

    timestamp: float
    provider: str
    model: str
    module: str | None
    prompt_name: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    cost_usd: float | None
    cached: bool
    outcome: str
    attempts: int = 0  # requests sent to the provider, retries included (0 for a cache hit)


UsageSink = Callable[[UsageRecord], None]


class UsageLedger:
    """Thread-safe, bounded list of ``UsageRecord``s (the oldest are dropped past ``max_records``)."""

    def __init__(
        self,
        max_records: int = 100_000,
        clock: Callable[[], float] = time.time,
        sinks: Sequence[UsageSink] = (),
    ) -> None:
        self._records: list[UsageRecord] = []
        self._max = max_records
        self._lock = threading.Lock()
        self._sinks = tuple(sinks)
        self.clock = clock

    def record(self, record: UsageRecord) -> None:
        """Keep ``record`` in memory and hand it to every sink; a failing sink is logged, never raised."""
        with self._lock:
            self._records.append(record)
            if len(self._records) > self._max:
                del self._records[: len(self._records) - self._max]
        for sink in self._sinks:
            try:
                sink(record)
            except Exception as exc:  # usage is bookkeeping: it must not fail the call it describes
                logger.warning("LLM usage record not persisted (%s: %s)", type(exc).__name__, exc)

    def records(self) -> list[UsageRecord]:
        with self._lock:
            return list(self._records)

    def summary(self, since: datetime | float | None = None, module: str | None = None) -> LLMUsageSummary:
        """Totals of the records at or after ``since`` (a datetime or epoch seconds), of ``module`` when given."""
        start = since.timestamp() if isinstance(since, datetime) else since
        chosen = [
            r for r in self.records() if (start is None or r.timestamp >= start) and (module is None or r.module == module)
        ]
        prompt = sum(r.prompt_tokens for r in chosen)
        completion = sum(r.completion_tokens for r in chosen)
        return LLMUsageSummary(
            calls=len(chosen),
            failed_calls=sum(r.outcome != "ok" for r in chosen),
            cached_calls=sum(r.cached for r in chosen),
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            cost_usd=round(sum(r.cost_usd or 0.0 for r in chosen), 8),
            unpriced_calls=sum(r.cost_usd is None and r.outcome == "ok" for r in chosen),
            by_model=dict(Counter(f"{r.provider}/{r.model}" for r in chosen)),
        )
