"""Tool calling for a model whose server has none (the embedded llama.cpp model): the tools are described in the
system message and the answer is held to a JSON schema by the server's grammar, ``{"tool_calls": [...]}`` or
``{"answer": "..."}``, then read back as ordinary tool calls.

A small model repeats a call after seeing its result, and repeats a call within one reply, so the schema
allows one call per reply and, after tool results, only an answer: one tool call per user turn.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from modules.infrastructure.domain.llm.conversation import ToolCall
from modules.infrastructure.domain.llm.tools import Tool
from modules.infrastructure.domain.llm.values import Completion, CompletionRequest

_ANSWER_START = re.compile(r'\s*\{\s*"answer"\s*:\s*"')
INSTRUCTIONS = (
    "You can call these tools:\n{tools}\n"
    'Reply with JSON only: {{"tool_calls": [{{"name": <tool>, "arguments": {{...}}}}]}} to call tools, '
    'or {{"answer": "<your answer in full sentences>"}} to answer the user.'
)


def emulated_request(request: CompletionRequest) -> CompletionRequest:
    """``request`` without ``tools``: described in the system message, with tool calls and results as text, and
    the reply held to the JSON schema of a tool call or an answer."""
    if not request.tools:
        return request
    if request.tool_choice == "none":
        return replace(request, messages=_as_text(request.messages), tools=(), tool_choice=None)
    described = "\n".join(f"- {t.name}({json.dumps(t.parameters.get('properties', {}))}): {t.description}" for t in request.tools)
    system = {"role": "system", "content": INSTRUCTIONS.format(tools=described)}
    messages = [system, *_as_text(request.messages)]
    schema = _reply_schema(request.tools, request.tool_choice, after_results=request.messages[-1]["role"] == "tool")
    response_format = {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}
    return replace(request, messages=messages, parameters={**request.parameters, "response_format": response_format}, tools=(), tool_choice=None)


def emulated_completion(completion: Completion) -> Completion:
    """The reply read back: ``{"tool_calls": [...]}`` as tool calls, ``{"answer": ...}`` as text; anything else
    (an answer cut short by ``max_tokens``) as it is."""
    try:
        reply = json.loads(completion.content)
    except ValueError:
        return replace(completion, content=_cut_answer(completion.content))
    if isinstance(reply, Mapping) and isinstance(reply.get("answer"), str):
        return replace(completion, content=reply["answer"])
    calls = reply.get("tool_calls") if isinstance(reply, Mapping) else None
    if not isinstance(calls, list) or not all(isinstance(c, Mapping) and isinstance(c.get("name"), str) for c in calls):
        return completion
    tool_calls = tuple(ToolCall(f"call_{uuid.uuid4().hex[:24]}", c["name"], _arguments(c.get("arguments"))) for c in calls)
    return replace(completion, content="", finish_reason="tool_calls", tool_calls=tool_calls)


def _cut_answer(content: str) -> str:
    """The text of an ``{"answer": "...`` reply that ``max_tokens`` cut short, else ``content`` as it is."""
    start = _ANSWER_START.match(content)
    if start is None:
        return content
    text = content[start.end() :].rstrip("\\")
    try:
        return str(json.loads(f'"{text}"'))
    except ValueError:
        return text


def _arguments(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _reply_schema(tools: Sequence[Tool], choice: str | None, *, after_results: bool) -> dict[str, Any]:
    answer = {"type": "object", "properties": {"answer": {"type": "string", "minLength": 1}}, "required": ["answer"], "additionalProperties": False}
    if after_results and choice in (None, "auto"):
        return answer
    chosen = [t for t in tools if choice in (None, "auto", "required") or t.name == choice]
    call = {"anyOf": [_call_schema(tool) for tool in chosen]}
    calls = {"type": "object", "properties": {"tool_calls": {"type": "array", "items": call, "minItems": 1, "maxItems": 1}}, "required": ["tool_calls"], "additionalProperties": False}
    return calls if choice not in (None, "auto") else {"anyOf": [calls, answer]}


def _call_schema(tool: Tool) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"name": {"const": tool.name}, "arguments": dict(tool.parameters)},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def _as_text(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Tool calls and results as the text the emulated model reads and writes."""
    names: dict[str, str] = {}
    text: list[dict[str, Any]] = []
    question = ""
    for message in messages:
        if message["role"] == "user":
            question = message["content"]
        if message.get("tool_calls"):
            calls = [{"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])} for c in message["tool_calls"]]
            names.update((c["id"], c["function"]["name"]) for c in message["tool_calls"])
            text.append({"role": "assistant", "content": json.dumps({"tool_calls": calls})})
        elif message["role"] == "tool":
            name = names.get(message.get("tool_call_id", ""), "the tool")
            text.append({"role": "user", "content": f"{question} ({name} says: {message['content']})"})
        else:
            text.append({"role": message["role"], "content": message["content"]})
    return text
