"""A ``CompletionRequest`` (OpenAI-style messages and parameters) as the Anthropic Messages API takes it.

System messages become ``system``; assistant tool calls ``tool_use`` blocks; tool results ``tool_result``
blocks of one user message; ``max_tokens``, which the API requires, defaults to ANTHROPIC_MAX_TOKENS.
A parameter the API has no equivalent for is an ``LLMBadRequestError`` naming it, before any request.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import anthropic

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.tools import Tool
from modules.infrastructure.domain.llm.values import CompletionRequest
from modules.infrastructure.infrastructure.llm_clients.openai_client import check_client_mappings

logger = logging.getLogger(__name__)
_WARNED: set[tuple[str, ...]] = set()  # sampling parameters already warned about in this process

# The keyword arguments of the client's messages.create(), read from its signature: sent as they are.
NATIVE = frozenset(inspect.signature(anthropic.resources.messages.Messages.create).parameters) - {"self", "messages", "model", "stream", "timeout"}
SAMPLING = ("temperature", "top_p", "top_k")
SAMPLING_REMOVED_IN = "2026-10-21"  # the API version (the client's default) that refuses sampling parameters, even at defaults
# OpenAI's names with an Anthropic equivalent (n: only 1); any other name (seed, frequency_penalty, logprobs, ...) is refused.
TRANSLATED = frozenset({"max_tokens", "max_completion_tokens", "stop", "response_format", "parallel_tool_calls", "user", "n", *SAMPLING})
JSON_TOOL = "json_answer"  # the tool JSON mode forces: its input is the JSON object asked for
JSON_TOOL_DESCRIPTION = "Give the answer as one JSON object: the tool's input is the answer."


def create_arguments(request: CompletionRequest, default_max_tokens: int, api_version: str | None) -> dict[str, Any]:
    """The keyword arguments of ``messages.create()`` for ``request``, model excepted."""
    system, messages = wire_messages(request.messages)
    sent = parameters(request.parameters, default_max_tokens, api_version)
    json_mode = is_json_mode(request.parameters)
    sent["messages"] = messages
    if system:
        sent["system"] = system
    if request.tools:
        sent["tools"] = [wire_tool(tool) for tool in request.tools]
    choice = wire_tool_choice(request.tool_choice)
    if json_mode:
        if request.tools:
            raise LLMBadRequestError(
                "response_format json_object cannot be combined with tools on anthropic (JSON mode forces a tool of its own); "
                "give a json_schema response_format instead"
            )
        sent["tools"], choice = [json_tool()], {"type": "tool", "name": JSON_TOOL}
    if choice is not None:
        if request.parameters.get("parallel_tool_calls") is False and choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
        sent["tool_choice"] = choice
    return sent


def is_json_mode(parameters: Mapping[str, Any]) -> bool:
    """True when the request asks for any JSON object (``response_format={"type": "json_object"}``): the forced JSON tool."""
    return ((parameters.get("response_format") or {}).get("type")) == "json_object"


def wire_messages(messages: Sequence[Mapping[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The system text and the Messages API's list: tool results next to each other merged into one user message."""
    system = [str(m.get("content") or "") for m in messages if m.get("role") == "system"]
    wire: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "system":
            continue
        if role == "tool":
            block = {"type": "tool_result", "tool_use_id": message.get("tool_call_id"), "content": str(message.get("content") or "")}
            if wire and wire[-1]["role"] == "user" and _all_tool_results(wire[-1]["content"]):
                wire[-1]["content"].append(block)
            else:
                wire.append({"role": "user", "content": [block]})
        elif role == "assistant":
            wire.append({"role": "assistant", "content": _assistant_content(message)})
        elif role == "user":
            wire.append({"role": "user", "content": str(message.get("content") or "")})
        else:
            raise LLMBadRequestError(f"A message has the role {role!r}; anthropic takes system, user, assistant and tool messages")
    if not wire:
        raise LLMBadRequestError("anthropic needs a user message besides the system prompt; add one to the history")
    return "\n\n".join(text for text in system if text), wire


def _all_tool_results(content: object) -> bool:
    return isinstance(content, list) and all(block.get("type") == "tool_result" for block in content)


def _assistant_content(message: Mapping[str, Any]) -> str | list[dict[str, Any]]:
    text = str(message.get("content") or "")
    calls = message.get("tool_calls") or []
    if not calls:
        return text
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for call in calls:
        function = call.get("function") or {}
        blocks.append({"type": "tool_use", "id": call.get("id"), "name": function.get("name"), "input": _input(function.get("arguments"))})
    return blocks


def _input(arguments: object) -> dict[str, Any]:
    """A tool call's arguments (JSON text, as ``ToolCall.to_wire`` writes them) as the object ``tool_use`` carries."""
    try:
        value = json.loads(arguments) if isinstance(arguments, str) else arguments
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise LLMBadRequestError(f"A tool call in the history has arguments that are not a JSON object: {str(arguments)[:80]!r}")
    return value


