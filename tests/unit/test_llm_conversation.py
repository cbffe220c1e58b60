"""Conversation histories and tool declarations are checked before any request (issue 13, the domain part)."""

from __future__ import annotations

from typing import Literal

import pytest

from modules.infrastructure.domain.llm.conversation import Message, ToolCall, check_history
from modules.infrastructure.domain.llm.tool_functions import tool_from_function
from modules.infrastructure.domain.llm.tools import Tool
from modules.infrastructure.module_api import LLMBadRequestError

CALL = ToolCall("call_1", "lookup", {"topic": "planets"})


def test_a_history_with_a_tool_round_trip_is_accepted_and_goes_on_the_wire_as_the_chat_apis_take_it() -> None:
    history = check_history([
        Message.system("You are a tutor."), Message.user("Which planet is largest?"),
        Message.assistant(tool_calls=[CALL]), Message.tool("call_1", '{"answer": "Jupiter"}'), Message.assistant("Jupiter."),
    ])
    assert [m.role for m in history] == ["system", "user", "assistant", "tool", "assistant"]
    assert history[2].to_wire()["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"topic": "planets"}'}}
    ]
    assert history[3].to_wire() == {"role": "tool", "content": '{"answer": "Jupiter"}', "tool_call_id": "call_1"}


@pytest.mark.parametrize(
    ("history", "reason"),
    [
        ([], "empty"),
        ("hello", "list of Message"),
        ([{"role": "user", "content": "hi"}], "not a Message"),
        ([Message("robot", "hi")], "role 'robot'"),
        ([Message("user", 5)], "content of type int"),  # type: ignore[arg-type]
        ([Message.tool("call_9", "42")], "no earlier assistant message made"),
        ([Message.assistant(tool_calls=[CALL]), Message.tool("call_1", "a"), Message.tool("call_1", "b")], "a second time"),
        ([Message("user", "hi", (CALL,))], "only an assistant message"),
        ([Message("user", "hi", (), "call_1")], "only a tool result"),
        ([Message.assistant(tool_calls=[CALL, CALL])], "repeats the tool call id"),
        ([Message.assistant(tool_calls=[ToolCall("", "lookup")])], "usable id and name"),
    ],
    ids=["empty", "text", "dict", "role", "content", "orphan result", "answered twice", "user with calls", "user with call id",
         "repeated id", "empty id"],
)
def test_a_history_that_breaks_a_rule_is_a_bad_request_naming_the_message(history: object, reason: str) -> None:
    with pytest.raises(LLMBadRequestError, match=reason):
        check_history(history)


def test_a_tool_is_read_from_a_plain_function() -> None:
    def lookup(topic: str, limit: int = 3, level: Literal["easy", "hard"] = "easy", tags: list[str] | None = None) -> str:
        """Find quiz questions about a topic.

        Longer text that is not the summary.
        """
        return topic

    tool = tool_from_function(lookup)
    assert (tool.name, tool.description) == ("lookup", "Find quiz questions about a topic.")
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "topic": {"type": "string"}, "limit": {"type": "integer"}, "level": {"enum": ["easy", "hard"]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["topic"],
    }
    assert tool.to_wire()["function"]["name"] == "lookup"


@pytest.mark.parametrize(
    ("declare", "reason"),
    [
        (lambda: Tool("has space"), "name"),
        (lambda: Tool("ok", parameters={"type": "string"}), "object schema"),
        (lambda: Tool("ok", parameters={"type": "object", "properties": {"a": 1}}), "properties"),
        (lambda: Tool("ok", parameters={"type": "object", "properties": {}, "required": ["b"]}), "required"),
        (lambda: tool_from_function(lambda *args: None), "named parameter"),
        (lambda: tool_from_function(5), "takes a function"),  # type: ignore[arg-type]
    ],
    ids=["name", "not an object", "property not a schema", "required unknown", "varargs", "not callable"],
)
def test_a_tool_that_cannot_be_declared_is_a_bad_request(declare: object, reason: str) -> None:
    with pytest.raises(LLMBadRequestError, match=reason):
        declare()  # type: ignore[operator]


def test_a_parameter_type_a_schema_cannot_state_is_named() -> None:
    def odd(when: complex) -> None:
        return None

    with pytest.raises(LLMBadRequestError, match="'when'"):
        tool_from_function(odd)
