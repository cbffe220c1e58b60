"""What every model behind the call layer does with conversations and tool calls, run against the shipped
``FakeLLM`` and against the real adapters on scripted HTTP answers (``tests/service/test_tool_call_contract.py``).

A test class inherits ``ToolCallContract`` and provides ``scripted``: a fixture that installs, through
``InfrastructureService.override(llm=...)``, a model answering with the given assistant messages in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from modules.infrastructure.module_api import InfrastructureService, LLMToolCallError, Message, PromptContext, ToolCall

Scripted = Callable[[Sequence[Message]], None]
QUESTION = [Message.system("Be brief."), Message.user("What is 2 + 3?")]
CALL = ToolCall("call_1", "add", {"a": 2, "b": 3})


def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


class ToolCallContract:
    def test_a_text_answer_has_no_tool_calls(self, scripted: Scripted) -> None:
        scripted([Message.assistant("Five.")])
        response = InfrastructureService.chat(QUESTION, tools=[add])
        assert (response.content, response.finish_reason, response.tool_calls) == ("Five.", "stop", ())

    def test_a_tool_call_comes_back_with_its_id_name_and_arguments(self, scripted: Scripted) -> None:
        scripted([Message.assistant(tool_calls=[CALL])])
        response = InfrastructureService.chat(QUESTION, tools=[add])
        assert response.tool_calls == (CALL,) and response.finish_reason == "tool_calls"
        assert response.message == Message.assistant("", [CALL])

    def test_arguments_that_break_the_schema_are_an_error_to_feed_back(self, scripted: Scripted) -> None:
        scripted([Message.assistant(tool_calls=[ToolCall("call_1", "add", {"a": 2})])])
        with pytest.raises(LLMToolCallError, match="'b' is a required property") as caught:
            InfrastructureService.chat(QUESTION, tools=[add])
        assert [m.role for m in caught.value.response.feedback()] == ["assistant", "tool"]

    def test_the_tool_loop_ends_with_the_answer_and_records_each_step(self, scripted: Scripted) -> None:
        scripted([Message.assistant(tool_calls=[CALL]), Message.assistant("It is 5.")])
        result = InfrastructureService.run_tools(QUESTION, [add], context=PromptContext(module="contract"))
        assert [m.role for m in result.messages] == ["system", "user", "assistant", "tool", "assistant"]
        assert result.messages[3] == Message.tool("call_1", "5") and result.response.content == "It is 5."
        assert InfrastructureService.get_llm_usage(module="contract").calls == 2

    def test_a_stream_gives_the_text_then_the_tool_calls(self, scripted: Scripted) -> None:
        scripted([Message.assistant("Adding.", [CALL])])
        stream = InfrastructureService.stream_chat(QUESTION, tools=[add])
        assert stream.text() == "Adding." and stream.response.tool_calls == (CALL,)
