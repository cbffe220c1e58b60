"""Tool calls read from answers (whole and in stream pieces), kept in the cache, and histories that leave one open."""

from __future__ import annotations

import pytest

from modules.infrastructure.domain.config.values import LLMConfig
from modules.infrastructure.domain.errors import LLMBadRequestError, LLMMalformedResponseError
from modules.infrastructure.domain.llm.cache_key import cache_key
from modules.infrastructure.domain.llm.conversation import Message, ToolCall, check_history
from modules.infrastructure.domain.llm.tool_call_parts import MAX_ARGUMENTS, ToolCallParts, parsed_call
from modules.infrastructure.domain.llm.tool_functions import tool_from_function
from modules.infrastructure.domain.llm.tools import Tool
from modules.infrastructure.domain.llm.values import Completion


def malformed(what: str) -> Exception:
    return LLMMalformedResponseError(what)


def add(a: int, b: int) -> int:
    """Add."""
    return a + b


@pytest.mark.parametrize(
    ("arguments", "expected", "error"),
    [
        ('{"a": 1}', {"a": 1}, None),
        ({"a": 1}, {"a": 1}, None),
        ("", {}, None),
        ('{"a": ', {}, "not JSON"),
        ("[1, 2]", {}, "not an object"),
        ("null", {}, "not an object"),
        ("x" * (MAX_ARGUMENTS + 1), {}, "over"),
    ],
)
def test_arguments_are_parsed_or_the_call_says_why_not(arguments: object, expected: dict, error: str | None) -> None:
    call = parsed_call("c1", "add", arguments, malformed)
    assert call.arguments == expected
    assert (call.error is None) if error is None else (error in (call.error or ""))


@pytest.mark.parametrize(("call_id", "name", "arguments"), [(None, "add", "{}"), ("c1", "", "{}"), ("c1", 5, "{}"), ("c1", "add", 7)])
def test_a_call_without_id_name_or_readable_arguments_is_a_malformed_answer(call_id: object, name: object, arguments: object) -> None:
    with pytest.raises(LLMMalformedResponseError):
        parsed_call(call_id, name, arguments, malformed)


def test_streamed_pieces_join_into_calls_in_index_order() -> None:
    parts = ToolCallParts()
    parts.add(1, "c2", "add", '{"a"')
    parts.add(0, "c1", "add", '{"a": 1,')
    parts.add(1, None, None, ": 2}")
    parts.add(0, None, None, ' "b": 2}')
    assert parts.calls(malformed) == (ToolCall("c1", "add", {"a": 1, "b": 2}), ToolCall("c2", "add", {"a": 2}))


def test_a_completion_with_tool_calls_survives_the_cache_round_trip() -> None:
    completion = Completion("", "tool_calls", 3, 4, "m", "r", (ToolCall("c1", "add", {"a": 1}),))
    assert Completion.from_data(completion.to_data()) == completion
    with pytest.raises(TypeError):
        Completion.from_data({**completion.to_data(), "tool_calls": [{"id": "c1", "name": "add", "arguments": "x"}]})


def test_the_cache_key_covers_tools_and_choice_and_leaves_plain_keys_as_they_were() -> None:
    config, messages = LLMConfig(provider="openai", model="m"), [{"role": "user", "content": "hi"}]
    plain = cache_key(config, messages, {}, None)
    with_tool = cache_key(config, messages, {}, None, (tool_from_function(add),))
    other_tool = cache_key(config, messages, {}, None, (Tool("add", "Add.", {"type": "object", "properties": {}}),))
    forced = cache_key(config, messages, {}, None, (tool_from_function(add),), "required")
    assert len({plain, with_tool, other_tool, forced}) == 4
    assert plain == cache_key(config, messages, {}, None, ())


def test_a_history_must_answer_every_tool_call_before_going_on() -> None:
    asked = [Message.user("2 + 3?"), Message.assistant(tool_calls=[ToolCall("c1", "add", {}), ToolCall("c2", "add", {})])]
    with pytest.raises(LLMBadRequestError, match="ends before the result of tool call.*'c2'"):
        check_history([*asked, Message.tool("c1", "5")])
    with pytest.raises(LLMBadRequestError, match="Message 4 of the history \\(user\\) comes before the result of tool call.*'c2'"):
        check_history([*asked, Message.tool("c1", "5"), Message.user("and?")])
    assert len(check_history([*asked, Message.tool("c2", "5"), Message.tool("c1", "5"), Message.user("and?")])) == 5


def test_two_calls_streamed_under_one_index_are_a_malformed_answer() -> None:
    parts = ToolCallParts()
    parts.add(0, "c1", "add", '{"a": 1}')
    parts.add(0, "c2", "sub", '{"a": 1}')
    with pytest.raises(LLMMalformedResponseError, match="two tool calls under index 0"):
        parts.calls(malformed)


def test_a_completion_repeating_a_call_id_cannot_be_built() -> None:
    with pytest.raises(TypeError, match="tool call ids repeat \\('c1'\\)"):
        Completion("", "tool_calls", tool_calls=(ToolCall("c1", "add"), ToolCall("c1", "add")))
