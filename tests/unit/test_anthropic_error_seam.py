"""Every anthropic exception class, and every httpx2 error a raw stream read raises, leaves ``anthropic_errors`` as
an ``LLMProviderError`` of the right class, with status, error type and retry-after kept and no API key. No I/O."""

from __future__ import annotations

import inspect
from contextlib import AbstractContextManager
from typing import Any

import anthropic
import anthropic._error_classes
import anthropic._exceptions
import anthropic._response
import httpx2
import pytest

from modules.infrastructure.domain.errors import (
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMProviderError,
    LLMRateLimitError,
    LLMTimeoutError,
)
from modules.infrastructure.domain.llm.retry_policy import is_retryable
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.llm_clients.anthropic_errors import anthropic_errors, error_event
from tests.driver_exceptions import Builder, exception_classes, instance, name
from tests.unit.test_driver_error_seams import raised_through

KEY = "sk-ant-secret-key-0123"
REQUEST = httpx2.Request("POST", "http://claude.test/v1/messages")


def SEAM() -> AbstractContextManager[None]:  # noqa: N802  # a seam factory, as in test_driver_error_seams
    return anthropic_errors("anthropic", Redactor([KEY]).redact)


def response(status: int, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(status, headers=headers or {}, json={"type": "error", "error": {"type": "x", "message": "m"}}, request=REQUEST)


def status_error(status: int, kind: str, headers: dict[str, str] | None = None, message: str = "scripted failure") -> Any:
    """The status error the client raises for ``status``, built as the client builds it (its class chosen by status)."""
    from anthropic._error_classes import make_status_error

    body = {"type": "error", "error": {"type": kind, "message": message}}
    return make_status_error(f"Error code: {status}", body=body, response=response(status, headers))


def _status_of(cls: type) -> int:
    status = getattr(cls, "status_code", None)
    return status if isinstance(status, int) else (500 if issubclass(cls, anthropic.InternalServerError) else 418)


BUILDERS: dict[type[BaseException], Builder] = {
    anthropic.APIError: lambda cls: cls("scripted failure", REQUEST, body=None),  # type: ignore[call-arg]
    anthropic.APIStatusError: lambda cls: cls("scripted failure", response=response(_status_of(cls)), body=None),  # type: ignore[call-arg]
    anthropic.APIConnectionError: lambda cls: cls(request=REQUEST),  # type: ignore[call-arg]
    anthropic.APITimeoutError: lambda cls: cls(REQUEST),  # type: ignore[call-arg]
    anthropic.APIResponseValidationError: lambda cls: cls(response(200), None),  # type: ignore[call-arg]
    httpx2.HTTPStatusError: lambda cls: cls("scripted failure", request=REQUEST, response=response(500)),  # type: ignore[call-arg]
    httpx2.RequestError: lambda cls: cls("scripted failure", request=REQUEST),  # type: ignore[call-arg]
}


def test_every_anthropic_and_httpx2_error_class_leaves_the_seam_as_a_provider_error() -> None:
    modules = [anthropic, anthropic._exceptions, anthropic._error_classes, anthropic._response, httpx2]
    classes = [c for c in exception_classes(modules, [anthropic.AnthropicError, httpx2.HTTPError]) if not _outside_the_seam(c)]
    assert len(classes) > 80
    for cls in classes:
        error = built(cls)
        mapped = raised_through(SEAM, error)
        assert isinstance(mapped, LLMProviderError), f"{name(cls)} escaped the seam as {mapped!r}"
        assert mapped.__cause__ is error and mapped.provider == "anthropic", name(cls)


def built(cls: type[BaseException]) -> BaseException:
    """``cls`` as ``instance`` builds it; the helpers' classes of the client's ``lib`` (tool runners, extras), which
    this module never calls, with text for each required argument."""
    try:
        return instance(cls, BUILDERS)
    except TypeError:
        required = [p for p in inspect.signature(cls.__init__).parameters.values() if p.default is p.empty and p.name != "self"]
        positional = [f"scripted {p.name}" for p in required if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        return cls(*positional, **{p.name: f"scripted {p.name}" for p in required if p.kind is p.KEYWORD_ONLY})


def _outside_the_seam(cls: type) -> bool:
    """Warnings and the client's TypeErrors for programming mistakes (a missing stream class) are not call failures."""
    return issubclass(cls, Warning) or not issubclass(cls, (anthropic.AnthropicError, httpx2.HTTPError, httpx2.StreamError, httpx2.InvalidURL)) or inspect.isabstract(cls)


@pytest.mark.parametrize(
    ("status", "kind", "expected", "retried"),
    [
        (400, "invalid_request_error", LLMBadRequestError, False), (404, "not_found_error", LLMBadRequestError, False),
        (413, "request_too_large", LLMBadRequestError, False), (422, "invalid_request_error", LLMBadRequestError, False),
        (401, "authentication_error", LLMAuthenticationError, False), (403, "permission_error", LLMAuthenticationError, False),
        (429, "rate_limit_error", LLMRateLimitError, True), (500, "api_error", LLMProviderError, True),
        (503, "api_error", LLMProviderError, True), (529, "overloaded_error", LLMProviderError, True),
    ],
)
def test_each_status_maps_to_its_class_keeping_status_type_and_retry_after(status: int, kind: str, expected: type, retried: bool) -> None:
    mapped = raised_through(SEAM, status_error(status, kind, {"retry-after": "2"}))
    assert type(mapped) is expected and isinstance(mapped, LLMProviderError)
    assert (mapped.status_code, mapped.code, mapped.retry_after) == (status, kind, 2.0)
    assert is_retryable(mapped) is retried


def test_an_error_event_in_a_stream_counts_as_its_type_would() -> None:
    overloaded = error_event({"type": "overloaded_error", "message": "Overloaded"}, "anthropic", str)
    assert (overloaded.status_code, overloaded.code) == (529, "overloaded_error") and is_retryable(overloaded)
    invalid = error_event({"type": "invalid_request_error", "message": "bad"}, "anthropic", str)
    assert isinstance(invalid, LLMBadRequestError) and not is_retryable(invalid)
    assert error_event({"message": "??"}, "anthropic", str).status_code == 500


def test_the_client_raising_an_error_event_with_the_200_status_is_mapped_by_its_type() -> None:
    error = anthropic.APIStatusError("stream error", response=response(200), body={"type": "error", "error": {"type": "overloaded_error", "message": "o"}})
    mapped = raised_through(SEAM, error)
    assert isinstance(mapped, LLMProviderError) and mapped.status_code == 529 and is_retryable(mapped)


def test_timeouts_and_connection_failures_map_to_their_classes() -> None:
    assert type(raised_through(SEAM, anthropic.APITimeoutError(REQUEST))) is LLMTimeoutError
    assert type(raised_through(SEAM, httpx2.ReadTimeout("slow", request=REQUEST))) is LLMTimeoutError
    for error in (anthropic.APIConnectionError(request=REQUEST), httpx2.RemoteProtocolError("peer closed", request=REQUEST)):
        mapped = raised_through(SEAM, error)
        assert type(mapped) is LLMProviderError and "could not be reached" in str(mapped) and mapped.status_code is None


def test_no_api_key_survives_the_seam() -> None:
    refused = f"invalid x-api-key: {KEY}"
    mapped = raised_through(SEAM, status_error(401, "authentication_error", message=refused))
    assert KEY not in str(mapped) and KEY not in str(mapped.__cause__) and "****" in str(mapped)


def test_the_callers_own_errors_pass_unchanged() -> None:
    for error in (ValueError("the caller's own bug"), KeyError("k"), OSError("a file of the caller's")):
        assert raised_through(SEAM, error) is error
