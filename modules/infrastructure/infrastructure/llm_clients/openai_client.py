"""``OpenAIClient``: chat completions from OpenAI or any OpenAI-compatible server (vLLM, llama.cpp, Ollama)."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

import httpx2
import openai

from modules.infrastructure.domain.config.values import LLMConfig
from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.tool_call_parts import ToolCallParts
from modules.infrastructure.domain.llm.values import Completion, CompletionRequest, StreamChunk
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.http_transport.deadline_network import cutoff
from modules.infrastructure.infrastructure.llm_clients.http_client import deadline_http_client
from modules.infrastructure.infrastructure.llm_clients.embedding_endpoints import EmbeddingEndpoints
from modules.infrastructure.infrastructure.llm_clients.error_mapping import openai_errors
from modules.infrastructure.infrastructure.llm_clients.sdk_client import INHERITED as INHERITED  # for the adapters built on this one
from modules.infrastructure.infrastructure.llm_clients.sdk_client import SDKClient
from modules.infrastructure.infrastructure.llm_clients.response_body import (
    chunk_data,
    chunk_text,
    completion_from,
    completion_of,
    malformed,
    usage_of,
)

if logging.getLogger("httpx2").level == logging.NOTSET:
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # it logs every request at INFO

# The keyword arguments of the client's chat.completions.create(), read from its signature.
CREATE_ARGUMENTS = frozenset(inspect.signature(openai.resources.chat.Completions.create).parameters) - {"self"}
CLIENT_MAPPINGS = ("extra_body", "extra_headers", "extra_query")  # the client's own arguments, not the API's
OPENAI_URL = "https://api.openai.com/v1"  # the openai client's own default, when OPENAI_BASE_URL is not set
NO_KEY = "no-key"  # a self-hosted compatible server may need none, but the client insists on one

def arguments(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` as the client's ``create()`` takes them: the names it knows as they are, the others
    (a server's own, like llama.cpp's ``top_k``) in ``extra_body``, which it sends in the request as they are."""
    check_client_mappings(parameters)
    known = {name: value for name, value in parameters.items() if name in CREATE_ARGUMENTS}
    others = {name: value for name, value in parameters.items() if name not in CREATE_ARGUMENTS}
    if others:
        known["extra_body"] = {**(known.get("extra_body") or {}), **others}
    return known


def check_client_mappings(parameters: Mapping[str, Any]) -> None:
    """``extra_body``, ``extra_headers`` and ``extra_query`` (the clients' own arguments), when given, are mappings."""
    for name in CLIENT_MAPPINGS:
        if not isinstance(parameters.get(name) or {}, Mapping):
            raise LLMBadRequestError(f"Prompt.parameters['{name}'] must be a mapping, not {type(parameters[name]).__name__}")


def request_arguments(request: CompletionRequest) -> dict[str, Any]:
    """The request's parameters, tools and tool choice as ``create()`` takes them."""
    sent = arguments(request.parameters)
    if request.tools:
        sent["tools"] = [tool.to_wire() for tool in request.tools]
    if request.tool_choice in ("auto", "none", "required"):
        sent["tool_choice"] = request.tool_choice
    elif request.tool_choice:
        sent["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice}}
    return sent


class OpenAIClient(SDKClient, EmbeddingEndpoints):
    """One attempt per call (``max_retries=0``: the call layer retries); failures raised as ``LLMProviderError``."""

    def __init__(self, config: LLMConfig, redactor: Redactor | None = None, http_client: httpx2.Client | None = None) -> None:
        super().__init__(config, redactor, http_client)
        self.model = config.deployment or config.model

    def complete(self, request: CompletionRequest, timeout: float) -> Completion:
        """One attempt, body included, within ``timeout`` seconds."""
        with self._errors(), cutoff(time.monotonic() + timeout):
            raw = self._sdk().chat.completions.with_raw_response.create(
                model=self.model, messages=list(request.messages), timeout=timeout, **request_arguments(request)
            )
        return completion_from(raw.content, raw.headers.get("content-type"), raw.request_id, self.provider)

    def stream(self, request: CompletionRequest, timeout: float, total: float) -> Iterator[StreamChunk]:
        """Text as it arrives, then the usage: the first text within ``timeout`` seconds, the whole stream
        within ``total`` (and no read waits longer than ``timeout``)."""
        started = time.monotonic()
        parameters = {**request_arguments(request), "stream": True, "stream_options": {"include_usage": True}}
        with self._errors():
            with cutoff(started + timeout):
                stream = self._sdk().chat.completions.create(
                    model=self.model, messages=list(request.messages), timeout=timeout, **parameters
                )
            with stream:
                yield from self._chunks(stream, started + timeout, started + total)

    def describe(self) -> str:
        """Provider, model and where it is, credentials masked."""
        where = self.config.base_url or self.config.endpoint or "api.openai.com"
        return self._redactor.redact(f"{self.provider}, model {self.model} at {where}")

    def _chunks(self, stream: Any, opening_at: float, closing_at: float) -> Iterator[StreamChunk]:
        """The text pieces, then one chunk with the usage, once the stream has ended as it must: with a
        finish reason (without one it was cut short, or never answered)."""
        events = iter(stream)
        finish_reason: str | None = None
        usage = (0, 0)
        model = request_id = None
        text_seen = False
        parts = ToolCallParts()
        while (chunk := self._next_event(events, closing_at if text_seen else opening_at)) is not None:
            data = chunk_data(chunk, self.provider)
            text, finished = chunk_text(data, self.provider, parts)
            finish_reason = finished or finish_reason
            if data.get("usage") is not None:
                usage, model, request_id = usage_of(data, self.provider), data.get("model"), data.get("id")
            text_seen = text_seen or bool(text) or len(parts) > 0  # a tool call's pieces are progress too
            if text:
                yield StreamChunk(text)
        if finish_reason is None:
            what = "ended without a finish reason: it was cut short" if text_seen else "ended before any text"
            raise malformed(self.provider, f"a stream that {what}")
        calls = parts.calls(lambda what: malformed(self.provider, what))
        yield StreamChunk(completion=completion_of(self.provider, "", finish_reason, *usage, model, request_id, calls))

    def _next_event(self, events: Iterator[Any], at: float) -> Any:
        with cutoff(at):
            try:
                return next(events, None)
            except (ValueError, RecursionError) as exc:  # the client's json.loads of an event's data
                raise malformed(self.provider, f"a stream event that is not JSON ({type(exc).__name__})") from None

    def _errors(self) -> AbstractContextManager[None]:
        """The seam every call into the openai client goes through."""
        return openai_errors(self.provider, self._redactor.redact)

    def _build(self) -> Any:
        return openai.OpenAI(
            api_key=self._key(),
            base_url=self.config.base_url,
            max_retries=0,
            timeout=self.config.timeout,
            http_client=self._http(self.config.base_url or OPENAI_URL),
        )

    def _http(self, base_url: str) -> httpx2.Client:
        """The given client (tests), else one whose sockets keep each call's cutoff (``deadline_transport``)."""
        return self._http_client or deadline_http_client(base_url)

    def _key(self) -> str:
        return self.config.api_key.reveal() if self.config.api_key else NO_KEY
