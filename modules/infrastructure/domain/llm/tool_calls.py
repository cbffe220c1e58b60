"""The tool calls of an answer, checked against the tools the request declared before anyone runs them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from modules.infrastructure.domain.errors import LLMToolCallError
from modules.infrastructure.domain.llm.conversation import ToolCall
from modules.infrastructure.domain.llm.tool_schemas import arguments_problem
from modules.infrastructure.domain.llm.tools import Tool
from modules.infrastructure.domain.llm.values import Completion, LLMResponse


def checked_calls(completion: Completion, tools: Sequence[Tool]) -> Completion:
    """``completion`` with each tool call's ``error`` set when it names an undeclared tool or its arguments
    break the tool's schema (an adapter sets it already for arguments that are not a JSON object)."""
    if not completion.tool_calls:
        return completion
    declared = {tool.name: tool for tool in tools}
    return replace(completion, tool_calls=tuple(_checked(call, declared) for call in completion.tool_calls))


def _checked(call: ToolCall, declared: dict[str, Tool]) -> ToolCall:
    if call.error:
        return call
    tool = declared.get(call.name)
    if tool is None:
        known = ", ".join(declared) or "none"
        return replace(call, error=f"there is no tool named {call.name!r:.80}; the tools are: {known}")
    problem = arguments_problem(tool.parameters, call.arguments)
    return replace(call, error=f"the arguments of {call.name} are not valid: {problem}") if problem else call


def raise_for_tool_errors(response: LLMResponse) -> LLMResponse:
    """``response`` when every tool call can run; else ``LLMToolCallError`` carrying it (``exc.response.feedback()``)."""
    bad = [call for call in response.tool_calls if call.error]
    if not bad:
        return response
    provider = response.metadata.get("provider")
    raise LLMToolCallError(
        f"The model's tool call {bad[0].id!r} cannot run: {bad[0].error}"
        + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")
        + "; send exc.response.feedback() back so the model can correct it",
        provider=provider if isinstance(provider, str) else None,
        response=response,
    )
