"""What a Messages API answer must hold, whole or streamed, checked before it is believed.

Bodies are read here as JSON, never through the client's models, so a body of ``{}``, content that
is not a list or a ``tool_use`` whose input is not an object is an ``LLMMalformedResponseError``
saying what is wrong. Streams: ``anthropic_stream``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modules.infrastructure.domain.llm.conversation import ToolCall
from modules.infrastructure.domain.llm.token_counts import MAX_TOKENS, is_token_count
from modules.infrastructure.domain.llm.tool_call_parts import parsed_call
from modules.infrastructure.domain.llm.values import Completion
from modules.infrastructure.infrastructure.llm_clients.anthropic_wire import JSON_TOOL
from modules.infrastructure.infrastructure.llm_clients.response_body import body_object, completion_of, malformed, object_at

ADVICE = "retrying; if it persists, check that ANTHROPIC_BASE_URL points at an Anthropic Messages API"
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
INPUT_COUNTS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def message_from(body: bytes, content_type: str | None, request_id: str | None, provider: str, json_mode: bool) -> Completion:
    """The ``Completion`` in a Messages API body: text blocks joined, ``tool_use`` blocks as tool calls (in JSON mode
    the forced tool's input is the text); raises ``LLMMalformedResponseError`` when there is none."""
    data = body_object(body, content_type, provider, ADVICE)
    content = data.get("content")
    if not isinstance(content, list):
        raise bad(provider, "no content" if content is None else f"content that is not a list (a {type(content).__name__})")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for position, value in enumerate(content):
        block = object_of(value, f"content[{position}]", provider)
        if block.get("type") == "text":
            texts.append(text_of(block.get("text"), provider))
        elif block.get("type") == "tool_use":
            tool_input = block.get("input")
            if not isinstance(tool_input, dict):
                raise bad(provider, f"a tool_use block (content[{position}]) whose input is not an object (a {type(tool_input).__name__})")
            if json_mode and block.get("name") == JSON_TOOL:
                texts.append(json.dumps(tool_input, ensure_ascii=False))
            else:
                calls.append(parsed_call(block.get("id"), block.get("name"), tool_input, lambda what: bad(provider, what)))
        # thinking and server-tool blocks are not part of the answer
    prompt_tokens, completion_tokens = usage_counts(data.get("usage"), provider)
    finish = finish_reason(data.get("stop_reason"), json_mode)
    return completion_of(provider, "".join(texts), finish, prompt_tokens, completion_tokens, data.get("model"), request_id or data.get("id"), tuple(calls), ADVICE)


def finish_reason(stop_reason: object, json_mode: bool) -> Any:
    """The chat finish reason for a ``stop_reason`` (``end_turn``: ``stop``, ``tool_use``: ``tool_calls``, ...); others as they are."""
    if json_mode and stop_reason == "tool_use":
        return "stop"  # the forced JSON tool was the answer
    return FINISH_REASONS.get(stop_reason, stop_reason) if isinstance(stop_reason, str) else stop_reason


def usage_counts(usage: object, provider: str) -> tuple[int, int]:
    """Input tokens (cache reads and writes included) and output tokens; (0, 0) when there is no usage."""
    if usage is None:
        return 0, 0
    counts = object_of(usage, "usage", provider)
    values = [counts.get(name) or 0 for name in (*INPUT_COUNTS, "output_tokens")]
    if not all(is_token_count(value) for value in values) or not is_token_count(sum(values[:-1])):
        raise bad(provider, f"token counts that are not whole numbers from 0 to {MAX_TOKENS} ({values!r:.120})")
    return sum(values[:-1]), values[-1]


def text_of(text: object, provider: str) -> str:
    """``text`` when it is text, else the malformed-answer error."""
    if not isinstance(text, str):
        raise bad(provider, f"a text block whose text is not text (a {type(text).__name__})")
    return text


def object_of(value: object, where: str, provider: str) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else the malformed-answer error saying ``where``."""
    return object_at(value, where, provider, ADVICE)


def bad(provider: str, what: str) -> Exception:
    """The malformed-answer error, with the advice for an Anthropic endpoint."""
    return malformed(provider, what, ADVICE)
