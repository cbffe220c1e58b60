"""``LLMFailures``: how the shared retry loop reads a provider's errors and words its own for one provider."""

from __future__ import annotations

from modules.infrastructure.domain.errors import LLMProviderError, LLMRateLimitError, LLMTimeoutError
from modules.infrastructure.domain.llm.retry_policy import is_retryable
from modules.infrastructure.domain.policies.breaker import CircuitBreaker

CIRCUIT_OPEN = "circuit_open"


class LLMFailures:
    """The ``Failures`` of one provider and model: ``LLMProviderError`` in, ``LLMProviderError`` out."""

    handled = LLMProviderError

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model

    def retryable(self, error: Exception) -> bool:
        return isinstance(error, LLMProviderError) and is_retryable(error)

    def retry_after(self, error: Exception) -> float | None:
        return error.retry_after if isinstance(error, LLMProviderError) else None

    def is_timeout(self, error: Exception) -> bool:
        return isinstance(error, LLMTimeoutError)

    def wait_past_deadline(self, error: Exception, remaining: float) -> Exception:
        assert isinstance(error, LLMProviderError) and error.retry_after is not None
        return LLMRateLimitError(
            f"{self.provider} asked to wait {error.retry_after:.1f} s but the call has {remaining:.1f} s left "
            "(LLM_DEADLINE); retry later or raise the deadline",
            provider=self.provider,
            status_code=error.status_code,
            retry_after=error.retry_after,
            code=error.code,
        )

    def out_of_time(self, attempts: int) -> Exception:
        return LLMTimeoutError(
            f"{self.provider} gave no answer within the call's deadline ({attempts} attempt(s)); "
            "raise LLM_DEADLINE / PromptContext.timeout or try later",
            provider=self.provider,
        )

    def circuit_open(self, breaker: CircuitBreaker) -> Exception:
        return LLMProviderError(
            f"{self.provider} failed {breaker.threshold} times in a row; calls fail fast for another "
            f"{breaker.retry_in():.0f} s (LLM_BREAKER_COOLDOWN)",
            provider=self.provider,
            code=CIRCUIT_OPEN,
        )

    def no_capacity(self, wait: float) -> Exception:
        return LLMRateLimitError(
            f"LLM_RPM_LIMIT/LLM_TPM_LIMIT for {self.provider} {self.model}: no capacity for {wait:.1f} s, "
            "longer than the call's time left; retry later or raise the limits",
            provider=self.provider,
            retry_after=wait,
        )
