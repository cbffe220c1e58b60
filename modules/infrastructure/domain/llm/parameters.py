"""``Prompt.parameters`` checked before any request: JSON-safe, and the common ones of the type and range the API takes.

Other names pass as they are (a server's own, like llama.cpp's ``top_k``), once they are JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.token_counts import MAX_TOKENS

# Set by the call layer itself: a parameter of the same name would clash with it.
RESERVED = {
    "messages": "the prompt's template and system text; send a history with InfrastructureService.chat(messages, ...)",
    "tools": "InfrastructureService.chat(..., tools=[...]) or run_tools, which check the calls against the schemas",
    "tool_choice": "InfrastructureService.chat(..., tool_choice=...)",
    "functions": "InfrastructureService.chat(..., tools=[...]) (the API's older name for tools)",
    "function_call": "InfrastructureService.chat(..., tool_choice=...)",
    "model": "the provider's model setting (OPENAI_MODEL, AZURE_OPENAI_DEPLOYMENT, ...)",
    "stream": "stream_prompt()",
    "stream_options": "stream_prompt()",
    "timeout": "LLM_TIMEOUT and PromptContext.timeout",
}
INTEGERS = {"max_tokens": (1, MAX_TOKENS), "max_completion_tokens": (1, MAX_TOKENS), "n": (1, 128), "top_logprobs": (0, 20), "seed": (-(2**63), 2**63 - 1)}
NUMBERS = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0), "frequency_penalty": (-2.0, 2.0), "presence_penalty": (-2.0, 2.0)}


def check_parameters(parameters: object) -> None:
    """Raise ``LLMBadRequestError`` naming the first parameter that cannot be sent; ``None`` values mean "not set"."""
    if not isinstance(parameters, Mapping):
        raise LLMBadRequestError(f"Prompt.parameters must be a mapping such as {{'temperature': 0}}, not {type(parameters).__name__}")
    for name, value in parameters.items():
        if not isinstance(name, str):
            raise LLMBadRequestError(f"Prompt.parameters has the name {name!r} ({type(name).__name__}); parameter names are text")
        if name in RESERVED:
            raise LLMBadRequestError(f"Prompt.parameters may not set '{name}': the call sets it from {RESERVED[name]}")
        if value is not None:
            _check_value(name, value)


def _check_value(name: str, value: object) -> None:
    if name in INTEGERS:
        low, high = INTEGERS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise LLMBadRequestError(f"Prompt.parameters['{name}'] must be a whole number from {low} to {high}, not {shown(value)}")
    elif name == "response_format" and not isinstance(value, Mapping):
        raise LLMBadRequestError(
            f"Prompt.parameters['response_format'] must be a mapping such as {{'type': 'json_object'}}, not {shown(value)}"
        )
    elif name in NUMBERS:
        low_number, high_number = NUMBERS[name]
        if isinstance(value, bool) or not isinstance(value, int | float) or not low_number <= value <= high_number:  # NaN fails too
            raise LLMBadRequestError(f"Prompt.parameters['{name}'] must be a number from {low_number:g} to {high_number:g}, not {shown(value)}")
    elif name == "extra_headers":
        _check_headers(value)
    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode()  # UTF-8: a lone surrogate cannot be sent
    except (TypeError, ValueError, RecursionError) as exc:
        raise LLMBadRequestError(
            f"Prompt.parameters['{name}'] cannot be sent as JSON ({type(exc).__name__}: {str(exc)[:120]}); "
            "use text, numbers, booleans, lists and mappings with text keys"
        ) from None


def _check_headers(headers: object) -> None:
    """HTTP header names and values as HTTP/1.1 carries them: ASCII text, no line breaks (no header injection)."""
    if not isinstance(headers, Mapping):
        raise LLMBadRequestError(f"Prompt.parameters['extra_headers'] must be a mapping of header names to text, not {shown(headers)}")
    for header, value in headers.items():
        for part in (header, value):
            if not isinstance(part, str) or not part.isascii() or not part.isprintable() or not str(header).strip():
                raise LLMBadRequestError(
                    f"Prompt.parameters['extra_headers'] has {shown(header)}: {shown(value)}; header names and values "
                    "are printable ASCII text without line breaks"
                )


def shown(value: object) -> str:
    """``value`` for an error message: its repr, cut short, and its type."""
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python will print
        return f"a value too large to show ({type(value).__name__})"
    return f"{text[:60]}... ({type(value).__name__})" if len(text) > 60 else f"{text} ({type(value).__name__})"
