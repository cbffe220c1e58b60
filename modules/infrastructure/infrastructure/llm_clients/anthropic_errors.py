"""Every ``anthropic`` exception, and the httpx2 errors a stream read raises past it, mapped to the LLM error tree.

``anthropic_errors`` is the one seam around every call into the client; ``map_anthropic_error`` the mapping it applies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import anthropic
import httpx2

from modules.infrastructure.domain.errors import LLMProviderError, LLMTimeoutError
from modules.infrastructure.infrastructure.llm_clients.error_mapping import scrub, status_error

# The Messages API's error types and the status each comes with: an ``error`` event inside a stream
# arrives after the 200, so its type is all there is to go by (overloaded_error is retried as a 529).
ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
# The client's own tree, and httpx2's: the raw stream is read past the client, so its transport errors arrive as they are.
ANTHROPIC_ERRORS: tuple[type[Exception], ...] = (anthropic.AnthropicError, httpx2.HTTPError, httpx2.StreamError, httpx2.InvalidURL)


@contextmanager
def anthropic_errors(provider: str, redact: Callable[[str], str]) -> Iterator[None]:
    """Run the block; an anthropic (or httpx2) exception leaving it is raised as an ``LLMProviderError``, chained."""
    try:
        yield
    except ANTHROPIC_ERRORS as exc:
        raise map_anthropic_error(exc, provider, redact) from exc


def map_anthropic_error(exc: Exception, provider: str, redact: Callable[[str], str]) -> LLMProviderError:
    """Our error for ``exc``; the caller raises it ``from exc``. Status, error type and retry-after are kept."""
    scrub(exc, redact)
    if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
        return LLMTimeoutError(f"{provider} did not answer within the attempt's timeout (LLM_TIMEOUT)", provider=provider)
    if isinstance(exc, anthropic.APIConnectionError | httpx2.TransportError):
        failure = exc.__cause__ if isinstance(exc, anthropic.APIConnectionError) else exc
        cause = redact(f"{type(failure).__name__}: {failure}") if failure else "connection error"
        return LLMProviderError(f"{provider} could not be reached ({cause}); check its URL and network", provider=provider)
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code if exc.status_code >= 400 else ERROR_STATUS.get(str(exc.type), 500)  # an error event in a stream
        detail = redact(str(exc.api_message or exc.message or "no detail"))[:300]
        return status_error(provider, status, exc.type, detail, exc.response.headers)
    return LLMProviderError(redact(f"{provider} call failed: {type(exc).__name__}: {exc}"), provider=provider)


def error_event(error: Mapping[str, object], provider: str, redact: Callable[[str], str]) -> LLMProviderError:
    """The error for a stream's ``error`` event (``{"type": "overloaded_error", "message": ...}``), as its status would be."""
    kind = error.get("type")
    code = kind if isinstance(kind, str) else None
    detail = redact(str(error.get("message") or "no detail"))[:300]
    return status_error(provider, ERROR_STATUS.get(code or "", 500), code, f"{detail} (an error event in the stream)", {})
