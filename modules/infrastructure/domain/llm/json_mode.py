"""JSON mode: ask for a JSON object and parse the answer, or say clearly that it is not JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from modules.infrastructure.domain.errors import LLMResponseFormatError
from modules.infrastructure.domain.llm.values import LLMResponse, Prompt

JSON_OBJECT = {"type": "json_object"}


def with_json_format(prompt: Prompt) -> Prompt:
    """``prompt`` asking for ``response_format={"type": "json_object"}`` unless it names a format already."""
    if "response_format" in prompt.parameters:
        return prompt
    return replace(prompt, parameters={**prompt.parameters, "response_format": JSON_OBJECT})


def parse_json(response: LLMResponse) -> Any:
    """The parsed answer; raises ``LLMResponseFormatError`` (holding the text) when it is not valid JSON."""
    try:
        return json.loads(response.content)
    except json.JSONDecodeError as exc:
        provider = response.metadata.get("provider")
        raise LLMResponseFormatError(
            f"{provider} answered with text that is not valid JSON ({exc.msg} at position {exc.pos}, "
            f"finish_reason={response.metadata.get('finish_reason')}); raise max_tokens or tell the prompt to answer in JSON",
            provider=provider,
            content=response.content,
        ) from exc
