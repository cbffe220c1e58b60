"""Conversations and tool calls on the embedded local model (its tool calling emulated with a JSON grammar)."""

from __future__ import annotations

import pytest

from modules.infrastructure.module_api import InfrastructureService, LLMToolCallError, Message, Prompt, PromptContext

pytestmark = pytest.mark.usefixtures("clean_env")


def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


def test_a_three_turn_conversation() -> None:
    history = [Message.system("You are a friendly tutor."), Message.user("Hi, I am Ana.")]
    parameters = Prompt("", parameters={"max_tokens": 24, "temperature": 0})
    for question in ("What is a noun?", "Give one example."):
        reply = InfrastructureService.chat(history, parameters, PromptContext(module="tutor"))
        assert reply.content.strip() and reply.finish_reason in {"stop", "length"}
        history += [reply.message, Message.user(question)]
    last = InfrastructureService.chat(history, parameters, PromptContext(module="tutor"))
    assert last.content.strip() and last.usage_stats.prompt_tokens > 30
    assert InfrastructureService.get_llm_usage(module="tutor").calls == 3


def test_a_required_tool_call_has_arguments_that_fit_the_schema() -> None:
    try:
        response = InfrastructureService.chat([Message.user("What is 2 plus 3?")], Prompt("", parameters={"max_tokens": 120, "temperature": 0}), tools=[add], tool_choice="required")
    except LLMToolCallError as exc:  # the grammar holds the shape; max_tokens may still cut it short
        pytest.fail(f"the grammar should give a whole call: {exc}")
    assert response.finish_reason == "tool_calls" and response.tool_calls[0].name == "add"
    assert set(response.tool_calls[0].arguments) == {"a", "b"}


def test_the_tool_loop_runs_the_tool_and_ends_with_an_answer() -> None:
    result = InfrastructureService.run_tools(
        [Message.user("What is 2 plus 3?")], [add], Prompt("", parameters={"max_tokens": 120, "temperature": 0}),
        PromptContext(module="quiz"), tool_choice="required",
    )
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    assert result.messages[2].content.isdigit() and result.response.content.strip()
    assert result.steps == 2 and InfrastructureService.get_llm_usage(module="quiz").calls == 2


def test_a_streamed_conversation_with_tools_gives_the_calls_at_the_end() -> None:
    stream = InfrastructureService.stream_chat([Message.user("Add 4 and 5.")], Prompt("", parameters={"max_tokens": 120}), tools=[add], tool_choice="add")
    assert stream.text() == "" and stream.response.tool_calls[0].name == "add"
