"""Rendering a ``Prompt`` into chat messages, checked before any request is sent."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.templates import render
from modules.infrastructure.domain.llm.unicode_text import lone_surrogate_at
from modules.infrastructure.domain.llm.values import Prompt

CHARS_PER_TOKEN = 3.5  # a deliberately generous estimate: English averages about 4


def render_messages(prompt: Prompt, variables: Mapping[str, Any]) -> list[dict[str, str]]:
    """The chat messages for ``prompt`` with ``{variable}`` placeholders filled in.

    Raises ``LLMBadRequestError`` naming a missing variable, or when the rendered prompt is empty.
    """
    user = render(prompt.template, variables, "template")
    if not user.strip():
        raise LLMBadRequestError(f"The prompt{_named(prompt)} renders to empty text; give it a template or variables with content")
    messages = []
    if prompt.system:
        messages.append({"role": "system", "content": render(prompt.system, variables, "system prompt")})
    messages.append({"role": "user", "content": user})
    for message in messages:
        _check_unicode(message["content"], prompt)
    return messages


def _check_unicode(text: str, prompt: Prompt) -> None:
    """Text a request can carry as UTF-8: a lone surrogate (from a bad decode) cannot be sent."""
    position = lone_surrogate_at(text)
    if position is not None:
        raise LLMBadRequestError(
            f"The prompt{_named(prompt)} holds a lone surrogate at character {position} once rendered; "
            "decode its text with errors='replace' or clean it before sending"
        )


def estimate_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    """A rough token count: about one token per 3.5 characters plus a few per message."""
    return sum(int(len(m["content"]) / CHARS_PER_TOKEN) + 4 for m in messages)


def estimate_text_tokens(characters: int) -> int:
    """A rough token count of ``characters`` characters of text, rounded up."""
    return math.ceil(characters / CHARS_PER_TOKEN)


def check_context(messages: Sequence[Mapping[str, str]], max_tokens: int | None, context_size: int | None) -> None:
    """Raise ``LLMBadRequestError`` when the prompt plus ``max_tokens`` cannot fit the model's context."""
    if not context_size:
        return
    needed = estimate_tokens(messages) + (max_tokens or 0)
    if needed > context_size:
        raise LLMBadRequestError(
            f"The prompt needs about {needed} tokens (with max_tokens) but the model's context holds {context_size}; "
            "shorten the prompt or lower max_tokens"
        )


def _named(prompt: Prompt) -> str:
    return f" '{prompt.name}'" if prompt.name else ""
