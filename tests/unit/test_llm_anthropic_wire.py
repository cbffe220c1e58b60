"""OpenAI-style requests translated to the Anthropic Messages API: every message kind, tools, tool choice, parameters
and JSON mode; what the API has no equivalent for is refused by name before any request. No I/O."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.conversation import Message, ToolCall
from modules.infrastructure.domain.llm.tools import Tool
from modules.infrastructure.domain.llm.values import CompletionRequest
from modules.infrastructure.infrastructure.llm_clients.anthropic_wire import create_arguments, wire_messages

ADD = Tool("add", "Add two numbers.", {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}})
CALLS = (ToolCall("toolu_1", "add", {"a": 2, "b": 3}), ToolCall("toolu_2", "add", {"a": 1, "b": 1}))


def sent(parameters: dict[str, Any] | None = None, tools: tuple[Tool, ...] = (), tool_choice: str | None = None,
         api_version: str | None = None, messages: list[Message] | None = None) -> dict[str, Any]:
    history = messages or [Message.user("Hi")]
    request = CompletionRequest([m.to_wire() for m in history], parameters or {}, tools=tools, tool_choice=tool_choice)
    return create_arguments(request, 1024, api_version)


def test_a_whole_history_in_the_messages_shape() -> None:
    history = [
        Message.system("Be brief."),
        Message.user("What is 2 + 3 and 1 + 1?"),
        Message.assistant("Let me add.", CALLS),
        Message.tool("toolu_1", "5"),
        Message.tool("toolu_2", "2"),
        Message.system("Answer in words."),
        Message.assistant("Five and two."),
        Message.user("Thanks"),
    ]
    system, messages = wire_messages([m.to_wire() for m in history])
    assert system == "Be brief.\n\nAnswer in words."
    assert messages == [
        {"role": "user", "content": "What is 2 + 3 and 1 + 1?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me add."},
            {"type": "tool_use", "id": "toolu_1", "name": "add", "input": {"a": 2, "b": 3}},
            {"type": "tool_use", "id": "toolu_2", "name": "add", "input": {"a": 1, "b": 1}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "5"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "2"},
        ]},
        {"role": "assistant", "content": "Five and two."},
        {"role": "user", "content": "Thanks"},
    ]


def test_an_assistant_message_with_calls_and_no_text_has_only_tool_use_blocks() -> None:
    _, messages = wire_messages([Message.user("Add").to_wire(), Message.assistant("", CALLS[:1]).to_wire()])
    assert messages[1]["content"] == [{"type": "tool_use", "id": "toolu_1", "name": "add", "input": {"a": 2, "b": 3}}]


def test_a_history_of_system_messages_only_is_refused() -> None:
    with pytest.raises(LLMBadRequestError, match="needs a user message"):
        wire_messages([Message.system("Be brief.").to_wire()])


def test_tool_call_arguments_that_are_not_an_object_are_refused() -> None:
    wire = {"role": "assistant", "content": "", "tool_calls": [{"id": "t", "type": "function", "function": {"name": "add", "arguments": "[1]"}}]}
    with pytest.raises(LLMBadRequestError, match="not a JSON object"):
        wire_messages([Message.user("Hi").to_wire(), wire])


def test_tools_as_name_description_and_input_schema() -> None:
    assert sent(tools=(ADD,))["tools"] == [{"name": "add", "description": "Add two numbers.", "input_schema": dict(ADD.parameters)}]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [("auto", {"type": "auto"}), ("none", {"type": "none"}), ("required", {"type": "any"}), ("add", {"type": "tool", "name": "add"})],
)
def test_tool_choice(choice: str, wire: dict[str, Any]) -> None:
    assert sent(tools=(ADD,), tool_choice=choice)["tool_choice"] == wire


def test_no_tool_choice_sends_none_and_parallel_tool_calls_false_allows_one_call() -> None:
    assert "tool_choice" not in sent(tools=(ADD,))
    one = sent({"parallel_tool_calls": False}, tools=(ADD,), tool_choice="auto")
    assert one["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True} and "parallel_tool_calls" not in one


def test_max_tokens_from_the_prompt_or_the_default() -> None:
    assert sent()["max_tokens"] == 1024
    assert sent({"max_tokens": 50})["max_tokens"] == 50
    assert sent({"max_completion_tokens": 70})["max_tokens"] == 70


def test_stop_user_and_the_apis_own_parameters() -> None:
    arguments = sent({"stop": ["END", "STOP"], "user": "u-1", "metadata": {"tag": "x"}, "service_tier": "auto", "extra_headers": {"x-a": "1"}})
    assert arguments["stop_sequences"] == ["END", "STOP"] and "stop" not in arguments
    assert arguments["metadata"] == {"tag": "x", "user_id": "u-1"}
    assert arguments["service_tier"] == "auto" and arguments["extra_headers"] == {"x-a": "1"}
    assert sent({"stop": "END"})["stop_sequences"] == ["END"]


@pytest.mark.parametrize("name", ["frequency_penalty", "presence_penalty", "seed", "logprobs", "top_logprobs", "logit_bias", "best_of"])
def test_openai_only_parameters_are_refused_by_name(name: str) -> None:
    with pytest.raises(LLMBadRequestError, match=f"'{name}'.*anthropic"):
        sent({name: 1})


def test_n_above_one_is_refused_and_n_of_one_passes() -> None:
    with pytest.raises(LLMBadRequestError, match="one answer per call"):
        sent({"n": 2})
    assert "n" not in sent({"n": 1})


def test_parameters_set_to_none_are_not_sent() -> None:
    assert sent({"seed": None, "temperature": None, "stop": None}) == sent()


def test_sampling_parameters_are_left_out_for_the_default_api_version_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"):
        first = sent({"temperature": 0, "top_p": 0.9, "max_tokens": 5})
        second = sent({"temperature": 0, "top_p": 0.9})
    assert "temperature" not in json.dumps(first) and "top_p" not in json.dumps(second) and first["max_tokens"] == 5
    warnings = [r.getMessage() for r in caplog.records if "sampling" in r.getMessage()]
    assert len(warnings) <= 1 and all("2026-10-21" in w and "ANTHROPIC_API_VERSION=2023-06-01" in w for w in warnings)


def test_an_older_api_version_sends_sampling_parameters_with_temperature_from_0_to_1() -> None:
    arguments = sent({"temperature": 0.5, "top_k": 40}, api_version="2023-06-01")
    assert arguments["extra_body"] == {"temperature": 0.5, "top_k": 40}
    with pytest.raises(LLMBadRequestError, match="anthropic takes 0 to 1"):
        sent({"temperature": 1.5}, api_version="2023-06-01")


def test_json_object_mode_forces_the_json_tool() -> None:
    arguments = sent({"response_format": {"type": "json_object"}})
    assert arguments["tool_choice"] == {"type": "tool", "name": "json_answer"}
    assert arguments["tools"] == [{"name": "json_answer", "description": arguments["tools"][0]["description"], "input_schema": {"type": "object"}}]
    assert "response_format" not in arguments


def test_json_object_mode_with_tools_is_refused() -> None:
    with pytest.raises(LLMBadRequestError, match="json_schema"):
        sent({"response_format": {"type": "json_object"}}, tools=(ADD,))


def test_a_json_schema_becomes_the_apis_structured_output() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": False}
    arguments = sent({"response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": schema}}})
    assert arguments["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert "tools" not in arguments and sent({"response_format": {"type": "text"}}) == sent()


def test_a_response_format_anthropic_cannot_express_is_refused() -> None:
    with pytest.raises(LLMBadRequestError, match="response_format"):
        sent({"response_format": {"type": "json_schema"}})


@pytest.mark.parametrize("stop", [5, [""], ["END", 3], {"END": 1}])
def test_a_stop_that_is_not_texts_is_refused(stop: object) -> None:
    with pytest.raises(LLMBadRequestError, match="'stop'"):
        sent({"stop": stop})


def test_metadata_that_is_not_a_mapping_is_refused_when_user_adds_to_it() -> None:
    with pytest.raises(LLMBadRequestError, match="'metadata'"):
        sent({"user": "u", "metadata": ["x"]})


@pytest.mark.parametrize("name", ["extra_body", "extra_headers", "extra_query"])
def test_the_clients_own_mappings_must_be_mappings(name: str) -> None:
    with pytest.raises(LLMBadRequestError, match=f"'{name}'"):
        sent({name: ["x"]})
