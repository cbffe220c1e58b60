"""``AnthropicClient``: the Anthropic Messages API through the official ``anthropic`` client, as a ``CompletionClient``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack
from typing import Any

import anthropic
import httpx2

from modules.infrastructure.domain.config.values import LLMConfig
from modules.infrastructure.domain.llm.values import Completion, CompletionRequest, StreamChunk
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.llm_clients.anthropic_body import message_from
from modules.infrastructure.infrastructure.llm_clients.anthropic_stream import StreamReader
from modules.infrastructure.infrastructure.llm_clients.anthropic_errors import anthropic_errors
from modules.infrastructure.infrastructure.llm_clients.anthropic_wire import create_arguments, is_json_mode
from modules.infrastructure.infrastructure.http_transport.deadline_network import cutoff
from modules.infrastructure.infrastructure.llm_clients.http_client import deadline_http_client
from modules.infrastructure.infrastructure.llm_clients.openai_client import NO_KEY
from modules.infrastructure.infrastructure.llm_clients.sdk_client import SDKClient

ANTHROPIC_URL = "https://api.anthropic.com"  # the client's own default, when ANTHROPIC_BASE_URL is not set


class AnthropicClient(SDKClient):
    """One attempt per call (``max_retries=0``: the call layer retries); failures raised as ``LLMProviderError``.

    Bodies and stream events are read as JSON here (``anthropic_body``), never through the client's models.
    """

    def __init__(self, config: LLMConfig, redactor: Redactor | None = None, http_client: httpx2.Client | None = None) -> None:
        super().__init__(config, redactor, http_client)
        self.model = config.model

    def complete(self, request: CompletionRequest, timeout: float) -> Completion:
        """One attempt, body included, within ``timeout`` seconds."""
        arguments = self._arguments(request)
        with self._errors(), cutoff(time.monotonic() + timeout):
            raw = self._sdk().messages.with_raw_response.create(model=self.model, timeout=timeout, **arguments)
            body = raw.read()
        return message_from(body, raw.headers.get("content-type"), raw.request_id, self.provider, is_json_mode(request.parameters))

    def stream(self, request: CompletionRequest, timeout: float, total: float) -> Iterator[StreamChunk]:
        """Text as it arrives, then the usage: the first text within ``timeout`` seconds, the whole stream
        within ``total`` (and no read waits longer than ``timeout``)."""
        started = time.monotonic()
        arguments = self._arguments(request)
        reader = StreamReader(self.provider, is_json_mode(request.parameters), self._redactor.redact)
        with self._errors(), ExitStack() as opened:
            with cutoff(started + timeout):
                answer = self._sdk().messages.with_streaming_response.create(model=self.model, timeout=timeout, stream=True, **arguments)
                response = opened.enter_context(answer)
            events = anthropic.Stream.raw_events(response.http_response)
            while (event := self._next_event(events, started + (total if reader.progress else timeout))) is not None:
                text = reader.read(event.event, event.data)
                if text:
                    yield StreamChunk(text)
        yield StreamChunk(completion=reader.completion())

    def describe(self) -> str:
        """Provider, model and where it is, credentials masked."""
        where = self.config.base_url or "api.anthropic.com"
        version = f", API version {self.config.api_version}" if self.config.api_version else ""
        return self._redactor.redact(f"{self.provider}, model {self.model} at {where}{version}")

    def _arguments(self, request: CompletionRequest) -> dict[str, Any]:
        return create_arguments(request, self.config.max_output_tokens, self.config.api_version)

    @staticmethod
    def _next_event(events: Iterator[Any], at: float) -> Any:
        with cutoff(at):
            return next(events, None)

    def _errors(self) -> AbstractContextManager[None]:
        """The seam every call into the anthropic client goes through."""
        return anthropic_errors(self.provider, self._redactor.redact)

    def _build(self) -> Any:
        base_url = self.config.base_url or ANTHROPIC_URL
        headers = {"anthropic-version": self.config.api_version} if self.config.api_version else None
        return anthropic.Anthropic(
            api_key=self.config.api_key.reveal() if self.config.api_key else NO_KEY,
            base_url=base_url,
            max_retries=0,
            timeout=self.config.timeout,
            default_headers=headers,
            http_client=self._http_client or deadline_http_client(base_url),
        )
