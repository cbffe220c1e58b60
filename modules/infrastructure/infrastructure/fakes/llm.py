"""``FakeLLM``: a scripted ``CompletionClient`` behind a real ``LLMGateway``, recording every prompt."""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Union

from modules.infrastructure.domain.cache.ports import Cache
from modules.infrastructure.domain.config.values import LLMConfig
from modules.infrastructure.domain.errors import LLMMalformedResponseError
from modules.infrastructure.domain.llm.conversation import Message
from modules.infrastructure.domain.llm.gateway import LLMGateway
from modules.infrastructure.domain.llm.pricing import PriceTable
from modules.infrastructure.domain.llm.prompts import estimate_tokens
from modules.infrastructure.domain.llm.provider import LLMProvider
from modules.infrastructure.domain.llm.providers import LLMProviders
from modules.infrastructure.domain.llm.tools import Tool
from modules.infrastructure.domain.llm.usage import UsageLedger, UsageRecord
from modules.infrastructure.domain.llm.values import Completion, CompletionRequest, StreamChunk
from modules.infrastructure.infrastructure.fakes.llm_embeddings import Embedder, FakeEmbeddings, ModerationReply

JSON_FORMATS = ("json_object", "json_schema")


@dataclass(frozen=True)
class RecordedPrompt:
    """One request that reached the fake model: the rendered messages, the parameters and who asked."""

    messages: tuple[Mapping[str, Any], ...]
    parameters: Mapping[str, Any]
    module: str | None = None
    prompt_name: str | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: str | None = None

    @property
    def json_mode(self) -> bool:
        """True when the call asked for JSON (``response_format`` json_object or json_schema)."""
        response_format = self.parameters.get("response_format")
        return isinstance(response_format, Mapping) and response_format.get("type") in JSON_FORMATS

    @property
    def system(self) -> str | None:
        return next((m["content"] for m in self.messages if m["role"] == "system"), None)

    @property
    def user(self) -> str:
        """The last user message's text ("" when there is none)."""
        return next((str(m["content"]) for m in reversed(self.messages) if m["role"] == "user"), "")


Reply = Union[str, Message, BaseException, Callable[[RecordedPrompt], Union[str, Message]]]


class FakeLLM(FakeEmbeddings):
    """Answers each request with the next scripted reply (text, an assistant ``Message`` with tool calls, an
    exception to raise, or a function of the prompt), else with ``respond(prompt)``; records every request.
    Thread-safe. ``FakeLLM([Message.assistant(tool_calls=[ToolCall("c1", "add", {"a": 1, "b": 2})]), "3"])``
    scripts a tool loop: the call, then the answer.

    Embeddings come from ``embedder`` (default: ``hashed_vector``, repeatable), ``embedding_batch`` texts
    per request at most; moderations from ``moderations`` (default: nothing flagged). See ``FakeEmbeddings``.

    Install ``fake.gateway()`` with ``InfrastructureService.override(llm=...)``, or hand
    ``fake.providers()`` to ``bootstrap(llm_providers=...)``: the real call path (templates, cache,
    retries, usage ledger) runs, only the model is fake.
    """

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        respond: Callable[[RecordedPrompt], str | Message] | None = None,
        model: str = "fake-model",
        embedder: Embedder | None = None,
        moderations: Iterable[ModerationReply] = (),
        embedding_batch: int = 2048,
    ) -> None:
        self._start_embeddings(embedder, moderations, embedding_batch)
        self.provider = "fake"
        self.model = model
        self.respond = respond
        self.prompts: list[RecordedPrompt] = []
        self._replies: deque[Reply] = deque(replies)
        self._lock = threading.Lock()

    @property
    def calls(self) -> int:
        """Requests that reached the model (cache hits do not)."""
        return len(self.prompts)

    def add_replies(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def providers(self, settings: LLMConfig | None = None, *, max_retries: int = 3) -> LLMProviders:
        """This fake as the one provider, with a zero price and no waits between retries.

        ``settings`` (an ``AppConfig.llm_config``) supplies retries, cache TTL, limits and timeouts.
        """
        if settings is None:
            config = LLMConfig(provider=self.provider, model=self.model, timeout=5.0, max_retries=max_retries)
        else:
            config = replace(settings, provider=self.provider, model=self.model)
        provider = LLMProvider(config, lambda _: self, sleep=lambda _: None)
        free = {"input": 0, "output": 0}
        prices = PriceTable.from_data({"version": "fake", "models": {self.model: free, str(self.embedding_model): free}})
        return LLMProviders([provider], prices)

    def gateway(
        self,
        cache: Cache | None = None,
        *,
        max_retries: int = 3,
        sinks: Sequence[Callable[[UsageRecord], None]] = (),
        settings: LLMConfig | None = None,
    ) -> LLMGateway:
        """A real ``LLMGateway`` whose one provider is this fake: ``override(llm=fake.gateway())``.

        ``sinks`` get each usage record; ``settings`` as for ``providers``.
        """
        return LLMGateway(self.providers(settings, max_retries=max_retries), cache, UsageLedger(sinks=sinks))

    def complete(self, request: CompletionRequest, timeout: float) -> Completion:
        prompt = self._record(request)
        reply = self._next_reply(prompt)
        message = reply if isinstance(reply, Message) else Message.assistant(reply)
        tokens = max(1, (len(message.content) + sum(len(str(c.arguments)) for c in message.tool_calls)) // 4)
        try:
            return Completion(
                message.content, "tool_calls" if message.tool_calls else "stop", estimate_tokens(request.messages, request.tools),
                tokens, self.model, f"fake-{self.calls}", message.tool_calls,
            )
        except TypeError as exc:  # as an adapter reads a body it cannot believe: malformed, retried, never cached
            raise LLMMalformedResponseError(f"fake answered with success but not with a completion: {exc}", provider=self.provider) from None

    def stream(self, request: CompletionRequest, timeout: float, total: float = math.inf) -> Iterator[StreamChunk]:
        """The reply in word-sized chunks, then the usage chunk."""
        completion = self.complete(request, timeout)
        for piece in re.findall(r"\S+\s*|\s+", completion.content):  # the pieces join back to the reply exactly
            yield StreamChunk(piece)
        yield StreamChunk(completion=completion)

    def describe(self) -> str:
        return f"fake, model {self.model} (scripted replies)"

    def close(self) -> None:
        """Nothing to close."""

    def after_fork(self) -> None:
        """Nothing is inherited but locks another thread may have held."""
        self._lock = threading.Lock()
        self._embedding_lock = threading.Lock()

    def _record(self, request: CompletionRequest) -> RecordedPrompt:
        prompt = RecordedPrompt(
            tuple(dict(m) for m in request.messages), dict(request.parameters), request.module, request.prompt_name,
            tuple(request.tools), request.tool_choice,
        )
        with self._lock:
            self.prompts.append(prompt)
        return prompt

    def _next_reply(self, prompt: RecordedPrompt) -> str | Message:
        with self._lock:
            reply: Reply | None = self._replies.popleft() if self._replies else self.respond
        if reply is None:
            raise AssertionError(f"FakeLLM has no scripted reply left for call {self.calls} ({prompt.user[:60]!r}); add replies or pass respond=")
        if isinstance(reply, BaseException):
            raise reply
        return reply(prompt) if callable(reply) else reply
