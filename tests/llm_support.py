"""Helpers for LLM tests: OpenAI-shaped answers, and providers on an ``httpx2.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2

from modules.infrastructure.domain.llm.gateway import LLMGateway
from modules.infrastructure.domain.llm.providers import LLMProviders
from modules.infrastructure.domain.llm.provider import LLMProvider
from modules.infrastructure.domain.llm.usage import UsageLedger
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache
from modules.infrastructure.domain.cache.namespaced import NamespacedCache
from modules.infrastructure.infrastructure.llm_clients.factory import completion_client, load_prices
from modules.infrastructure.module_api import LLMConfig, Secret

API_KEY = "sk-test-5e3cr3t-key-0123456789"
Handler = Callable[[httpx2.Request], httpx2.Response]


def completion_body(content: str = "Hello", model: str = "gpt-4o-mini", prompt: int = 5, completion: int = 2) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


def error_response(status: int, message: str = "failed", code: str | None = None, headers: dict[str, str] | None = None) -> httpx2.Response:
    body = {"error": {"message": message, "type": "error", "code": code}}
    return httpx2.Response(status, json=body, headers=headers or {})


def sse_body(pieces: list[str], prompt: int = 5, finish_reason: str | None = "stop") -> bytes:
    """A stream as OpenAI sends it: the pieces, the last with ``finish_reason``, then the usage and ``[DONE]``."""
    events = [
        {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
         "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": finish_reason if last else None}]}
        for last, piece in ((i == len(pieces) - 1, piece) for i, piece in enumerate(pieces))
    ]
    events.append({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [],
                   "usage": {"prompt_tokens": prompt, "completion_tokens": len(pieces), "total_tokens": prompt + len(pieces)}})
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n"


def config(provider: str = "openai", **changes: Any) -> LLMConfig:
    values: dict[str, Any] = {"provider": provider, "model": "gpt-4o-mini", "api_key": Secret(API_KEY), "timeout": 5.0}
    if provider == "azure":
        values.update(model="chat", endpoint="https://llm.test", api_version="2024-10-21", deployment="chat")
    elif provider == "anthropic":
        values.update(model="claude-sonnet-4-5", base_url="http://claude.test")
    else:
        values.update(base_url="http://llm.test/v1")
    values.update(changes)
    return LLMConfig(**values)


class Recorder:
    """Answers with the handler and keeps every request; ``sleeps`` collects the waits asked for."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx2.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.handler(request)

    def provider(self, llm: LLMConfig, clock: Any = None) -> LLMProvider:
        """A provider on this recorder; with ``clock`` (a ``FakeClock``), waits advance it instead of sleeping."""
        http = httpx2.Client(transport=httpx2.MockTransport(self))

        def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            if clock is not None:
                clock.advance(seconds)

        def build(c: LLMConfig) -> Any:
            return completion_client(c, Redactor(), http)

        extra = {"clock": clock} if clock is not None else {}
        return LLMProvider(llm, build, sleep=sleep, backoff_base=0.01, **extra)


def gateway(*providers: LLMProvider) -> LLMGateway:
    return LLMGateway(LLMProviders(list(providers), load_prices(None)), NamespacedCache(MemoryCache(), "llm"), UsageLedger())
