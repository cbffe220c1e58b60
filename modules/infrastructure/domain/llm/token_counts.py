"""What counts as a number of tokens: a whole number from 0 up to what the usage table can hold."""

from __future__ import annotations

MAX_TOKENS = 2**31 - 1  # the llm_usage table's INTEGER columns; far above any model's context window


def is_token_count(value: object) -> bool:
    """True for an ``int`` (not a ``bool``) from 0 to ``MAX_TOKENS``."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS
