"""Tool calling emulated for a server without it: the request rewritten, the JSON reply read back."""

from __future__ import annotations

import json

from modules.infrastructure.domain.llm.conversation import Message, ToolCall
from modules.infrastructure.domain.llm.tool_functions import tool_from_function
from modules.infrastructure.domain.llm.values import Completion, CompletionRequest
from modules.infrastructure.infrastructure.llm_clients.tool_emulation import emulated_completion, emulated_request


def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


ADD = tool_from_function(add)
ASKED = [Message.user("2 + 3?").to_wire()]
ANSWERED = [*ASKED, Message.assistant(tool_calls=[ToolCall("c1", "add", {"a": 2, "b": 3})]).to_wire(), Message.tool("c1", "5").to_wire()]


def schema(request: CompletionRequest) -> dict:
    return request.parameters["response_format"]["json_schema"]["schema"]


def test_a_request_without_tools_is_left_alone() -> None:
    request = CompletionRequest(ASKED, {"max_tokens": 5})
    assert emulated_request(request) is request


def test_tools_become_a_system_description_and_a_schema_of_a_call_or_an_answer() -> None:
    request = emulated_request(CompletionRequest(ASKED, {"max_tokens": 5}, tools=(ADD,)))
    assert request.tools == () and request.parameters["max_tokens"] == 5
    assert request.messages[0]["role"] == "system" and "add(" in request.messages[0]["content"]
    kinds = schema(request)["anyOf"]
    assert kinds[0]["properties"]["tool_calls"]["items"]["anyOf"][0]["properties"]["name"] == {"const": "add"}
    assert kinds[1]["required"] == ["answer"]


def test_a_forced_choice_allows_only_calls_and_after_results_only_an_answer() -> None:
    forced = schema(emulated_request(CompletionRequest(ASKED, tools=(ADD,), tool_choice="add")))
    assert forced["required"] == ["tool_calls"]
    after = emulated_request(CompletionRequest(ANSWERED, tools=(ADD,)))
    assert schema(after)["required"] == ["answer"]
    assert after.messages[2] == {"role": "assistant", "content": json.dumps({"tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]})}
    assert after.messages[3]["role"] == "user" and "add says: 5" in after.messages[3]["content"]


def test_choice_none_sends_the_history_as_text_without_tools() -> None:
    request = emulated_request(CompletionRequest(ANSWERED, tools=(ADD,), tool_choice="none"))
    assert "response_format" not in request.parameters and [m["role"] for m in request.messages] == ["user", "assistant", "user"]


def test_replies_are_read_back_as_calls_or_text() -> None:
    call = emulated_completion(Completion('{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}', "stop"))
    assert call.finish_reason == "tool_calls" and call.content == "" and call.tool_calls[0].arguments == {"a": 1, "b": 2}
    assert emulated_completion(Completion('{"answer": "It is 3."}', "stop")).content == "It is 3."
    assert emulated_completion(Completion('{"answer": "It is \\u00e9', "length")).content == "It is é"
    assert emulated_completion(Completion("plain words", "stop")).content == "plain words"
    assert emulated_completion(Completion('{"tool_calls": "nope"}', "stop")).content == '{"tool_calls": "nope"}'


def test_emulated_call_ids_are_unique_across_processes_not_a_counter() -> None:
    reply = Completion('{"tool_calls": [{"name": "add", "arguments": {}}]}', "stop")
    first, second = emulated_completion(reply).tool_calls[0].id, emulated_completion(reply).tool_calls[0].id
    assert first != second and len(first) == len("call_") + 24 and first != "call_1"
