"""The ``LLMProvider`` entity: one configured provider, its client, and the shared retry loop around it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from modules.infrastructure.domain.config.values import LLMConfig
from modules.infrastructure.domain.errors import LLMTimeoutError
from modules.infrastructure.domain.llm.failures import LLMFailures
from modules.infrastructure.domain.llm.parameters import check_parameters
from modules.infrastructure.domain.llm.ports import CompletionClient
from modules.infrastructure.domain.llm.prompts import estimate_tokens
from modules.infrastructure.domain.llm.values import Completion, CompletionRequest, LLMResponse, Prompt, StreamChunk, UsageStats
from modules.infrastructure.domain.policies.attempts import Attempts
from modules.infrastructure.domain.policies.breaker import CircuitBreaker
from modules.infrastructure.domain.policies.deadline import Deadline
from modules.infrastructure.domain.policies.rate_limit import CapacityLimiter, RateLimiter
from modules.infrastructure.domain.policies.retry_loop import RetryLoop

T = TypeVar("T")
DEFAULT_COMPLETION_TOKENS = 256  # what the TPM limit reserves for the answer when max_tokens is not given


class LLMProvider:
    """Calls one provider with retries (exponential backoff, full jitter, Retry-After), a deadline,
    a circuit breaker and rate limits (in process unless a shared ``limiter`` is given). The client
    is built by ``client_factory`` on first use.
    """

    def __init__(
        self,
        config: LLMConfig,
        client_factory: Callable[[LLMConfig], CompletionClient],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        backoff_base: float = 0.25,
        backoff_cap: float = 8.0,
        limiter: CapacityLimiter | None = None,
    ) -> None:
        self.config = config
        self._factory = client_factory
        self._client: CompletionClient | None = None
        self._lock = threading.Lock()
        self.clock = clock
        self.breaker = CircuitBreaker(config.breaker_threshold, config.breaker_cooldown, clock)
        self.limiter: CapacityLimiter = limiter or RateLimiter(config.rpm_limit, config.tpm_limit, clock)
        failures = LLMFailures(config.provider, config.model)
        self._loop = RetryLoop(failures, self.breaker, self.limiter, clock=clock, sleep=sleep, backoff=(backoff_base, backoff_cap))

    @property
    def name(self) -> str:
        return self.config.provider

    def initialize_client(self) -> CompletionClient:
        """The provider's client, built once (thread-safe)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory(self.config)
        return self._client

    def execute_prompt(self, prompt: Prompt, parameters: Mapping[str, Any] | None = None) -> LLMResponse:
        """Send ``prompt.template`` as it is (no rendering, no cache) and return the answer."""
        messages = [{"role": "system", "content": prompt.system}] if prompt.system else []
        messages.append({"role": "user", "content": prompt.template})
        check_parameters(parameters or {})  # the prompt's own were checked when it was built
        request = CompletionRequest(messages, {**prompt.parameters, **(parameters or {})})
        completion, attempts = self.complete(request, Deadline.after(self.config.deadline, self.clock))
        usage = UsageStats(completion.prompt_tokens, completion.completion_tokens, completion.total_tokens)
        return LLMResponse(completion.content, {"provider": self.name, "model": self.config.model, "attempts": attempts}, usage)

    def complete(self, request: CompletionRequest, deadline: Deadline, attempts: Attempts | None = None) -> tuple[Completion, int]:
        """The answer and the number of attempts it took; raises the last failure as an ``LLMProviderError``.

        ``attempts``, when given, counts the requests sent, so a caller can read the count after a failure too.
        """
        return self.run(lambda client, timeout: client.complete(request, timeout), reserved_tokens(request), deadline, attempts)

    def stream(self, request: CompletionRequest, deadline: Deadline, attempts: Attempts | None = None) -> Iterator[StreamChunk]:
        """Chunks of the answer; opening the stream is retried, a stream cut mid-way is not, and one still going
        when ``deadline`` passes ends with ``LLMTimeoutError``. ``attempts`` as for ``complete``."""
        opened, _ = self.run(
            lambda client, timeout: _started(client.stream(request, timeout, deadline.remaining())),
            reserved_tokens(request),
            deadline,
            attempts,
        )
        chunks = iter(opened)
        while True:
            try:
                chunk = next(chunks, None)
            except LLMTimeoutError as exc:  # a client that keeps the deadline itself ends the stream so
                if deadline.remaining() > 0:
                    raise
                raise self._stream_deadline_error(deadline) from exc
            if chunk is None:
                return
            if chunk.text and deadline.remaining() <= 0:  # and for a client that does not (the usage chunk may come late)
                raise self._stream_deadline_error(deadline)
            yield chunk

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def after_fork(self) -> None:
        """In a forked child: the inherited client drops its connections (it reconnects on next use)."""
        self._lock = threading.Lock()
        if self._client is not None:
            self._client.after_fork()

    def run(
        self, call: Callable[[CompletionClient, float], T], tokens: int, deadline: Deadline, attempts: Attempts | None = None
    ) -> tuple[T, int]:
        """``call(client, timeout)`` through the shared retry loop (breaker, limits reserving ``tokens`` per attempt,
        backoff, ``deadline``): its result and the attempts it took. Chat completions and embeddings alike."""
        self._loop.check_breaker()
        client = self.initialize_client()
        return self._loop.run(
            lambda timeout: call(client, timeout),
            timeout=self.config.timeout,
            max_retries=self.config.max_retries,
            deadline=deadline,
            units=tokens,
            attempts=attempts,
        )

    def _stream_deadline_error(self, deadline: Deadline) -> LLMTimeoutError:
        return LLMTimeoutError(
            f"{self.name} was still streaming when the call's deadline passed ({deadline.seconds:g} s); "
            "raise LLM_DEADLINE / PromptContext.timeout or ask for a shorter answer",
            provider=self.name,
        )


def reserved_tokens(request: CompletionRequest) -> int:
    """What a chat completion reserves of the TPM limit: the estimate of the messages and tools plus the answer's ``max_tokens``."""
    return estimate_tokens(request.messages, request.tools) + int(request.parameters.get("max_tokens") or DEFAULT_COMPLETION_TOKENS)


def _started(chunks: Iterator[StreamChunk]) -> Iterator[StreamChunk]:
    """Pull the first chunk now, so a failure to open the stream happens inside the retry loop."""
    first = next(chunks, None)

    def rest() -> Iterator[StreamChunk]:
        if first is not None:
            yield first
        yield from chunks

    return rest()
