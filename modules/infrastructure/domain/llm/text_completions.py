"""The object behind ``LLMClient.client``: plain-text completions through the call layer."""

from __future__ import annotations

from typing import Any, Protocol

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.values import LLMResponse, Prompt, PromptContext

RAW_TEXT = "{text}"  # the text goes in as a variable, so braces in it are not placeholders


class PromptRunner(Protocol):
    """What runs a prompt with retries, limits, cache and usage: the call layer."""

    def execute(self, prompt: Prompt, context: PromptContext) -> LLMResponse: ...


class TextCompletions:
    """``generate_completion(prompt, **parameters)`` with retries, limits, usage and (for ``provider=None``) fallbacks."""

    def __init__(self, runner: PromptRunner, provider: str | None) -> None:
        self._runner = runner
        self._provider = provider

    def generate_completion(self, prompt: str, **parameters: Any) -> str:
        if not isinstance(prompt, str):
            raise LLMBadRequestError(f"generate_completion takes the prompt as text, not {type(prompt).__name__}")
        context = PromptContext({"text": prompt}, provider=self._provider)
        return self._runner.execute(Prompt(RAW_TEXT, parameters=parameters), context).content
