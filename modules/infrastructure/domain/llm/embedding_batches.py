"""Splitting the texts to embed into requests a provider takes: by count and by estimated tokens."""

from __future__ import annotations

from collections.abc import Sequence

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.embedding_values import EmbeddingLimits
from modules.infrastructure.domain.llm.prompts import estimate_text_tokens


def batches(texts: Sequence[str], positions: Sequence[int], limits: EmbeddingLimits, provider: str) -> list[list[int]]:
    """``positions`` (indexes into ``texts``) in order, cut into requests of at most ``limits.max_inputs`` texts and
    ``limits.max_request_tokens`` estimated tokens (a text over that goes alone). Raises ``LLMBadRequestError``
    for a text over ``limits.max_text_tokens``, before any request."""
    result: list[list[int]] = []
    current: list[int] = []
    current_tokens = 0
    for position in positions:
        tokens = estimate_text_tokens(len(texts[position]))
        if limits.max_text_tokens is not None and tokens > limits.max_text_tokens:
            raise LLMBadRequestError(
                f"embed(texts[{position}]) needs about {tokens} tokens ({len(texts[position]):,} characters) but {provider}'s "
                f"embedding model takes {limits.max_text_tokens} per text; split it into shorter passages"
            )
        if current and (len(current) >= limits.max_inputs or current_tokens + tokens > limits.max_request_tokens):
            result.append(current)
            current, current_tokens = [], 0
        current.append(position)
        current_tokens += tokens
    if current:
        result.append(current)
    return result


def estimated_tokens(texts: Sequence[str]) -> int:
    """The rate limits' reservation for one request: the texts' estimated tokens."""
    return sum(estimate_text_tokens(len(text)) for text in texts)
