"""What a Messages API answer must hold, whole or streamed, checked before it is believed.

Bodies and stream events are read here as JSON, never through the client's models, so a body of
``{}``, content that is not a list or a ``tool_use`` whose input is not an object is an
``LLMMalformedResponseError`` saying what is wrong, and a stream that ends without ``message_stop``
was cut short.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from modules.infrastructure.domain.llm.conversation import ToolCall
from modules.infrastructure.domain.llm.token_counts import MAX_TOKENS, is_token_count
from modules.infrastructure.domain.llm.tool_call_parts import ToolCallParts, parsed_call
from modules.infrastructure.domain.llm.values import Completion
from modules.infrastructure.infrastructure.llm_clients.anthropic_errors import error_event
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
MAX_BLOCKS = 1024


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
        block = _object(value, f"content[{position}]", provider)
        if block.get("type") == "text":
            texts.append(_text(block.get("text"), provider))
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
    counts = _object(usage, "usage", provider)
    values = [counts.get(name) or 0 for name in (*INPUT_COUNTS, "output_tokens")]
    if not all(is_token_count(value) for value in values) or not is_token_count(sum(values[:-1])):
        raise bad(provider, f"token counts that are not whole numbers from 0 to {MAX_TOKENS} ({values!r:.120})")
    return sum(values[:-1]), values[-1]


def _text(text: object, provider: str) -> str:
    if not isinstance(text, str):
        raise bad(provider, f"a text block whose text is not text (a {type(text).__name__})")
    return text


def _object(value: object, where: str, provider: str) -> Mapping[str, Any]:
    return object_at(value, where, provider, ADVICE)


def bad(provider: str, what: str) -> Exception:
    """The malformed-answer error, with the advice for an Anthropic endpoint."""
    return malformed(provider, what, ADVICE)


class StreamReader:
    """A Messages API stream read event by event: ``read`` returns the text each adds, ``completion`` the usage,
    stop reason and tool calls once ``message_stop`` came (before it, the stream was cut short)."""

    def __init__(self, provider: str, json_mode: bool, redact: Callable[[str], str]) -> None:
        self.provider = provider
        self.json_mode = json_mode
        self.progress = False  # text or a tool call's piece has arrived
        self._redact = redact
        self._parts = ToolCallParts()
        self._json_block: int | None = None
        self._usage: dict[str, Any] = {}
        self._message: Mapping[str, Any] = {}
        self._stop_reason: object = None
        self._stopped = False

    def read(self, event: str | None, data: str) -> str:
        """The text ``data`` adds; raises the mapped error for an ``error`` event, ``LLMMalformedResponseError`` for nonsense."""
        if event == "ping" or not data.strip():
            return ""
        payload = self._payload(data)
        kind = payload.get("type", event)
        if kind == "error":
            raise error_event(_object(payload.get("error") or {}, "an error event's error", self.provider), self.provider, self._redact)
        if kind == "message_start":
            self._message = _object(payload.get("message"), "message_start's message", self.provider)
            self._add_usage(self._message.get("usage"))
        elif kind == "content_block_start":
            return self._block_start(self._index(payload), _object(payload.get("content_block"), "a content_block", self.provider))
        elif kind == "content_block_delta":
            return self._delta(self._index(payload), _object(payload.get("delta"), "a content_block_delta's delta", self.provider))
        elif kind == "message_delta":
            delta = _object(payload.get("delta") or {}, "a message_delta's delta", self.provider)
            self._stop_reason = delta.get("stop_reason", self._stop_reason)
            self._add_usage(payload.get("usage"))
        elif kind == "message_stop":
            self._stopped = True
        return ""

    def completion(self) -> Completion:
        """The usage, finish reason and tool calls of the whole stream (its text was given out by ``read``)."""
        if not self._stopped:
            what = "ended without message_stop: it was cut short" if self.progress or self._message else "ended before any event"
            raise bad(self.provider, f"a stream that {what}")
        calls = self._parts.calls(lambda what: bad(self.provider, what))
        prompt_tokens, completion_tokens = usage_counts(self._usage, self.provider)
        finish = finish_reason(self._stop_reason, self.json_mode)
        message = self._message
        return completion_of(self.provider, "", finish, prompt_tokens, completion_tokens, message.get("model"), message.get("id"), calls, ADVICE)

    def _block_start(self, index: int, block: Mapping[str, Any]) -> str:
        if block.get("type") == "text":
            text = _text(block.get("text", ""), self.provider)
            self.progress = self.progress or bool(text)
            return text
        if block.get("type") == "tool_use":
            self.progress = True
            if self.json_mode and block.get("name") == JSON_TOOL:
                self._json_block = index
                return ""
            call_id, name = block.get("id"), block.get("name")
            if not (isinstance(call_id, str) and isinstance(name, str)):
                raise bad(self.provider, "a streamed tool_use block without a text id and name")
            given = block.get("input")
            self._parts.add(index, call_id, name, json.dumps(given) if isinstance(given, dict) and given else None)
        return ""

    def _delta(self, index: int, delta: Mapping[str, Any]) -> str:
        kind = delta.get("type")
        if kind == "text_delta":
            text = _text(delta.get("text"), self.provider)
            self.progress = self.progress or bool(text)
            return text
        if kind == "input_json_delta":
            piece = delta.get("partial_json")
            if not isinstance(piece, str):
                raise bad(self.provider, f"an input_json_delta whose partial_json is not text (a {type(piece).__name__})")
            self.progress = True
            if index == self._json_block:
                return piece
            self._parts.add(index, arguments=piece)
        return ""  # thinking and signature deltas are not part of the answer

    def _payload(self, data: str) -> Mapping[str, Any]:
        try:
            payload = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise bad(self.provider, f"a stream event that is not JSON ({type(exc).__name__})") from None
        return _object(payload, "a stream event", self.provider)

    def _index(self, payload: Mapping[str, Any]) -> int:
        index = payload.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < MAX_BLOCKS:
            raise bad(self.provider, f"a stream event whose index is not a whole number from 0 to {MAX_BLOCKS - 1} ({index!r:.40})")
        return index

    def _add_usage(self, usage: object) -> None:
        if usage is not None:
            self._usage.update((name, value) for name, value in _object(usage, "usage", self.provider).items() if value is not None)
