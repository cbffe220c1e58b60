"""The ``LLMProvider`` entity: one configured provider, its client, and the one retry loop around it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from modules.infrastructure.domain.config.values import LLMConfig
from modules.infrastructure.domain.errors import LLMProviderError, LLMRateLimitError, LLMTimeoutError
from modules.infrastructure.domain.llm.attempts import Attempts
from modules.infrastructure.domain.llm.breaker import CircuitBreaker
from modules.infrastructure.domain.llm.deadline import Deadline
from modules.infrastructure.domain.llm.parameters import check_parameters
from modules.infrastructure.domain.llm.ports import CapacityLimiter, CompletionClient
from modules.infrastructure.domain.llm.prompts import estimate_tokens
from modules.infrastructure.domain.llm.rate_limit import RateLimiter
from modules.infrastructure.domain.llm.retry_policy import is_retryable
from modules.infrastructure.domain.llm.values import Completion, CompletionRequest, LLMResponse, Prompt, StreamChunk, UsageStats
from modules.infrastructure.domain.policies.backoff import backoff_delay

T = TypeVar("T")
CIRCUIT_OPEN = "circuit_open"
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
        self._sleep = sleep
        self._backoff = (backoff_base, backoff_cap)
        self.breaker = CircuitBreaker(config.breaker_threshold, config.breaker_cooldown, clock)
        self.limiter: CapacityLimiter = limiter or RateLimiter(config.rpm_limit, config.tpm_limit, clock)

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
        """``call(client, timeout)`` through the one retry loop (breaker, limits reserving ``tokens`` per attempt,
        backoff, ``deadline``): its result and the attempts it took. Chat completions and embeddings alike."""
        attempts = attempts or Attempts()
        self._check_breaker()
        client = self.initialize_client()
        while True:
            self._wait_for_capacity(tokens, deadline)  # every attempt is a request the limits must count
            timeout = min(self.config.timeout, deadline.remaining())
            if timeout <= 0:
                raise self._deadline_error(attempts.count)
            attempts.count += 1
            try:
                result = call(client, timeout)
            except LLMProviderError as exc:
                self._after_failure(exc, attempts.count, deadline)
                continue
            self.breaker.record_success()
            return result, attempts.count

    def _after_failure(self, exc: LLMProviderError, attempts: int, deadline: Deadline) -> None:
        """Return when another attempt should be made (after waiting); raise otherwise."""
        if not is_retryable(exc):
            raise exc
        self.breaker.record_failure()
        if attempts > self.config.max_retries:
            raise exc
        remaining = deadline.remaining()
        if exc.retry_after is not None:
            if exc.retry_after >= remaining:
                raise LLMRateLimitError(
                    f"{self.name} asked to wait {exc.retry_after:.1f} s but the call has {remaining:.1f} s left "
                    "(LLM_DEADLINE); retry later or raise the deadline",
                    provider=self.name,
                    status_code=exc.status_code,
                    retry_after=exc.retry_after,
                    code=exc.code,
                ) from exc
            delay = exc.retry_after
        else:
            delay = backoff_delay(attempts - 1, base=self._backoff[0], cap=self._backoff[1])
        if delay >= remaining:
            if isinstance(exc, LLMTimeoutError):
                raise self._deadline_error(attempts) from exc
            raise exc
        self._sleep(delay)

    def _check_breaker(self) -> None:
        if not self.breaker.allow():
            raise LLMProviderError(
                f"{self.name} failed {self.breaker.threshold} times in a row; calls fail fast for another "
                f"{self.breaker.retry_in():.0f} s (LLM_BREAKER_COOLDOWN)",
                provider=self.name,
                code=CIRCUIT_OPEN,
            )

    def _wait_for_capacity(self, tokens: int, deadline: Deadline) -> None:
        wait = self.limiter.reserve(tokens)
        if wait <= 0:
            return
        if wait >= deadline.remaining():
            self.limiter.refund(tokens)
            raise LLMRateLimitError(
                f"LLM_RPM_LIMIT/LLM_TPM_LIMIT for {self.name} {self.config.model}: no capacity for {wait:.1f} s, "
                "longer than the call's time left; retry later or raise the limits",
                provider=self.name,
                retry_after=wait,
            )
        self._sleep(wait)

    def _stream_deadline_error(self, deadline: Deadline) -> LLMTimeoutError:
        return LLMTimeoutError(
            f"{self.name} was still streaming when the call's deadline passed ({deadline.seconds:g} s); "
            "raise LLM_DEADLINE / PromptContext.timeout or ask for a shorter answer",
            provider=self.name,
        )

    def _deadline_error(self, attempts: int) -> LLMTimeoutError:
        return LLMTimeoutError(
            f"{self.name} gave no answer within the call's deadline ({attempts} attempt(s)); "
            "raise LLM_DEADLINE / PromptContext.timeout or try later",
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
