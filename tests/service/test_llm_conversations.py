"""Conversations, tool calls and the tool loop through the facade, on the shipped ``FakeLLM`` (the real call layer)."""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType
from typing import Literal

import pytest

from modules.infrastructure.module_api import (
    InfrastructureService,
    LLMBadRequestError,
    LLMToolCallError,
    LLMToolError,
    LLMToolLoopError,
    Message,
    Prompt,
    PromptContext,
    Tool,
    ToolCall,
    tool_from_function,
)
from modules.infrastructure.module_api.testing import FakeLLM, MemoryCache

HISTORY = [Message.system("You are terse."), Message.user("Hi"), Message.assistant("Hello!"), Message.user("Name a color.")]


def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


def grade(score: float, scale: Literal["percent", "points"] = "percent") -> dict:
    """Grade a score."""
    return {"grade": "A" if score >= 90 else "B", "scale": scale}


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    llm = FakeLLM()
    with InfrastructureService.override(llm=llm.gateway(MemoryCache())):
        yield llm


def test_a_conversation_sends_the_whole_history_and_the_new_turn(fake: FakeLLM) -> None:
    fake.add_replies("Blue.")
    prompt = Prompt("And one more {kind}?", system="Answer in one word.", name="colors", parameters={"temperature": 0})
    response = InfrastructureService.chat(HISTORY, prompt, PromptContext({"kind": "color"}, module="lessons"))
    assert response.content == "Blue." and response.finish_reason == "stop" and response.tool_calls == ()
    sent = fake.prompts[0]
    assert [m["role"] for m in sent.messages] == ["system", "system", "user", "assistant", "user", "user"]
    assert sent.messages[-1]["content"] == "And one more color?" and sent.parameters == {"temperature": 0}
    assert InfrastructureService.get_llm_usage(module="lessons").calls == 1


def test_the_cache_key_covers_the_whole_history(fake: FakeLLM) -> None:
    fake.add_replies("Red.", "Green.")
    context = PromptContext(use_cache=True)
    first = InfrastructureService.chat(HISTORY, context=context)
    again = InfrastructureService.chat(HISTORY, context=context)
    other = InfrastructureService.chat([*HISTORY[:-1], Message.user("Name another color.")], context=context)
    assert (first.content, again.content, other.content) == ("Red.", "Red.", "Green.")
    assert again.metadata["cached"] and fake.calls == 2


def test_tool_calls_come_back_checked_against_their_schema(fake: FakeLLM) -> None:
    fake.add_replies(Message.assistant(tool_calls=[ToolCall("c1", "add", {"a": 2, "b": 3})]))
    response = InfrastructureService.chat([Message.user("2 + 3?")], tools=[add], tool_choice="required")
    assert response.tool_calls == (ToolCall("c1", "add", {"a": 2, "b": 3}),)
    assert response.finish_reason == "tool_calls"
    sent = fake.prompts[0]
    assert sent.tools[0].parameters["required"] == ["a", "b"] and sent.tool_choice == "required"


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (ToolCall("c1", "add", {"a": 2}), "'b' is a required property"),
        (ToolCall("c1", "add", {"a": "two", "b": 3}), "'two' is not of type 'integer'"),
        (ToolCall("c1", "subtract", {"a": 1, "b": 2}), "there is no tool named 'subtract'"),
    ],
)
def test_a_call_that_cannot_run_is_an_error_the_caller_can_feed_back(fake: FakeLLM, call: ToolCall, problem: str) -> None:
    fake.add_replies(Message.assistant(tool_calls=[call]), Message.assistant(tool_calls=[call]))
    context = PromptContext(use_cache=True)
    with pytest.raises(LLMToolCallError, match=problem) as caught:
        InfrastructureService.chat([Message.user("2 + 3?")], context=context, tools=[add])
    feedback = caught.value.response.feedback()
    assert feedback[0].tool_calls[0].id == "c1" and feedback[1].role == "tool" and problem in feedback[1].content
    with pytest.raises(LLMToolCallError):  # never cached: the model is asked again
        InfrastructureService.chat([Message.user("2 + 3?")], context=context, tools=[add])
    assert fake.calls == 2


