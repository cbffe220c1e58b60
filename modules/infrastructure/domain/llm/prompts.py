"""Rendering a ``Prompt`` into chat messages, checked before any request is sent."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.values import Prompt

_FORMATTER = string.Formatter()
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
    return messages


def render(template: str, variables: Mapping[str, Any], where: str) -> str:
    """``template`` with its placeholders filled; ``{{`` and ``}}`` stand for literal braces."""
    try:
        return _FORMATTER.vformat(template, (), dict(variables))
    except KeyError as exc:
        name = exc.args[0]
        raise LLMBadRequestError(
            f"The {where} uses {{{name}}} but PromptContext.variables has no '{name}'; pass it, or write {{{{ }}}} for a literal brace"
        ) from exc
    except (IndexError, ValueError) as exc:
        raise LLMBadRequestError(f"The {where} is not a valid template ({exc}); name every placeholder, e.g. {{text}}") from exc


def estimate_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    """A rough token count: about one token per 3.5 characters plus a few per message."""
    return sum(int(len(m["content"]) / CHARS_PER_TOKEN) + 4 for m in messages)


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
