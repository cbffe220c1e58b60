"""The object behind ``LLMClient.client``: plain-text completions through the call layer."""

from __future__ import annotations

from typing import Any

from modules.infrastructure.domain.llm.gateway import LLMGateway
from modules.infrastructure.domain.llm.values import Prompt, PromptContext

RAW_TEXT = "{text}"  # the text goes in as a variable, so braces in it are not placeholders


class GatewayCompletions:
    """``generate_completion(prompt, **parameters)`` with retries, limits, usage and (for ``provider=None``) fallbacks."""

    def __init__(self, gateway: LLMGateway, provider: str | None) -> None:
        self._gateway = gateway
        self._provider = provider

    def generate_completion(self, prompt: str, **parameters: Any) -> str:
        context = PromptContext({"text": prompt}, provider=self._provider)
        return self._gateway.execute(Prompt(RAW_TEXT, parameters=parameters), context).content