def test_the_tool_loop_runs_the_functions_and_returns_the_answer(fake: FakeLLM) -> None:
    fake.add_replies(
        Message.assistant(tool_calls=[ToolCall("c1", "add", {"a": 2, "b": 3}), ToolCall("c2", "grade", {"score": 95})]),
        "2 + 3 = 5, and 95 is an A.",
    )
    result = InfrastructureService.run_tools([Message.user("2 + 3? And grade 95.")], [add, grade], context=PromptContext(module="quiz"))
    assert result.response.content == "2 + 3 = 5, and 95 is an A." and result.steps == 2
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "tool", "assistant"]
    assert result.messages[2] == Message.tool("c1", "5")
    assert result.messages[3] == Message.tool("c2", '{"grade": "A", "scale": "percent"}')
    assert fake.prompts[1].messages[2] == {"role": "tool", "content": "5", "tool_call_id": "c1"}
    usage = InfrastructureService.get_llm_usage(module="quiz")
    assert usage.calls == 2 and result.usage_stats.total_tokens == usage.total_tokens


def test_the_tool_loop_feeds_invalid_arguments_back_to_the_model(fake: FakeLLM) -> None:
    fake.add_replies(
        Message.assistant(tool_calls=[ToolCall("c1", "add", {"a": "two", "b": 3})]),
        Message.assistant(tool_calls=[ToolCall("c2", "add", {"a": 2, "b": 3})]),
        "5",
    )
    result = InfrastructureService.run_tools([Message.user("2 + 3?")], [add])
    assert result.response.content == "5" and result.steps == 3
    assert result.messages[2].content.startswith("Error: the arguments of add are not valid: 'two' is not of type 'integer'")
    assert result.messages[4] == Message.tool("c2", "5")


def test_the_tool_loop_stops_at_its_step_limit_with_the_history_so_far(fake: FakeLLM) -> None:
    fake.respond = lambda prompt: Message.assistant(tool_calls=[ToolCall(f"c{len(prompt.messages)}", "add", {"a": 1, "b": 1})])
    with pytest.raises(LLMToolLoopError, match="after 3 steps") as caught:
        InfrastructureService.run_tools([Message.user("loop")], [add], max_steps=3)
    assert fake.calls == 3 and len(caught.value.messages) == 7


def test_a_tool_that_raises_stops_the_loop_with_its_exception_as_cause(fake: FakeLLM) -> None:
    def broken(x: int) -> int:
        """Always fails."""
        raise KeyError(x)

    fake.add_replies(Message.assistant(tool_calls=[ToolCall("c1", "broken", {"x": 1})]))
    with pytest.raises(LLMToolError, match="'broken' raised KeyError") as caught:
        InfrastructureService.run_tools([Message.user("go")], [broken])
    assert isinstance(caught.value.__cause__, KeyError) and caught.value.tool == "broken"


def test_the_first_step_only_forces_the_tool_choice(fake: FakeLLM) -> None:
    fake.add_replies(Message.assistant(tool_calls=[ToolCall("c1", "add", {"a": 1, "b": 2})]), "3")
    InfrastructureService.run_tools([Message.user("1 + 2?")], [add], tool_choice="add")
    assert [p.tool_choice for p in fake.prompts] == ["add", None]


def test_a_streamed_conversation_gives_its_text_then_the_tool_calls(fake: FakeLLM) -> None:
    fake.add_replies("Let me add that.", Message.assistant("Adding.", [ToolCall("c1", "add", {"a": 1, "b": 2})]))
    stream = InfrastructureService.stream_chat(HISTORY)
    assert stream.text() == "Let me add that." and stream.response.finish_reason == "stop"
    with_tools = InfrastructureService.stream_chat([Message.user("1 + 2?")], tools=[add])
    assert list(with_tools) == ["Adding."]
    assert with_tools.response.tool_calls == (ToolCall("c1", "add", {"a": 1, "b": 2}),)


def test_a_streamed_call_that_cannot_run_raises_at_the_end(fake: FakeLLM) -> None:
    fake.add_replies(Message.assistant(tool_calls=[ToolCall("c1", "add", {"a": 1})]))
    stream = InfrastructureService.stream_chat([Message.user("1 + ?")], tools=[add])
    with pytest.raises(LLMToolCallError, match="'b' is a required property"):
        stream.text()
    assert stream.response.tool_calls[0].error


