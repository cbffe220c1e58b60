"""Which LLM failures are worth another attempt; the wait a provider asks for is read by ``policies.retry_after``."""

from __future__ import annotations

from collections.abc import Mapping

from modules.infrastructure.domain.errors import (
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMMalformedResponseError,
    LLMProviderError,
    LLMRateLimitError,
    LLMResponseFormatError,
    LLMTimeoutError,
)

RETRYABLE_STATUSES = frozenset({408, 409, 429})
NOT_RETRYABLE_CODES = frozenset({"insufficient_quota"})


def is_retryable_status(status: int | None, code: str | None = None) -> bool:
    """Connection failures (no status), 408, 409, 429 and 5xx; never a 429 that means "out of quota"."""
    if code in NOT_RETRYABLE_CODES:
        return False
    return status is None or status in RETRYABLE_STATUSES or status >= 500


def is_retryable(error: LLMProviderError) -> bool:
    """True when running the same request again may succeed; the provider's ``x-should-retry``, when sent, decides."""
    if error.should_retry is not None:
        return error.should_retry
    return _retryable_by_kind(error)


def may_fall_back(error: LLMProviderError) -> bool:
    """True when another provider may answer where this one failed.

    As ``is_retryable``, except that ``x-should-retry: false`` does not stop it: the header speaks for
    the provider that sent it (retrying there will not help), not for another provider.
    """
    return error.should_retry is True or _retryable_by_kind(error)


def should_retry_header(headers: Mapping[str, str]) -> bool | None:
    """``x-should-retry`` as the openai and anthropic SDKs read it: exactly ``true`` or ``false``, else ``None``.

    ``headers`` must look names up case-insensitively (as HTTP header objects do) or be lower-case.
    """
    return {"true": True, "false": False}.get(headers.get("x-should-retry", ""))


def _retryable_by_kind(error: LLMProviderError) -> bool:
    if isinstance(error, LLMAuthenticationError | LLMBadRequestError | LLMResponseFormatError):
        return False
    if isinstance(error, LLMTimeoutError | LLMMalformedResponseError):  # a fault of this answer, not of the request
        return True
    if isinstance(error, LLMRateLimitError):
        return error.code not in NOT_RETRYABLE_CODES
    return is_retryable_status(error.status_code, error.code)
