"""What a call of a turn leaves behind: its usage record (tokens, cost, outcome) and the response's metadata."""

from __future__ import annotations

import time
from typing import Any

from modules.infrastructure.domain.llm.pricing import PriceTable
from modules.infrastructure.domain.llm.provider import LLMProvider
from modules.infrastructure.domain.llm.turns import Turn
from modules.infrastructure.domain.llm.usage import UsageLedger, UsageRecord
from modules.infrastructure.domain.llm.values import Completion, LLMResponse, PromptContext, UsageStats


def turn_response(
    ledger: UsageLedger, prices: PriceTable, provider: LLMProvider, turn: Turn, context: PromptContext, completion: Completion,
    started: float, attempts: int, cached: bool, tried: list[str], *, record: bool = True,
) -> LLMResponse:
    """The response to ``turn`` with its metadata and usage; recorded in ``ledger`` unless ``record`` is False."""
    if record:
        cost = record_turn(ledger, prices, provider, turn, context, completion, started, cached, "ok", attempts)
    else:
        cost = cost_of(prices, provider, completion)
    metadata: dict[str, Any] = {
        "provider": provider.name,
        "model": provider.config.model,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
        "attempts": attempts,
        "cached": cached,
        "finish_reason": completion.finish_reason,
        "request_id": context.request_id,
        "provider_request_id": completion.request_id,
        "prompt_name": turn.name,
        "prompt_version": turn.version,
        "fallback_from": list(tried),
    }
    usage = UsageStats(completion.prompt_tokens, completion.completion_tokens, completion.total_tokens, cost)
    return LLMResponse(completion.content, metadata, usage, completion.tool_calls)


def record_turn(
    ledger: UsageLedger, prices: PriceTable, provider: LLMProvider, turn: Turn, context: PromptContext, completion: Completion | None,
    started: float, cached: bool, outcome: str, attempts: int = 0,
) -> float | None:
    """One usage record for a call of ``turn``; its cost (0 for a cache hit or a failure, None when unpriced)."""
    prompt_tokens = completion.prompt_tokens if completion else 0
    completion_tokens = completion.completion_tokens if completion else 0
    if cached:
        cost: float | None = 0.0
    elif completion is None:
        cost = 0.0 if outcome != "ok" else None
    else:
        cost = cost_of(prices, provider, completion)
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    ledger.record(
        UsageRecord(
            ledger.clock(), provider.name, provider.config.model, context.module, turn.name,
            prompt_tokens, completion_tokens, latency_ms, cost, cached, outcome, attempts,
        )
    )
    return cost


def cost_of(prices: PriceTable, provider: LLMProvider, completion: Completion) -> float | None:
    """What ``completion``'s tokens cost on ``provider``'s model (None when the model has no price)."""
    return prices.cost(provider.config.model, completion.prompt_tokens, completion.completion_tokens)
