"""``run_tool_loop``: call the model, run the tools it names, send the results back, until it answers."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from modules.infrastructure.domain.errors import LLMBadRequestError, LLMToolCallError, LLMToolError, LLMToolLoopError
from modules.infrastructure.domain.llm.conversation import Message, ToolCall
from modules.infrastructure.domain.llm.tool_functions import check_tools
from modules.infrastructure.domain.llm.tools import Tool
from modules.infrastructure.domain.llm.turns import conversation_messages
from modules.infrastructure.domain.llm.unicode_text import lone_surrogate_at
from modules.infrastructure.domain.llm.values import LLMResponse, Prompt, PromptContext, UsageStats

MAX_STEPS = 100
MAX_RESULT = 1_000_000  # characters of one tool result sent back to the model

ChatCall = Callable[[Sequence[Message], Prompt | None, PromptContext, Sequence[Tool], str | None], LLMResponse]


@dataclass(frozen=True)
class ToolLoopResult:
    """The model's final answer, the whole conversation (calls, results and answer added), the model calls
    made and their usage added up (``cost_usd`` ``None`` when a step's price is unknown)."""

    response: LLMResponse
    messages: tuple[Message, ...]
    steps: int
    usage_stats: UsageStats


def run_tool_loop(
    chat: ChatCall, history: object, tools: object, prompt: Prompt | None, context: PromptContext,
    tool_choice: str | None = None, max_steps: int = 8,
) -> ToolLoopResult:
    """Run the loop; ``tool_choice`` applies to the first step only (later steps are ``auto``, so the model can
    answer). Raises ``LLMToolLoopError`` after ``max_steps`` calls, ``LLMToolError`` when a tool raises."""
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or not 1 <= max_steps <= MAX_STEPS:
        raise LLMBadRequestError(f"max_steps must be a whole number from 1 to {MAX_STEPS}, not {max_steps!r:.40}")
    declared = _runnable(check_tools(tools))
    messages = list(conversation_messages(history, prompt, context.variables))
    following = None if prompt is None else replace(prompt, template="", system=None)  # its parameters, name and version
    responses: list[LLMResponse] = []
    for step in range(max_steps):
        try:
            response = chat(messages, following, context, declared, tool_choice if step == 0 else None)
        except LLMToolCallError as exc:
            assert isinstance(exc.response, LLMResponse)
            response = exc.response
        responses.append(response)
        messages.append(response.message)
        if not response.tool_calls:
            return ToolLoopResult(response, tuple(messages), len(responses), _added(responses))
        messages.extend(_result(call, declared) for call in response.tool_calls)
    raise LLMToolLoopError(
        f"The model still called tools after {max_steps} steps (max_steps); raise max_steps, or continue with exc.messages",
        messages=tuple(messages),
    )


def _runnable(tools: tuple[Tool, ...]) -> tuple[Tool, ...]:
    if not tools:
        raise LLMBadRequestError("The tool loop needs at least one tool (a function, or a Tool with its function)")
    for tool in tools:
        if tool.function is None or not callable(tool.function):
            raise LLMBadRequestError(f"Tool {tool.name!r} has no function to run; declare it with tool_from_function(fn) or Tool(..., function=fn)")
    return tools


def _result(call: ToolCall, tools: tuple[Tool, ...]) -> Message:
    """The tool's answer to ``call`` as a tool message; a call that cannot run gets the reason instead."""
    if call.error:
        return Message.tool(call.id, f"Error: {call.error}")
    tool = next(tool for tool in tools if tool.name == call.name)
    assert tool.function is not None
    try:
        value = tool.function(**call.arguments)
    except Exception as exc:
        raise LLMToolError(f"Tool {tool.name!r} raised {type(exc).__name__} for call {call.id!r}; see the cause", tool=tool.name) from exc
    return Message.tool(call.id, _as_text(value, tool.name))


def _as_text(value: object, tool: str) -> str:
    """A tool's result as the text sent back: text as it is, anything else as JSON; at most ``MAX_RESULT``
    characters, and sendable as UTF-8."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        except Exception as exc:  # a set, bytes, an object: the model reads JSON, not Python's repr
            raise LLMToolError(
                f"Tool {tool!r} returned {type(value).__name__}, which cannot be sent as JSON ({type(exc).__name__}); return text or JSON data",
                tool=tool,
            ) from exc
    if len(text) > MAX_RESULT:
        raise LLMToolError(f"Tool {tool!r} returned {len(text):,} characters, over {MAX_RESULT:,}; return a shorter result", tool=tool)
    if lone_surrogate_at(text) is not None:
        raise LLMToolError(f"Tool {tool!r} returned text with a lone surrogate, which cannot be sent; clean it first", tool=tool)
    return text


def _added(responses: list[LLMResponse]) -> UsageStats:
    costs = [r.usage_stats.cost_usd for r in responses]
    return UsageStats(
        sum(r.usage_stats.prompt_tokens for r in responses),
        sum(r.usage_stats.completion_tokens for r in responses),
        sum(r.usage_stats.total_tokens for r in responses),
        None if any(c is None for c in costs) else round(sum(c for c in costs if c is not None), 8),
    )


