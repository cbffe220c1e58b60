"""A Messages API stream read event by event: text as it comes, then usage, stop reason and tool calls.

A stream that ends without ``message_stop`` was cut short; an ``error`` event counts as its status would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from modules.infrastructure.domain.llm.tool_call_parts import ToolCallParts
from modules.infrastructure.domain.llm.values import Completion
from modules.infrastructure.infrastructure.llm_clients.anthropic_body import ADVICE, bad, finish_reason, object_of, text_of, usage_counts
from modules.infrastructure.infrastructure.llm_clients.anthropic_errors import error_event
from modules.infrastructure.infrastructure.llm_clients.anthropic_wire import JSON_TOOL
from modules.infrastructure.infrastructure.llm_clients.response_body import completion_of

MAX_BLOCKS = 1024


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
            raise error_event(object_of(payload.get("error") or {}, "an error event's error", self.provider), self.provider, self._redact)
        if kind == "message_start":
            self._message = object_of(payload.get("message"), "message_start's message", self.provider)
            self._add_usage(self._message.get("usage"))
        elif kind == "content_block_start":
            return self._block_start(self._index(payload), object_of(payload.get("content_block"), "a content_block", self.provider))
        elif kind == "content_block_delta":
            return self._delta(self._index(payload), object_of(payload.get("delta"), "a content_block_delta's delta", self.provider))
        elif kind == "message_delta":
            delta = object_of(payload.get("delta") or {}, "a message_delta's delta", self.provider)
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
            text = text_of(block.get("text", ""), self.provider)
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
            text = text_of(delta.get("text"), self.provider)
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
        return object_of(payload, "a stream event", self.provider)

    def _index(self, payload: Mapping[str, Any]) -> int:
        index = payload.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < MAX_BLOCKS:
            raise bad(self.provider, f"a stream event whose index is not a whole number from 0 to {MAX_BLOCKS - 1} ({index!r:.40})")
        return index

    def _add_usage(self, usage: object) -> None:
        if usage is not None:
            self._usage.update((name, value) for name, value in object_of(usage, "usage", self.provider).items() if value is not None)
