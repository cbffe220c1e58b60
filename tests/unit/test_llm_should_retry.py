"""``x-should-retry``: the provider's own word on retrying overrides the status, as in the openai and anthropic SDKs."""

from __future__ import annotations

import httpx2
import pytest

from modules.infrastructure.domain.errors import (
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMProviderError,
    LLMRateLimitError,
)
from modules.infrastructure.domain.llm.retry_policy import is_retryable, may_fall_back, should_retry_header
from modules.infrastructure.infrastructure.llm_clients.error_mapping import map_openai_error
from tests.driver_exceptions import status_error


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-should-retry": "true"}, True),
        ({"X-Should-Retry": "false"}, False),
        ({"x-should-retry": "TRUE"}, None),  # the SDKs compare exactly
        ({"x-should-retry": "1"}, None),
        ({"x-should-retry": ""}, None),
        ({}, None),
    ],
)
def test_the_header_is_read_as_the_sdks_read_it(headers: dict[str, str], expected: bool | None) -> None:
    assert should_retry_header(httpx2.Headers(headers)) is expected


def test_false_stops_the_retry_of_a_status_otherwise_retried() -> None:
    for error in (LLMProviderError("down", status_code=500), LLMRateLimitError("slow", status_code=429), LLMProviderError("lock", status_code=409)):
        assert is_retryable(error)
        error.should_retry = False
        assert not is_retryable(error)


def test_true_retries_a_status_otherwise_final() -> None:
    for error in (
        LLMBadRequestError("bad", status_code=400),
        LLMAuthenticationError("who", status_code=401),
        LLMRateLimitError("quota", status_code=429, code="insufficient_quota"),
    ):
        assert not is_retryable(error)
        error.should_retry = True
        assert is_retryable(error)


def test_false_still_lets_another_provider_try_but_never_makes_a_bad_request_worth_one() -> None:
    assert may_fall_back(LLMProviderError("down", status_code=503, should_retry=False))
    assert not may_fall_back(LLMBadRequestError("bad", status_code=400, should_retry=False))
    assert not may_fall_back(LLMBadRequestError("bad", status_code=400))
    assert may_fall_back(LLMBadRequestError("bad", status_code=400, should_retry=True))


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), (None, None)])
def test_the_openai_mapping_keeps_the_header_and_says_what_it_asked(value: str | None, expected: bool | None) -> None:
    headers = {"x-should-retry": value} if value else {}
    mapped = map_openai_error(status_error(500, headers=headers), "openai", str)
    assert mapped.should_retry is expected
    if value == "false":
        assert "asked not to retry it (x-should-retry)" in str(mapped)
