"""``LLMGateway``: renders a prompt, then tries the providers in order with cache, usage and cost."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from modules.infrastructure.domain.cache.ports import Cache
from modules.infrastructure.domain.errors import InvalidArgumentError, LLMProviderError
from modules.infrastructure.domain.policies.attempts import Attempts
from modules.infrastructure.domain.llm.call_inputs import checked_context, checked_prompt
from modules.infrastructure.domain.llm.cache_key import cache_key, cache_wanted
from modules.infrastructure.domain.policies.deadline import Deadline
from modules.infrastructure.domain.llm.json_mode import parse_json, with_json_format
from modules.infrastructure.domain.llm.chat_stream import ChatStream
from modules.infrastructure.domain.llm.prompts import check_context, estimate_text_tokens, estimate_tokens
from modules.infrastructure.domain.llm.failures import CIRCUIT_OPEN
from modules.infrastructure.domain.llm.provider import LLMProvider
from modules.infrastructure.domain.llm.providers import LLMProviders
from modules.infrastructure.domain.llm.response_cache import ResponseCache
from modules.infrastructure.domain.llm.retry_policy import may_fall_back
from modules.infrastructure.domain.llm.text_completions import TextCompletions
from modules.infrastructure.domain.llm.tool_calls import checked_calls, raise_for_tool_errors
from modules.infrastructure.domain.llm.tool_loop import ToolLoopResult, run_tool_loop
from modules.infrastructure.domain.llm.turn_records import record_turn, turn_response
from modules.infrastructure.domain.llm.turns import Turn, chat_turn, prompt_turn
from modules.infrastructure.domain.llm.usage import UsageLedger
from modules.infrastructure.domain.llm.call_span import answer_attributes, request_attributes, span_name, traced_stream
from modules.infrastructure.domain.tracing.ports import NO_TRACING, Tracer
from modules.infrastructure.domain.llm.values import (
    Completion,
    LLMClient,
    LLMResponse,
    LLMUsageSummary,
    Prompt,
    PromptContext,
    StreamChunk,
    UsageStats,
)

logger = logging.getLogger(__name__)


class LLMGateway:
    """The call layer behind ``execute_prompt``: one deadline per call, fallbacks after retryable failures."""

    def __init__(self, providers: LLMProviders, cache: Cache | None, ledger: UsageLedger, tracer: Tracer = NO_TRACING) -> None:
        self.providers = providers
        self.tracer = tracer
        self.cache = cache
        self.ledger = ledger
        self._answers = ResponseCache(cache) if cache is not None else None

    def use_providers(self, providers: LLMProviders) -> LLMProviders:
        """Call ``providers`` from now on (a reloaded configuration); returns the ones replaced. Calls that
        already chose their provider finish on it; the cache and the usage ledger stay."""
        replaced, self.providers = self.providers, providers
        return replaced

    def provider(self, name: str | None = None) -> LLMProvider:
        """The primary provider, or the configured one called ``name``; raises ``LLMBadRequestError``."""
        return self.providers.named(name)

    def client(self, provider: str | None = None) -> LLMClient:
        """A plain-text client for the primary provider (with fallbacks) or for ``provider`` only."""
        chosen = self.provider(provider)
        return LLMClient(chosen.name, chosen.config.model, TextCompletions(self, provider))

    def usage(self, since: datetime | None = None, module: str | None = None) -> LLMUsageSummary:
        """Calls, tokens and cost recorded in this process since ``since``, of ``module`` when given.

        Raises ``InvalidArgumentError`` for a ``since`` that is not a datetime or a ``module`` that is not text.
        """
        if since is not None and not isinstance(since, datetime):
            raise InvalidArgumentError(f"get_llm_usage(since=...) takes a datetime or None, not {type(since).__name__} {str(since)[:40]!r}")
        if module is not None and not isinstance(module, str):
            raise InvalidArgumentError(f"get_llm_usage(module=...) takes a module's name (text) or None, not {type(module).__name__}")
        return self.ledger.summary(since, module)

    def execute_json(self, prompt: Prompt, context: PromptContext | None = None) -> Any:
        """``execute`` in JSON mode, the answer parsed; raises ``LLMResponseFormatError`` when it is not JSON."""
        return parse_json(self.execute(with_json_format(checked_prompt(prompt)), context))

    def execute(self, prompt: Prompt, context: PromptContext | None = None) -> LLMResponse:
        """Render, then answer from the cache or the first provider that succeeds."""
        prompt, context = checked_prompt(prompt), checked_context(context)
        return self.answer(prompt_turn(prompt, context.variables), context)

    def chat(
        self, history: object, prompt: Prompt | None = None, context: PromptContext | None = None, tools: object = (), tool_choice: object = None
    ) -> LLMResponse:
        """The next assistant message of a conversation; ``LLMToolCallError`` when a tool call cannot run."""
        context = checked_context(context)
        turn = chat_turn(history, None if prompt is None else checked_prompt(prompt), context.variables, tools, tool_choice)
        return raise_for_tool_errors(self.answer(turn, context))

    def run_tools(
        self, history: object, tools: object, prompt: Prompt | None = None, context: PromptContext | None = None,
        tool_choice: str | None = None, max_steps: int = 8,
    ) -> ToolLoopResult:
        """Call the model, run the tools it names, send the results back, until it answers (``run_tool_loop``)."""
        checked = None if prompt is None else checked_prompt(prompt)
        return run_tool_loop(self.chat, history, tools, checked, checked_context(context), tool_choice, max_steps)

    def answer(self, turn: Turn, context: PromptContext) -> LLMResponse:
        """``turn`` answered from the cache or the first provider that succeeds (falling back on retryable failures)."""
        chain = self._chain(context)
        deadline = Deadline.after(context.timeout or chain[0].config.deadline, chain[0].clock)
        tried: list[str] = []
        for index, provider in enumerate(chain):
            try:
                return self._execute_on(provider, turn, context, deadline, tried)
            except LLMProviderError as exc:
                if not self._falls_back(exc, index, chain, deadline):
                    raise
                logger.warning("LLM provider %s failed (%s): falling back to %s", provider.name, type(exc).__name__, chain[index + 1].name)
                tried.append(provider.name)
        raise AssertionError("unreachable")  # pragma: no cover

    def stream(self, prompt: Prompt, context: PromptContext | None = None) -> Iterator[str]:
        """Text chunks from the first provider (no cache, no fallback once text has been sent)."""
        prompt, context = checked_prompt(prompt), checked_context(context)
        for chunk in self.stream_turn(prompt_turn(prompt, context.variables), context):
            if chunk.text:
                yield chunk.text

    def stream_chat(
        self, history: object, prompt: Prompt | None = None, context: PromptContext | None = None, tools: object = (), tool_choice: object = None
    ) -> ChatStream:
        """The next assistant message as it is written: its text, then ``ChatStream.response`` with the tool calls."""
        context = checked_context(context)
        turn = chat_turn(history, None if prompt is None else checked_prompt(prompt), context.variables, tools, tool_choice)
        return ChatStream(self.stream_turn(turn, context))

    def stream_turn(self, turn: Turn, context: PromptContext) -> Iterator[StreamChunk]:
        """Text chunks of ``turn``'s answer from the first provider, then one chunk with the whole ``response``; one span."""
        provider = self._chain(context)[0]
        yield from traced_stream(self.tracer, provider, turn, context.module, self._stream_on(provider, turn, context))

    def _stream_on(self, provider: LLMProvider, turn: Turn, context: PromptContext) -> Iterator[StreamChunk]:
        check_context(turn.messages, turn.parameters.get("max_tokens"), provider.config.context_size, turn.tools)
        deadline = Deadline.after(context.timeout or provider.config.deadline, provider.clock)
        started = time.perf_counter()
        completion: Completion | None = None
        outcome = "abandoned"  # the caller stopped reading early; what was used is still recorded
        sent = Attempts()
        received = 0  # characters of text passed on
        try:
            for chunk in provider.stream(turn.request(context.module), deadline, sent):
                if chunk.completion is not None:
                    completion = checked_calls(chunk.completion, turn.tools)
                if chunk.text:
                    received += len(chunk.text)
                    yield StreamChunk(chunk.text)
            outcome = "ok"
        except LLMProviderError as exc:
            outcome = type(exc).__name__
            raise
        finally:
            if outcome != "ok":  # cut short: the provider sent no usage, so what was used is estimated
                completion = Completion("", None, estimate_tokens(turn.messages), estimate_text_tokens(received)) if received else None
            # A stream that answered counts 1 (retries before it opened are not counted); a failed one, every request sent.
            attempts = 1 if outcome in ("ok", "abandoned") else sent.count
            record_turn(self.ledger, self.providers.prices, provider, turn, context, completion, started, False, outcome, attempts)
        if completion is not None:
            yield StreamChunk(response=turn_response(self.ledger, self.providers.prices, provider, turn, context, completion, started, 1, False, [], record=False))

    def _execute_on(self, provider: LLMProvider, turn: Turn, context: PromptContext, deadline: Deadline, tried: list[str]) -> LLMResponse:
        """One provider's answer, in a span of its own (OpenTelemetry's GenAI conventions)."""
        captures = self.tracer.captures_content
        attributes = request_attributes("chat", provider, turn, context.module, captures)
        with self.tracer.span(span_name("chat", provider), "client", attributes) as span:
            completion, cached, response = self._answer_on(provider, turn, context, deadline, tried)
            span.set_attributes(answer_attributes(completion, cached, captures))
            return response

    def _answer_on(
        self, provider: LLMProvider, turn: Turn, context: PromptContext, deadline: Deadline, tried: list[str]
    ) -> tuple[Completion, bool, LLMResponse]:
        check_context(turn.messages, turn.parameters.get("max_tokens"), provider.config.context_size, turn.tools)
        started = time.perf_counter()
        sent = Attempts()
        made = [0]

        def call() -> Completion:
            completion, made[0] = provider.complete(turn.request(context.module), deadline, sent)
            return checked_calls(completion, turn.tools)

        try:
            if self._answers is not None and cache_wanted(turn.parameters, context.use_cache, provider.config.cache_ttl):
                key = cache_key(provider.config, turn.messages, turn.parameters, context.module, turn.tools, turn.tool_choice)
                ttl = provider.config.cache_ttl
                completion, called = self._answers.get_or_call(key, call, turn.parameters, ttl, deadline.remaining())
            else:
                completion, called = call(), True
        except LLMProviderError as exc:
            record_turn(self.ledger, self.providers.prices, provider, turn, context, None, started, False, type(exc).__name__, sent.count)
            raise
        if not called:  # from the cache, or another caller's identical call: no tokens spent here
            hit = checked_calls(completion, turn.tools)
            return hit, True, turn_response(self.ledger, self.providers.prices, provider, turn, context, hit, time.perf_counter(), 0, True, tried)
        return completion, False, turn_response(self.ledger, self.providers.prices, provider, turn, context, completion, started, made[0], False, tried)

    def _chain(self, context: PromptContext) -> list[LLMProvider]:
        return [self.provider(context.provider)] if context.provider else list(self.providers)

    @staticmethod
    def _falls_back(exc: LLMProviderError, index: int, chain: Sequence[LLMProvider], deadline: Deadline) -> bool:
        has_next = index + 1 < len(chain)
        return has_next and deadline.remaining() > 0 and (exc.code == CIRCUIT_OPEN or may_fall_back(exc))