def test_a_stream_response_before_its_end_is_an_error(fake: FakeLLM) -> None:
    fake.add_replies("Hello there.")
    stream = InfrastructureService.stream_chat(HISTORY)
    with pytest.raises(LLMBadRequestError, match="read to the end"):
        stream.response
    stream.close()


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda: InfrastructureService.chat([]), "history is empty"),
        (lambda: InfrastructureService.chat("Hi"), "list of Message"),  # type: ignore[arg-type]
        (lambda: InfrastructureService.chat([Message("robot", "beep")]), "role 'robot'"),
        (lambda: InfrastructureService.chat([Message.user("x"), Message.tool("c9", "5")]), "no earlier assistant message made"),
        (lambda: InfrastructureService.chat([Message.user("x")], tools=[Tool("t", "", {"type": "object", "properties": {"a": {"type": "nope"}}})]), "not valid JSON Schema"),
        (lambda: InfrastructureService.chat([Message.user("x")], tools=[add, add]), "more than once"),
        (lambda: InfrastructureService.chat([Message.user("x")], tools=[add], tool_choice="multiply"), "neither one of auto"),
        (lambda: InfrastructureService.chat([Message.user("x")], tool_choice="auto"), "without tools"),
        (lambda: InfrastructureService.chat([Message.user("x")], Prompt("{missing}")), "missing"),
        (lambda: InfrastructureService.chat([Message.user("\udcff")]), "lone surrogate"),
        (lambda: InfrastructureService.chat([Message.user("x" * 2_000_000)]), "about .* over"),
        (lambda: InfrastructureService.run_tools([Message.user("x")], []), "at least one tool"),
        (lambda: InfrastructureService.run_tools([Message.user("x")], [Tool("t")]), "no function to run"),
        (lambda: InfrastructureService.run_tools([Message.user("x")], [add], max_steps=10**9), "max_steps"),
        (lambda: InfrastructureService.run_tools([Message.user("x")], [add], max_steps=True), "max_steps"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_is_refused_before_any_request(call, problem: str) -> None:
    fake = FakeLLM()
    settings = InfrastructureService.get_config().llm_config
    with InfrastructureService.override(llm=fake.gateway(settings=settings)):
        with pytest.raises(LLMBadRequestError, match=problem):
            call()
    assert fake.calls == 0


def test_a_plain_function_reads_as_a_tool() -> None:
    tool = tool_from_function(grade)
    assert tool.description == "Grade a score."
    assert tool.parameters == {
        "type": "object",
        "properties": {"score": {"type": "number"}, "scale": {"enum": ["percent", "points"]}},
        "required": ["score"],
    }


def test_a_conversation_may_start_from_the_prompt_alone(fake: FakeLLM) -> None:
    fake.add_replies("Hello.")
    InfrastructureService.chat([], Prompt("Hi, I am {name}.", system="Be kind."), PromptContext({"name": "Ana"}))
    assert fake.prompts[0].messages == ({"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi, I am Ana."})
    with pytest.raises(LLMBadRequestError, match="or a prompt for the new turn"):
        InfrastructureService.chat([], Prompt("", system="Be kind."))


def test_a_tool_keeps_the_schema_it_was_declared_with() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    tool = Tool("t", "T.", MappingProxyType(schema))  # any mapping, read-only ones too
    schema["properties"]["a"]["type"] = "nope"
    schema["type"] = "string"
    assert tool.parameters == {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def test_a_schema_with_references_within_it_is_accepted() -> None:
    tool = Tool("t", "", {"type": "object", "$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}})
    assert tool.to_wire()["function"]["parameters"]["properties"]["a"] == {"$ref": "#/$defs/n"}


@pytest.mark.parametrize(
    ("value", "problem"),
    [({1, 2}, "returned set, which cannot be sent as JSON"), (b"raw", "returned bytes"), (float("nan"), "returned float"),
     ("x" * 1_000_001, "over 1,000,000"), ("bad \udc80", "lone surrogate")],
)
def test_a_tool_result_that_cannot_be_sent_stops_the_loop_naming_the_tool(fake: FakeLLM, value: object, problem: str) -> None:
    def lookup(key: str) -> object:
        """Look something up."""
        return value

    fake.add_replies(Message.assistant(tool_calls=[ToolCall("c1", "lookup", {"key": "k"})]))
    with pytest.raises(LLMToolError, match=problem) as caught:
        InfrastructureService.run_tools([Message.user("go")], [lookup])
    assert caught.value.tool == "lookup"


def test_a_tool_result_whose_text_form_raises_is_a_tool_error(fake: FakeLLM) -> None:
    class Sulky:
        def __str__(self) -> str:
            raise RuntimeError("no")

    fake.add_replies(Message.assistant(tool_calls=[ToolCall("c1", "lookup", {})]))
    with pytest.raises(LLMToolError, match="returned Sulky"):
        InfrastructureService.run_tools([Message.user("go")], [Tool("lookup", "", function=lambda: Sulky())])


def test_a_stream_read_twice_gives_its_text_again(fake: FakeLLM) -> None:
    fake.add_replies("Hello there, friend.")
    stream = InfrastructureService.stream_chat(HISTORY)
    with pytest.raises(LLMBadRequestError, match="read to the end"):
        stream.response
    assert "".join(stream) == "Hello there, friend." and stream.text() == "Hello there, friend." and list(stream) == ["Hello ", "there, ", "friend."]
