"""LLM call logic without I/O: rendering, retry policy, Retry-After, prices, cache keys, buckets, breaker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from modules.infrastructure.domain.policies.breaker import CircuitBreaker
from modules.infrastructure.domain.policies.deadline import Deadline
from modules.infrastructure.domain.llm.provider import LLMProvider
from modules.infrastructure.domain.llm.values import Completion, CompletionRequest, StreamChunk
from modules.infrastructure.domain.llm.cache_key import cache_key, cache_wanted
from modules.infrastructure.domain.llm.pricing import PriceTable
from modules.infrastructure.domain.llm.prompts import check_context, render_messages
from modules.infrastructure.domain.policies.rate_limit import RateLimiter, TokenBucket
from modules.infrastructure.domain.llm.retry_policy import is_retryable, is_retryable_status
from modules.infrastructure.domain.policies.retry_after import parse_retry_after
from modules.infrastructure.domain.policies.backoff import backoff_delay
from modules.infrastructure.module_api import (
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMConfig,
    LLMMalformedResponseError,
    LLMProviderError,
    LLMRateLimitError,
    LLMResponseFormatError,
    LLMTimeoutError,
    Prompt,
    Secret,
)
from tests.fake_clock import FakeClock

# --- rendering ------------------------------------------------------------------------------------


def test_rendering_fills_placeholders_and_adds_the_system_message() -> None:
    prompt = Prompt("Summarise {text} in {n} words; keep {{braces}}", system="You are {role}.")
    messages = render_messages(prompt, {"text": "this", "n": 5, "role": "terse"})
    assert messages == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Summarise this in 5 words; keep {braces}"},
    ]


def test_a_missing_variable_is_a_bad_request_naming_it() -> None:
    with pytest.raises(LLMBadRequestError, match="'topic'"):
        render_messages(Prompt("Write about {topic}"), {})


def test_an_empty_rendered_prompt_is_refused() -> None:
    with pytest.raises(LLMBadRequestError, match="empty"):
        render_messages(Prompt("{text}", name="summary"), {"text": "   "})


def test_a_prompt_over_the_context_is_refused_before_sending() -> None:
    messages = render_messages(Prompt("word " * 2000), {})
    with pytest.raises(LLMBadRequestError, match="context holds 2048"):
        check_context(messages, 16, 2048)
    check_context(messages, 16, None)  # unknown context size: the provider decides
    check_context(render_messages(Prompt("short"), {}), 16, 2048)


# --- retry policy and Retry-After -----------------------------------------------------------------


@pytest.mark.parametrize("status", [None, 408, 409, 429, 500, 502, 503, 504])
def test_retryable_statuses(status: int | None) -> None:
    assert is_retryable_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_statuses_never_retried(status: int) -> None:
    assert not is_retryable_status(status)


def test_which_errors_are_retried() -> None:
    assert is_retryable(LLMTimeoutError("t"))
    assert is_retryable(LLMMalformedResponseError("no choices", status_code=200))
    assert is_retryable(LLMRateLimitError("r", status_code=429))
    assert is_retryable(LLMProviderError("connection refused"))
    assert is_retryable(LLMProviderError("bad gateway", status_code=502))
    assert not is_retryable(LLMRateLimitError("quota", status_code=429, code="insufficient_quota"))
    assert not is_retryable(LLMAuthenticationError("a", status_code=401))
    assert not is_retryable(LLMBadRequestError("b", status_code=400))
    assert not is_retryable(LLMResponseFormatError("not json"))
    assert not is_retryable(LLMProviderError("not found", status_code=404))


def test_retry_after_headers_in_order_of_precision() -> None:
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"x-ms-retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({"retry-after": "-4"}) is None


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(datetime(2025, 1, 1, 12, 0, 7, tzinfo=timezone.utc), usegmt=True)
    assert parse_retry_after({"retry-after": later}, now=lambda: now.timestamp()) == pytest.approx(7.0)
    earlier = format_datetime(datetime(2025, 1, 1, 11, 0, 0, tzinfo=timezone.utc), usegmt=True)
    assert parse_retry_after({"retry-after": earlier}, now=lambda: now.timestamp()) == 0.0


def test_the_backoff_schedule_doubles_up_to_the_cap() -> None:
    top = [backoff_delay(n, base=0.25, cap=8.0, rand=lambda: 1.0) for n in range(8)]
    assert top == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff_delay(3, base=0.25, cap=8.0, rand=lambda: 0.0) == 0.0


# --- prices ---------------------------------------------------------------------------------------

TABLE = {"version": "test-1", "models": {"gpt-4o-mini": {"input": 0.15, "output": 0.6}, "local": {"input": 0, "output": 0}}}


def test_cost_is_tokens_times_price_per_million() -> None:
    prices = PriceTable.from_data(TABLE)
    assert prices.cost("gpt-4o-mini", 1_000_000, 0) == 0.15
    assert prices.cost("gpt-4o-mini", 1000, 500) == pytest.approx(0.00015 + 0.0003)
    assert prices.cost("gpt-4o-mini-2024-07-18", 1000, 0) == pytest.approx(0.00015)
    assert prices.cost("local", 10, 10) == 0.0


def test_an_unknown_model_costs_none_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    prices = PriceTable.from_data(TABLE)
    assert prices.cost("mystery", 10, 10) is None
    assert prices.cost("mystery", 10, 10) is None
    assert len([r for r in caplog.records if "mystery" in r.getMessage()]) == 1


def test_a_malformed_price_table_says_what_is_expected() -> None:
    with pytest.raises(ValueError, match="output missing"):
        PriceTable.from_data({"models": {"x": {"input": 1}}})


# --- the cache key --------------------------------------------------------------------------------

CONFIG = LLMConfig(provider="openai", model="gpt-4o-mini", api_key=Secret("sk-one"), base_url="http://127.0.0.1:1/v1")
MESSAGES = [{"role": "user", "content": "Hi"}]


def test_the_cache_key_is_stable_and_ignores_the_api_key_and_parameter_order() -> None:
    key = cache_key(CONFIG, MESSAGES, {"temperature": 0, "max_tokens": 5}, "lessons")
    assert key == cache_key(replace(CONFIG, api_key=Secret("sk-two")), MESSAGES, {"max_tokens": 5, "temperature": 0}, "lessons")
    assert key.startswith("response:") and len(key) == len("response:") + 64
    assert "sk-one" not in key


@pytest.mark.parametrize(
    "change",
    [
        lambda c, m, p, mod: (replace(c, provider="azure"), m, p, mod),
        lambda c, m, p, mod: (replace(c, base_url="http://127.0.0.1:2/v1"), m, p, mod),
        lambda c, m, p, mod: (replace(c, endpoint="https://x.openai.azure.com"), m, p, mod),
        lambda c, m, p, mod: (replace(c, deployment="d2"), m, p, mod),
        lambda c, m, p, mod: (replace(c, api_version="2025-01-01"), m, p, mod),
        lambda c, m, p, mod: (replace(c, model="gpt-4o"), m, p, mod),
        lambda c, m, p, mod: (c, [{"role": "user", "content": "Hi!"}], p, mod),
        lambda c, m, p, mod: (c, [{"role": "system", "content": "x"}, *m], p, mod),
        lambda c, m, p, mod: (c, m, {**p, "max_tokens": 6}, mod),
        lambda c, m, p, mod: (c, m, {**p, "response_format": {"type": "json_object"}}, mod),
        lambda c, m, p, mod: (c, m, p, "analytics"),
    ],
)
def test_the_cache_key_covers_everything_that_shapes_the_answer(change) -> None:
    args = (CONFIG, MESSAGES, {"temperature": 0, "max_tokens": 5}, "lessons")
    assert cache_key(*change(*args)) != cache_key(*args)


def test_the_cache_is_used_for_deterministic_calls_or_when_asked() -> None:
    assert cache_wanted({"temperature": 0}, None, 60)
    assert not cache_wanted({}, None, 60)
    assert not cache_wanted({"temperature": 0.7}, None, 60)
    assert cache_wanted({"temperature": 0.7}, True, 60)
    assert not cache_wanted({"temperature": 0}, False, 60)
    assert not cache_wanted({"temperature": 0}, True, 0)


# --- rate-limit buckets and the breaker -----------------------------------------------------------


def test_a_bucket_gives_its_capacity_then_asks_to_wait() -> None:
    clock = FakeClock()
    bucket = TokenBucket(60, clock)  # one per second
    assert [bucket.reserve(1) for _ in range(60)] == [0.0] * 60
    assert bucket.reserve(1) == pytest.approx(1.0)
    assert bucket.reserve(1) == pytest.approx(2.0)
    clock.advance(2.0)
    assert bucket.reserve(1) == pytest.approx(1.0)


def test_the_limiter_waits_for_the_scarcer_of_requests_and_tokens() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=600, tpm=1200, clock=clock)
    assert limiter.reserve(1200) == 0.0
    assert limiter.reserve(600) == pytest.approx(30.0)
    limiter.refund(600)
    assert limiter.reserve(0) == pytest.approx(0.0)
    assert RateLimiter(None, None, clock).reserve(10**9) == 0.0


def test_the_breaker_opens_after_the_threshold_and_lets_a_trial_through_after_the_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, cooldown=10, clock=clock)
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert not breaker.allow() and breaker.retry_in() == 10
    clock.advance(10)
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # others wait while it runs
    breaker.record_success()
    assert breaker.allow() and not breaker.is_open


def test_a_variant_of_a_known_model_is_unpriced_but_a_dated_snapshot_is_priced() -> None:
    prices = PriceTable.from_data(TABLE)
    assert prices.cost("gpt-4o-mini-audio-preview", 1000, 1000) is None
    assert prices.cost("gpt-4o-mini-2024-07-18", 1000, 0) == prices.cost("gpt-4o-mini", 1000, 0)


class SlowStream:
    """A completion client whose stream sends a piece every ``interval`` seconds of ``clock``."""

    def __init__(self, clock: FakeClock, interval: float) -> None:
        self.clock, self.interval = clock, interval

    def stream(self, request: CompletionRequest, timeout: float, total: float) -> Iterator[StreamChunk]:
        for n in range(10):
            self.clock.advance(self.interval)
            yield StreamChunk(f"piece{n} ")
        yield StreamChunk(completion=Completion("", "stop", 3, 10))


def test_a_stream_still_going_at_the_deadline_ends_with_a_timeout_whatever_the_client() -> None:
    clock = FakeClock()
    client = SlowStream(clock, interval=1.0)
    provider = LLMProvider(LLMConfig(provider="fake", model="m"), lambda _: client, clock=clock)  # type: ignore[arg-type, return-value]
    pieces = []
    with pytest.raises(LLMTimeoutError, match="still streaming when the call's deadline passed"):
        for chunk in provider.stream(CompletionRequest([{"role": "user", "content": "Hi"}]), Deadline.after(4.5, clock)):
            pieces.append(chunk.text)
    assert pieces == ["piece0 ", "piece1 ", "piece2 ", "piece3 "]


def test_a_stream_within_its_deadline_ends_with_its_usage() -> None:
    clock = FakeClock()
    client = SlowStream(clock, interval=0.1)
    provider = LLMProvider(LLMConfig(provider="fake", model="m"), lambda _: client, clock=clock)  # type: ignore[arg-type, return-value]
    chunks = list(provider.stream(CompletionRequest([{"role": "user", "content": "Hi"}]), Deadline.after(5, clock)))
    assert len(chunks) == 11 and chunks[-1].completion == Completion("", "stop", 3, 10)
