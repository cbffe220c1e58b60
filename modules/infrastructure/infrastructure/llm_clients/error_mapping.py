"""Every ``openai`` exception mapped to the module's LLM error tree, with secrets masked.

``openai_errors`` is the one seam around every call into the client; ``map_openai_error`` the mapping it applies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import openai

from modules.infrastructure.domain.errors import (
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMProviderError,
    LLMRateLimitError,
    LLMTimeoutError,
)
from modules.infrastructure.domain.llm.retry_policy import should_retry_header
from modules.infrastructure.domain.policies.retry_after import parse_retry_after

ADVICE = {
    400: "the request is invalid; fix the prompt or parameters",
    401: "the API key was refused; check the provider's API key setting",
    403: "the API key may not use this model or resource; check its permissions",
    404: "the model, deployment or URL does not exist; check the model/deployment and base URL settings",
    408: "the provider timed out; retrying",
    409: "the provider reported a conflict; retrying",
    422: "the provider could not process the request; fix the parameters",
    429: "rate limited; slow down or raise the provider's limits",
    529: "the provider is overloaded; retrying",
}
# Everything the client raises: its own tree (transport failures, mid-stream ones too, arrive as
# APIConnectionError) and the webhook helper's ValueError.
OPENAI_ERRORS: tuple[type[Exception], ...] = (openai.OpenAIError, openai.InvalidWebhookSignatureError)


@contextmanager
def openai_errors(provider: str, redact: Callable[[str], str]) -> Iterator[None]:
    """Run the block; an openai exception leaving it is raised as an ``LLMProviderError``, chained."""
    try:
        yield
    except OPENAI_ERRORS as exc:
        raise map_openai_error(exc, provider, redact) from exc


def map_openai_error(exc: Exception, provider: str, redact: Callable[[str], str]) -> LLMProviderError:
    """Our error for ``exc``; the caller raises it ``from exc``. Status, code and Retry-After are kept.

    ``exc``'s own message is redacted in place too: it travels along as ``__cause__`` into tracebacks.
    """
    scrub(exc, redact)
    if isinstance(exc, openai.APITimeoutError):
        return LLMTimeoutError(f"{provider} did not answer within the attempt's timeout (LLM_TIMEOUT)", provider=provider)
    if isinstance(exc, openai.APIConnectionError):
        cause = redact(f"{type(exc.__cause__).__name__}: {exc.__cause__}") if exc.__cause__ else "connection error"
        return LLMProviderError(f"{provider} could not be reached ({cause}); check its URL and network", provider=provider)
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, provider, redact)
    return LLMProviderError(redact(f"{provider} call failed: {type(exc).__name__}: {exc}"), provider=provider)


def _status_error(exc: openai.APIStatusError, provider: str, redact: Callable[[str], str]) -> LLMProviderError:
    return status_error(provider, exc.status_code, _code(exc), redact(_detail(exc)), exc.response.headers)


def status_error(provider: str, status: int, code: str | None, detail: str, headers: Mapping[str, str]) -> LLMProviderError:
    """The error for an HTTP ``status`` answer (``detail`` already redacted), of the class its status calls for, with
    the wait ``retry-after`` asks for and what ``x-should-retry`` says."""
    advice = ADVICE.get(status, "the provider failed; retrying" if status >= 500 else "the request was refused")
    if code == "insufficient_quota":
        advice = "the account is out of quota (billing, not rate); add credit or use another provider"
    should_retry = should_retry_header(headers)
    if should_retry is not None:
        advice = f"the provider {'asked for a retry' if should_retry else 'asked not to retry it'} (x-should-retry)"
    message = f"{provider} answered HTTP {status}{f' ({code})' if code else ''}: {detail}; {advice}"
    return status_class(status)(
        message, provider=provider, status_code=status, code=code, retry_after=parse_retry_after(headers), should_retry=should_retry
    )


def status_class(status: int) -> type[LLMProviderError]:
    """400/404/413/422: a bad request; 401/403: the key; 408: a timeout; 429: a rate limit; others: the provider's fault."""
    kinds: dict[int, type[LLMProviderError]] = {401: LLMAuthenticationError, 403: LLMAuthenticationError, 408: LLMTimeoutError, 429: LLMRateLimitError}
    if status in kinds:
        return kinds[status]
    return LLMBadRequestError if status in (400, 404, 413, 422) else LLMProviderError


def _code(exc: openai.APIStatusError) -> str | None:
    body = exc.body if isinstance(exc.body, dict) else {}
    for value in (exc.code, body.get("code"), body.get("type")):
        if value == "insufficient_quota":
            return "insufficient_quota"
    return exc.code


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and body.get("message"):
        text = str(body["message"])
    else:
        text = str(exc.message or "no detail")
    return text[:300]


def scrub(exc: BaseException, redact: Callable[[str], str], depth: int = 3) -> None:
    """Redact ``exc``'s message (and its causes'): it travels along as ``__cause__`` into tracebacks."""
    if depth and exc.__cause__ is not None:
        scrub(exc.__cause__, redact, depth - 1)
    exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
    if isinstance(getattr(exc, "message", None), str):
        exc.message = redact(exc.message)  # type: ignore[attr-defined]
