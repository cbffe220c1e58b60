"""The prompt and context a call was given, checked: the right types, or an ``LLMBadRequestError`` saying what to pass."""

from __future__ import annotations

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.values import Prompt, PromptContext


def checked_prompt(prompt: object) -> Prompt:
    """``prompt`` when it is a ``Prompt``; else ``LLMBadRequestError`` saying what to pass."""
    if not isinstance(prompt, Prompt):
        raise LLMBadRequestError(f"The prompt must be a Prompt, e.g. Prompt('Summarise: {{text}}'), not {type(prompt).__name__}")
    return prompt


def checked_context(context: object) -> PromptContext:
    """``context`` when it is a ``PromptContext`` (``None``: an empty one); else ``LLMBadRequestError``."""
    if context is None:
        return PromptContext()
    if not isinstance(context, PromptContext):
        raise LLMBadRequestError(f"The context must be a PromptContext, e.g. PromptContext({{'text': t}}), not {type(context).__name__}")
    return context
