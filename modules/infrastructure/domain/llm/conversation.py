"""Conversations: the messages of a chat history (system, user, assistant, tool) and the rules they follow.

A history is checked before any request: a role the providers do not know, a tool result whose
call no assistant message made, or an empty history is an ``LLMBadRequestError`` naming the message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modules.infrastructure.domain.errors import LLMBadRequestError

ROLES = ("system", "user", "assistant", "tool")
MAX_MESSAGES = 10_000
MAX_ID = 128


@dataclass(frozen=True)
class ToolCall:
    """A tool the model asked for: its call id, the tool's name and the arguments it gave (a JSON object).

    ``error`` says why the call cannot be run as it is (arguments that are not JSON or break the tool's
    schema, a tool that was not declared); ``None`` for a call that was checked and is good.
    """

    id: str
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The call as the chat APIs carry it in an assistant message (arguments as JSON text)."""
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": json.dumps(dict(self.arguments))}}


@dataclass(frozen=True)
class Message:
    """One message of a history. ``tool_calls`` only on an assistant message; ``tool_call_id`` on a tool result."""

    role: str
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    @classmethod
    def system(cls, content: str) -> Message:
        return cls("system", content)

    @classmethod
    def user(cls, content: str) -> Message:
        return cls("user", content)

    @classmethod
    def assistant(cls, content: str = "", tool_calls: Sequence[ToolCall] = ()) -> Message:
        return cls("assistant", content, tuple(tool_calls))

    @classmethod
    def tool(cls, tool_call_id: str, content: str) -> Message:
        """The result of the call ``tool_call_id``, as text (JSON-encode structured results)."""
        return cls("tool", content, (), tool_call_id)

    def to_wire(self) -> dict[str, Any]:
        """The message as the OpenAI-style chat APIs take it."""
        wire: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            wire["tool_calls"] = [call.to_wire() for call in self.tool_calls]
        if self.tool_call_id is not None:
            wire["tool_call_id"] = self.tool_call_id
        return wire


def check_history(messages: object, *, may_be_empty: bool = False) -> tuple[Message, ...]:
    """The history as a tuple of ``Message``; ``LLMBadRequestError`` naming the first message that breaks a rule.
    Empty only when ``may_be_empty`` (a new turn follows it)."""
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise LLMBadRequestError(f"A conversation's history is a list of Message, not {type(messages).__name__}")
    if not messages and not may_be_empty:
        raise LLMBadRequestError("A conversation's history is empty: give at least one message (Message.user(...)) or a prompt for the new turn")
    if len(messages) > MAX_MESSAGES:
        raise LLMBadRequestError(f"A conversation's history has {len(messages):,} messages, over {MAX_MESSAGES:,}")
    called: set[str] = set()
    answered: set[str] = set()
    for position, message in enumerate(messages, start=1):
        problem = _message_problem(message, called, answered) or _unanswered(message, called - answered)
        if problem:
            raise LLMBadRequestError(f"Message {position} of the history {problem}")
        assert isinstance(message, Message)
        called.update(call.id for call in message.tool_calls)
        if message.tool_call_id is not None:
            answered.add(message.tool_call_id)
    if called - answered:
        raise LLMBadRequestError(f"The history ends before the result of tool call(s) {_ids(called - answered)}; add Message.tool(call_id, result) for each")
    return tuple(messages)


def _unanswered(message: object, pending: set[str]) -> str | None:
    """Every tool call is answered by the tool results right after its assistant message."""
    if pending and isinstance(message, Message) and message.role != "tool":
        return f"({message.role}) comes before the result of tool call(s) {_ids(pending)}; add Message.tool(call_id, result) for each first"
    return None


def _ids(ids: set[str]) -> str:
    return ", ".join(repr(i) for i in sorted(ids)[:5]) + (" ..." if len(ids) > 5 else "")


def _message_problem(message: object, called: set[str], answered: set[str]) -> str | None:
    if not isinstance(message, Message):
        return f"is {type(message).__name__}, not a Message (Message.user(...), Message.tool(call_id, result), ...)"
    if message.role not in ROLES:
        return f"has the role {message.role!r}; a role is one of {', '.join(ROLES)}"
    content: object = message.content  # a Message built by hand may hold anything
    if not isinstance(content, str):
        return f"has content of type {type(content).__name__}; content is text"
    if message.tool_calls and message.role != "assistant":
        return f"is a {message.role} message with tool calls; only an assistant message carries them"
    if message.role != "tool" and not message.tool_calls and not content.strip():
        return f"is an empty {message.role} message; leave it out (Anthropic refuses empty messages)"
    seen = set(called)
    for call in message.tool_calls:
        if not isinstance(call, ToolCall) or not _is_id(call.id) or not _is_id(call.name):
            return "has a tool call without a usable id and name (text of 1 to 128 characters)"
        if not _is_json_object(call.arguments):
            return f"has tool call {call.id!r} whose arguments are not a JSON object (a mapping of text keys to JSON values, no NaN)"
        if call.id in seen:
            return f"repeats the tool call id {call.id!r}"
        seen.add(call.id)
    if message.role == "tool":
        if not _is_id(message.tool_call_id):
            return "is a tool result without a tool_call_id"
        if message.tool_call_id not in called:
            return f"is the result of tool call {message.tool_call_id!r}, which no earlier assistant message made"
        if message.tool_call_id in answered:
            return f"answers tool call {message.tool_call_id!r} a second time"
    elif message.tool_call_id is not None:
        return f"is a {message.role} message with a tool_call_id; only a tool result has one"
    return None


def _is_json_object(value: object) -> bool:
    if not isinstance(value, Mapping):
        return False
    try:
        json.dumps(dict(value), allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def _is_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID
