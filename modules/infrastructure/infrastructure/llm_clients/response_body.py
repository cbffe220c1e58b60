"""What a chat completion answer must hold, checked before it is believed.

The openai client builds its response objects without validation, so a body of ``{}``, ``{"choices": []}``
or a null ``content`` would pass as an empty answer, and one that is not JSON raises a bare
``JSONDecodeError``. Each of these is an ``LLMMalformedResponseError`` here, saying what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import openai

from modules.infrastructure.domain.errors import LLMMalformedResponseError
from modules.infrastructure.domain.llm.conversation import ToolCall
from modules.infrastructure.domain.llm.token_counts import MAX_TOKENS, is_token_count
from modules.infrastructure.domain.llm.tool_call_parts import ToolCallParts, parsed_call
from modules.infrastructure.domain.llm.values import Completion

MAX_STREAMED_CALLS = 1024  # tool calls in one streamed answer: more is not an answer to believe
ADVICE = "retrying; if it persists, check that the base URL points at an OpenAI-compatible chat completions API"


def completion_from(body: bytes, content_type: str | None, request_id: str | None, provider: str) -> Completion:
    """The ``Completion`` in a chat completion body; raises ``LLMMalformedResponseError`` when there is none."""
    data = body_object(body, content_type, provider)
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise malformed(provider, "no choices" if not choices else f"choices that are not a list (a {type(choices).__name__})")
    message = object_at(choices[0], "choices[0]", provider).get("message")
    message = object_at(message, "choices[0].message", provider)
    content = message.get("content")
    if content is None and not message.get("tool_calls"):
        refusal = message.get("refusal")
        detail = f" (refusal: {str(refusal)[:200]!r})" if refusal else ""
        raise malformed(provider, f"no text: content is null and there are no tool calls{detail}")
    prompt_tokens, completion_tokens = usage_of(data, provider)
    finish_reason, model = choices[0].get("finish_reason"), data.get("model")
    calls = tool_calls_of(message.get("tool_calls"), provider)
    return completion_of(
        provider, "" if content is None else content, finish_reason, prompt_tokens, completion_tokens, model, request_id or data.get("id"), calls
    )


def body_object(body: bytes, content_type: str | None, provider: str, advice: str = ADVICE) -> Mapping[str, Any]:
    """The JSON object ``body`` holds; raises ``LLMMalformedResponseError`` when it holds none."""
    try:
        data = json.loads(body)
    except ValueError:  # not JSON, or not UTF-8
        raise malformed(provider, f"a body that is not JSON ({content_type or 'no content-type'}, {len(body)} bytes)", advice) from None
    except RecursionError:
        raise malformed(provider, "JSON nested too deeply to read", advice) from None
    if not isinstance(data, Mapping):
        raise malformed(provider, f"JSON that is not an object (a {type(data).__name__})", advice)
    return data


def tool_calls_of(calls: object, provider: str) -> tuple[ToolCall, ...]:
    """The ``tool_calls`` of an answer's message, each ``{id, type, function: {name, arguments}}``."""
    if calls is None:
        return ()
    if not isinstance(calls, list):
        raise malformed(provider, f"tool_calls that are not a list (a {type(calls).__name__})")
    parsed = []
    for position, call in enumerate(calls):
        function = object_at(object_at(call, f"tool_calls[{position}]", provider).get("function"), f"tool_calls[{position}].function", provider)
        parsed.append(parsed_call(call.get("id"), function.get("name"), function.get("arguments"), lambda what: malformed(provider, what)))
    return tuple(parsed)