def wire_tool(tool: Tool) -> dict[str, Any]:
    return {"name": tool.name, "description": tool.description, "input_schema": dict(tool.parameters)}


def json_tool() -> dict[str, Any]:
    return {"name": JSON_TOOL, "description": JSON_TOOL_DESCRIPTION, "input_schema": {"type": "object"}}


def wire_tool_choice(choice: str | None) -> dict[str, Any] | None:
    """``auto``, ``none``, ``required`` (``any``) or a tool's name, as the API's ``tool_choice`` object."""
    if choice is None:
        return None
    kinds = {"auto": "auto", "none": "none", "required": "any"}
    return {"type": kinds[choice]} if choice in kinds else {"type": "tool", "name": choice}


def parameters(given: Mapping[str, Any], default_max_tokens: int, api_version: str | None) -> dict[str, Any]:
    """``Prompt.parameters`` as ``create()`` takes them; ``LLMBadRequestError`` naming those the API has no equivalent for."""
    values = {name: value for name, value in given.items() if value is not None}
    check_client_mappings(values)
    refused = sorted(name for name in values if name not in NATIVE and name not in TRANSLATED)
    if refused or values.get("n", 1) != 1:
        refused = refused or ["n"]
        raise LLMBadRequestError(
            f"Prompt.parameters {', '.join(map(repr, refused))} cannot be sent to anthropic: the Messages API has no such parameter"
            f"{' (n: one answer per call)' if 'n' in refused else ''}; remove them for this provider"
        )
    sent = {name: value for name, value in values.items() if name in NATIVE and name not in TRANSLATED}
    sent["max_tokens"] = values.get("max_tokens", values.get("max_completion_tokens", default_max_tokens))
    if "stop" in values:
        sent["stop_sequences"] = _stop_sequences(values["stop"])
    if "user" in values:
        metadata = values.get("metadata") or {}
        if not isinstance(metadata, Mapping):
            raise LLMBadRequestError(f"Prompt.parameters['metadata'] must be a mapping, not {type(metadata).__name__}")
        sent["metadata"] = {**metadata, "user_id": str(values["user"])}
    _sampling(values, sent, api_version)
    _response_format(values.get("response_format"), sent)
    return sent


def _stop_sequences(stop: object) -> list[str]:
    """``stop`` (a text or a list of texts) as ``stop_sequences``."""
    sequences = [stop] if isinstance(stop, str) else stop
    if not isinstance(sequences, list) or not all(isinstance(s, str) and s for s in sequences):
        raise LLMBadRequestError(f"Prompt.parameters['stop'] must be a text or a list of non-empty texts, not {str(stop)[:60]!r}")
    return sequences


def _sampling(values: Mapping[str, Any], sent: dict[str, Any], api_version: str | None) -> None:
    """temperature, top_p and top_k: left out for API version 2026-10-21 and later, which refuses them even at
    their defaults (a prompt written for every provider, or an anthropic fallback, still runs; a warning says
    so once); sent with an older version."""
    given = [name for name in SAMPLING if name in values]
    if not given:
        return
    if not api_version or api_version >= SAMPLING_REMOVED_IN:
        _warn_once(tuple(given), api_version or SAMPLING_REMOVED_IN)
        return
    temperature = values.get("temperature", 0)
    if not 0 <= temperature <= 1:
        raise LLMBadRequestError(f"Prompt.parameters['temperature'] is {temperature}; anthropic takes 0 to 1")
    sent["extra_body"] = {**(sent.get("extra_body") or {}), **{name: values[name] for name in given}}


def _warn_once(names: tuple[str, ...], api_version: str) -> None:
    if names not in _WARNED:
        _WARNED.add(names)
        logger.warning(
            "anthropic API version %s takes no sampling parameters: %s not sent; set ANTHROPIC_API_VERSION=2023-06-01 "
            "to send them to a model that still takes them", api_version, ", ".join(names),
        )


def _response_format(response_format: Mapping[str, Any] | None, sent: dict[str, Any]) -> None:
    """``json_object``: the forced JSON tool; ``json_schema``: the API's structured output (``output_config.format``)."""
    kind = (response_format or {}).get("type", "text")
    if kind in ("text", "json_object"):  # json_object: the forced tool, added with the tools
        return
    schema = ((response_format or {}).get("json_schema") or {}).get("schema") if kind == "json_schema" else None
    if not isinstance(schema, Mapping):
        raise LLMBadRequestError(
            f"Prompt.parameters['response_format'] {dict(response_format or {})!r:.120} cannot be sent to anthropic; "
            "it takes {'type': 'json_object'} or {'type': 'json_schema', 'json_schema': {'schema': {...}}}"
        )
    output_config = dict(sent.get("output_config") or {})
    output_config["format"] = {"type": "json_schema", "schema": dict(schema)}
    sent["output_config"] = output_config
