"""Conversations and tool calls against a fault-injecting OpenAI-compatible server on 127.0.0.1, through the facade."""

from __future__ import annotations

import json

import pytest

from modules.infrastructure.module_api import (
    InfrastructureService,
    LLMAuthenticationError,
    LLMMalformedResponseError,
    LLMRateLimitError,
    LLMToolCallError,
    Message,
    PromptContext,
    ToolCall,
)
from tests.integration.fault_server import FAULT_API_KEY, Answer, FaultServer

pytestmark = pytest.mark.usefixtures("clean_env")

API_KEY = FAULT_API_KEY
HISTORY = [Message.system("Be brief."), Message.user("What is 2 + 3?")]
ADD_CALL = ("call_1", "add", '{"a": 2, "b": 3}')


def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b



def test_a_tool_call_comes_back_parsed_and_the_request_carries_history_and_tools(openai_at) -> None:
    with FaultServer([Answer(content=None, tool_calls=(ADD_CALL,), finish_reason="tool_calls")]) as server:
        openai_at(server)
        response = InfrastructureService.chat(HISTORY, tools=[add], tool_choice="add")
    assert response.tool_calls == (ToolCall("call_1", "add", {"a": 2, "b": 3}),) and response.finish_reason == "tool_calls"
    sent = server.requests[0].body
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert sent["tools"][0]["function"]["name"] == "add" and sent["tool_choice"] == {"type": "function", "function": {"name": "add"}}


def test_a_tool_loop_sends_the_results_back_until_the_answer(openai_at) -> None:
    answers = [Answer(content=None, tool_calls=(ADD_CALL,), finish_reason="tool_calls"), Answer(content="It is 5.")]
    with FaultServer(answers) as server:
        openai_at(server)
        result = InfrastructureService.run_tools(HISTORY, [add], context=PromptContext(module="quiz"))
    assert result.response.content == "It is 5." and result.steps == 2
    second = server.requests[1].body["messages"]
    assert second[-2]["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a": 2, "b": 3}'}
    assert second[-1] == {"role": "tool", "content": "5", "tool_call_id": "call_1"}
    assert InfrastructureService.get_llm_usage(module="quiz").calls == 2


def test_streamed_tool_calls_are_put_together_from_their_pieces(openai_at) -> None:
    calls = (ADD_CALL, ("call_2", "add", '{"a": 10, "b": 20}'))
    with FaultServer([Answer(content="Adding both.", tool_calls=calls, finish_reason="tool_calls")]) as server:
        openai_at(server)
        stream = InfrastructureService.stream_chat(HISTORY, tools=[add])
        text = stream.text()
    assert text == "Adding both."
    assert stream.response.tool_calls == (ToolCall("call_1", "add", {"a": 2, "b": 3}), ToolCall("call_2", "add", {"a": 10, "b": 20}))
    assert stream.response.finish_reason == "tool_calls" and stream.response.usage_stats.prompt_tokens == 3


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [('{"a": 2, "b":', "not JSON"), ('[2, 3]', "not an object"), ('{"a": 2}', "'b' is a required property")],
)
def test_malformed_tool_arguments_are_a_clear_error_and_never_cached(openai_at, arguments: str, problem: str) -> None:
    answer = Answer(content=None, tool_calls=(("call_1", "add", arguments),), finish_reason="tool_calls")
    with FaultServer([answer]) as server:
        openai_at(server)
        for _ in range(2):
            with pytest.raises(LLMToolCallError, match=problem) as caught:
                InfrastructureService.chat(HISTORY, context=PromptContext(use_cache=True), tools=[add])
    assert len(server.requests) == 2  # not retried, not cached
    assert caught.value.response.feedback()[1].content.startswith("Error: ")


def test_a_streamed_malformed_tool_call_is_a_clear_error(openai_at) -> None:
    answer = Answer(content=None, tool_calls=(("call_1", "add", '{"a": '),), finish_reason="tool_calls")
    with FaultServer([answer]) as server:
        openai_at(server)
        with pytest.raises(LLMToolCallError, match="not JSON"):
            InfrastructureService.stream_chat(HISTORY, tools=[add]).text()


def test_a_tool_call_stream_cut_mid_way_is_malformed(openai_at) -> None:
    answer = Answer(content=None, tool_calls=(ADD_CALL,), finish_reason=None)
    with FaultServer([answer]) as server:
        openai_at(server, LLM_MAX_RETRIES="0")
        with pytest.raises(LLMMalformedResponseError, match="cut short"):
            InfrastructureService.stream_chat(HISTORY, tools=[add]).text()


def test_a_429_with_retry_after_is_retried_for_a_conversation(openai_at) -> None:
    answers = [Answer(429, headers={"retry-after": "0.2"}), Answer(content=None, tool_calls=(ADD_CALL,), finish_reason="tool_calls")]
    with FaultServer(answers) as server:
        openai_at(server)
        response = InfrastructureService.chat(HISTORY, tools=[add])
    assert response.tool_calls[0].arguments == {"a": 2, "b": 3} and len(server.requests) == 2
    assert server.requests[1].at - server.requests[0].at >= 0.2


def test_a_401_is_not_retried_and_never_shows_the_key(openai_at) -> None:
    with FaultServer([Answer(401)]) as server:
        openai_at(server)
        with pytest.raises(LLMAuthenticationError) as caught:
            InfrastructureService.chat(HISTORY, tools=[add])
    assert len(server.requests) == 1 and API_KEY not in str(caught.value)


def test_rate_limit_waits_beyond_the_deadline_fail_fast(openai_at) -> None:
    with FaultServer([Answer(429, headers={"retry-after": "30"})]) as server:
        openai_at(server, LLM_DEADLINE="2")
        with pytest.raises(LLMRateLimitError, match="asked to wait 30.0 s"):
            InfrastructureService.chat(HISTORY)
    assert json.loads(json.dumps(server.requests[0].body))["messages"][1]["content"] == "What is 2 + 3?"


def test_an_answer_repeating_a_tool_call_id_is_malformed_retried_and_never_cached(openai_at) -> None:
    twice = Answer(content=None, tool_calls=(ADD_CALL, ("call_1", "add", '{"a": 1, "b": 1}')), finish_reason="tool_calls")
    with FaultServer([twice]) as server:
        openai_at(server, LLM_MAX_RETRIES="1")
        for _ in range(2):
            with pytest.raises(LLMMalformedResponseError, match="tool call ids repeat"):
                InfrastructureService.run_tools(HISTORY, [add], context=PromptContext(use_cache=True))
    assert len(server.requests) == 4  # each call tried twice, nothing served from the cache


def test_a_streamed_answer_repeating_a_tool_call_id_is_malformed(openai_at) -> None:
    twice = Answer(content=None, tool_calls=(ADD_CALL, ("call_1", "add", "{}")), finish_reason="tool_calls")
    with FaultServer([twice]) as server:
        openai_at(server, LLM_MAX_RETRIES="0")
        with pytest.raises(LLMMalformedResponseError, match="tool call ids repeat"):
            InfrastructureService.stream_chat(HISTORY, tools=[add]).text()
