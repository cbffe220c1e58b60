"""An LLM call's span attributes, in OpenTelemetry's GenAI names: system, model, tokens, finish reason.

The prompt and answer texts are added only when the tracer captures content (an operator's choice).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from modules.infrastructure.domain.llm.provider import LLMProvider
from modules.infrastructure.domain.llm.turns import Turn
from modules.infrastructure.domain.llm.values import Completion, StreamChunk
from modules.infrastructure.domain.tracing.ports import AttributeValue, Tracer

# gen_ai.system's well-known values; the embedded model is llama.cpp's server.
_SYSTEMS = {"openai": "openai", "azure": "az.ai.openai", "anthropic": "anthropic", "local": "llama.cpp"}
_REQUEST_PARAMETERS = {"max_tokens": "gen_ai.request.max_tokens", "temperature": "gen_ai.request.temperature", "top_p": "gen_ai.request.top_p"}


def span_name(operation: str, provider: LLMProvider) -> str:
    return f"{operation} {provider.config.model}"


def request_attributes(operation: str, provider: LLMProvider, turn: Turn, module: str | None, captures: bool) -> dict[str, AttributeValue]:
    """What is known before the call: who is asked for what."""
    system = _SYSTEMS.get(provider.name, provider.name)
    attributes: dict[str, AttributeValue] = {  # gen_ai.system is the older name of gen_ai.provider.name: both, for either reader
        "gen_ai.operation.name": operation,
        "gen_ai.system": system,
        "gen_ai.provider.name": system,
        "gen_ai.request.model": provider.config.model,
        "infrastructure.module": module or "",
    }
    for parameter, name in _REQUEST_PARAMETERS.items():
        value = turn.parameters.get(parameter)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attributes[name] = value
    if captures:
        attributes["gen_ai.input.messages"] = _json(turn.messages)
    return attributes


def embedding_attributes(provider: LLMProvider, model: str, texts: int, module: str) -> dict[str, AttributeValue]:
    """An ``embed`` call: the provider, the embedding model and how many texts (never the texts)."""
    system = _SYSTEMS.get(provider.name, provider.name)
    return {
        "gen_ai.operation.name": "embeddings", "gen_ai.system": system, "gen_ai.provider.name": system,
        "gen_ai.request.model": model, "infrastructure.llm.texts": texts, "infrastructure.module": module,
    }


def answer_attributes(completion: Completion, cached: bool, captures: bool) -> dict[str, AttributeValue]:
    """What the answer told: the model that wrote it, the tokens, why it stopped, whether the cache gave it."""
    attributes: dict[str, AttributeValue] = {
        "gen_ai.usage.input_tokens": completion.prompt_tokens,
        "gen_ai.usage.output_tokens": completion.completion_tokens,
        "infrastructure.llm.cache_hit": cached,
    }
    if completion.model:
        attributes["gen_ai.response.model"] = completion.model
    if completion.finish_reason:
        attributes["gen_ai.response.finish_reasons"] = [completion.finish_reason]
    if completion.request_id:
        attributes["gen_ai.response.id"] = completion.request_id
    if captures:
        attributes["gen_ai.output.messages"] = _json([{"role": "assistant", "content": completion.content}])
    return attributes


MAX_CAPTURED = 16_384  # characters of prompt or answer text a span carries: a backend refuses huge attributes


def _json(messages: list[dict[str, Any]]) -> str:
    """The messages as JSON, each one's text cut so that the whole stays near ``MAX_CAPTURED`` and is still JSON."""
    room = max(256, MAX_CAPTURED // max(1, len(messages)))
    return json.dumps([_cut(message, room) for message in messages], ensure_ascii=False, default=str)


def _cut(message: dict[str, Any], room: int) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, str) and len(content) > room:
        return {**message, "content": content[:room] + f"... [{len(content) - room} characters cut]"}
    return message


def traced_stream(tracer: Tracer, provider: LLMProvider, turn: Turn, module: str | None, chunks: Iterator[StreamChunk]) -> Iterator[StreamChunk]:
    """``chunks`` in one span from the first to the last; not made current, so the caller's own spans between two
    chunks are not its children. A caller that stops reading early ends it as ``abandoned``, not failed."""
    captures = tracer.captures_content
    attributes = {**request_attributes("chat", provider, turn, module, captures), "infrastructure.llm.stream": True}
    scope = tracer.span(span_name("chat", provider), "client", attributes, current=False)
    span = scope.__enter__()
    try:
        for chunk in chunks:
            if chunk.response is not None:
                usage = chunk.response.usage_stats
                reason = chunk.response.finish_reason
                span.set_attributes({
                    "gen_ai.usage.input_tokens": usage.prompt_tokens, "gen_ai.usage.output_tokens": usage.completion_tokens,
                    **({"gen_ai.response.finish_reasons": [reason]} if reason else {}),
                })
            yield chunk
    except GeneratorExit:
        span.set_attributes({"infrastructure.llm.outcome": "abandoned"})
        scope.__exit__(None, None, None)
        raise
    except BaseException as exc:
        scope.__exit__(type(exc), exc, exc.__traceback__)
        raise
    scope.__exit__(None, None, None)