def stream_tool_calls(delta: Mapping[str, Any], parts: ToolCallParts, provider: str) -> None:
    """Add the tool-call pieces of a stream chunk's ``delta`` to ``parts``."""
    calls = delta.get("tool_calls")
    if not calls:
        return
    if not isinstance(calls, list):
        raise malformed(provider, f"a stream event whose tool_calls are not a list (a {type(calls).__name__})")
    for call in calls:
        call = object_at(call, "a streamed tool call", provider)
        function = object_at(call.get("function") or {}, "a streamed tool call's function", provider)
        index, call_id, name, arguments = call.get("index", 0), call.get("id"), function.get("name"), function.get("arguments")
        if isinstance(index, bool) or not isinstance(index, int) or not all(isinstance(v, str | None) for v in (call_id, name, arguments)):
            raise malformed(provider, "a streamed tool call whose index, id, name or arguments have the wrong type")
        if not 0 <= index < MAX_STREAMED_CALLS:
            raise malformed(provider, f"a streamed tool call index {index} outside 0 to {MAX_STREAMED_CALLS - 1}")
        parts.add(index, call_id, name, arguments)


def chunk_data(chunk: object, provider: str) -> Mapping[str, Any]:
    """A stream chunk as the JSON object it was sent as; raises ``LLMMalformedResponseError`` for anything else."""
    if not isinstance(chunk, openai.BaseModel):  # the client passes an event's data on as it is when it is no object
        raise malformed(provider, f"a stream event that is not a JSON object (a {type(chunk).__name__})")
    return chunk.to_dict(warnings=False)


def chunk_text(data: Mapping[str, Any], provider: str, parts: ToolCallParts | None = None) -> tuple[str, str | None]:
    """The text a stream chunk adds (``""`` for none) and its finish reason; tool-call pieces go to ``parts``."""
    choices = data.get("choices")
    if choices is None or choices == []:  # the usage chunk has no choices
        return "", None
    if not isinstance(choices, list):
        raise malformed(provider, f"a stream event whose choices are not a list (a {type(choices).__name__})")
    choice = object_at(choices[0], "choices[0]", provider)
    delta = object_at(choice.get("delta") or {}, "choices[0].delta", provider)
    if parts is not None:
        stream_tool_calls(delta, parts, provider)
    text, finish_reason = delta.get("content"), choice.get("finish_reason")
    if not isinstance(text, str | None) or not isinstance(finish_reason, str | None):
        raise malformed(provider, "a stream event whose content or finish_reason is not text")
    return text or "", finish_reason


def usage_of(data: Mapping[str, Any], provider: str) -> tuple[int, int]:
    """Prompt and completion tokens of ``usage`` (0, 0 when absent: some compatible servers send none)."""
    usage = data.get("usage")
    if usage is None:
        return 0, 0
    usage = object_at(usage, "usage", provider)
    prompt_tokens, completion_tokens = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    if not (is_token_count(prompt_tokens) and is_token_count(completion_tokens)):
        raise malformed(provider, f"token counts that are not whole numbers from 0 to {MAX_TOKENS} ({prompt_tokens!r}, {completion_tokens!r})")
    return prompt_tokens, completion_tokens


def completion_of(
    provider: str, content: str, finish_reason: Any, prompt_tokens: int, completion_tokens: int, model: Any, request_id: Any,
    tool_calls: tuple[ToolCall, ...] = (), advice: str = ADVICE,
) -> Completion:
    """A ``Completion`` of values read from a body; raises ``LLMMalformedResponseError`` when one has the wrong type."""
    try:
        return Completion(content, finish_reason, prompt_tokens, completion_tokens, model, request_id, tool_calls)
    except TypeError as exc:
        raise malformed(provider, f"a field of the wrong type or value ({exc})", advice) from None


def object_at(value: object, where: str, provider: str, advice: str = ADVICE) -> Mapping[str, Any]:
    """``value`` when it is a JSON object; else ``LLMMalformedResponseError`` saying ``where`` it is not."""
    if not isinstance(value, Mapping):
        raise malformed(provider, f"{where} that is not an object (a {type(value).__name__})", advice)
    return value




def malformed(provider: str, what: str, advice: str = ADVICE) -> LLMMalformedResponseError:
    """The error for an answer that is ``what`` instead of a completion."""
    return LLMMalformedResponseError(f"{provider} answered with success but not with a completion: {what}; {advice}", provider=provider, status_code=200)
