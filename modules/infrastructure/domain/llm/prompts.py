"""Rendering a ``Prompt`` into chat messages, checked before any request is sent."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.templates import render
from modules.infrastructure.domain.llm.tools import Tool
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
        check_unicode(message["content"], f"The prompt{_named(prompt)}")
    return messages


def check_unicode(text: str, where: str) -> None:
    """Text a request can carry as UTF-8: a lone surrogate (from a bad decode) cannot be sent."""
    position = lone_surrogate_at(text)
    if position is not None:
        raise LLMBadRequestError(
            f"{where} holds a lone surrogate at character {position} once rendered; "
            "decode its text with errors='replace' or clean it before sending"
        )


def estimate_tokens(messages: Sequence[Mapping[str, Any]], tools: Sequence[Tool] = ()) -> int:
    """A rough token count: about one token per 3.5 characters (of text, tool calls and tool schemas) plus a
    few per message."""
    in_messages = sum(int((len(m.get("content") or "") + len(_calls_text(m))) / CHARS_PER_TOKEN) + 4 for m in messages)
    return in_messages + int(sum(len(json.dumps(tool.to_wire(), default=str)) for tool in tools) / CHARS_PER_TOKEN)


def _calls_text(message: Mapping[str, Any]) -> str:
    calls = message.get("tool_calls")
    return json.dumps(calls, default=str) if calls else ""


def estimate_text_tokens(characters: int) -> int:
    """A rough token count of ``characters`` characters of text, rounded up."""
    return math.ceil(characters / CHARS_PER_TOKEN)


def check_context(
    messages: Sequence[Mapping[str, Any]], max_tokens: int | None, context_size: int | None, tools: Sequence[Tool] = ()
) -> None:
    """Raise ``LLMBadRequestError`` when the messages and tools plus ``max_tokens`` cannot fit the model's context."""
    if not context_size:
        return
    needed = estimate_tokens(messages, tools) + (max_tokens or 0)
    if needed > context_size:
        raise LLMBadRequestError(
            f"The prompt needs about {needed} tokens (with max_tokens) but the model's context holds {context_size}: "
            f"about {needed - context_size} over; shorten the prompt or history, or lower max_tokens"
        )


def _named(prompt: Prompt) -> str:
    return f" '{prompt.name}'" if prompt.name else ""
