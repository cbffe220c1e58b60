"""``RetryLoop`` with ``IntegrationFailures`` on a fake clock: which failures are retried, waits, deadline, breaker, rate limit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from modules.infrastructure.domain.errors import (
    IntegrationAuthenticationError,
    IntegrationCircuitOpenError,
    IntegrationClientError,
    IntegrationConnectionError,
    IntegrationError,
    IntegrationRateLimitedError,
    IntegrationResponseError,
    IntegrationServerError,
    IntegrationTimeoutError,
)
from modules.infrastructure.domain.integrations.failures import IntegrationFailures, is_retryable, status_error
from modules.infrastructure.domain.policies.attempts import Attempts
from modules.infrastructure.domain.policies.breaker import CircuitBreaker
from modules.infrastructure.domain.policies.deadline import Deadline
from modules.infrastructure.domain.policies.rate_limit import RateLimiter
from modules.infrastructure.domain.policies.retry_loop import RetryLoop
from tests.fake_clock import FakeClock

CALL = {"integration": "crm", "method": "GET", "path": "/contacts"}


def status(code: int, retry_after: float | None = None) -> IntegrationError:
    return status_error(code)(f"crm answered {code}", status=code, retry_after=retry_after, **CALL)


def connection() -> IntegrationError:
    return IntegrationConnectionError("crm refused", **CALL)


def timeout() -> IntegrationError:
    return IntegrationTimeoutError("crm timed out", **CALL)


# --- classification -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error"),
    [(400, IntegrationClientError), (401, IntegrationAuthenticationError), (403, IntegrationAuthenticationError), (404, IntegrationClientError),
     (409, IntegrationClientError), (429, IntegrationRateLimitedError), (500, IntegrationServerError), (503, IntegrationServerError)],
)
def test_each_status_has_its_error_class(code: int, error: type[IntegrationError]) -> None:
    assert status_error(code) is error


@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504, 599])
def test_statuses_worth_another_attempt(code: int) -> None:
    assert is_retryable(status(code))


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422, 501, 505])
def test_statuses_that_fail_again(code: int) -> None:
    assert not is_retryable(status(code))


def test_connection_errors_and_timeouts_are_retried_but_a_bad_answer_is_not() -> None:
    assert is_retryable(connection()) and is_retryable(timeout())
    assert not is_retryable(IntegrationResponseError("too large", status=200, **CALL))
    assert not is_retryable(IntegrationError("no status", **CALL))
    failures = IntegrationFailures("crm", "GET", "/contacts")
    assert not failures.retryable(ValueError("not an integration's"))
    assert failures.retry_after(status(429, 2.5)) == 2.5 and failures.retry_after(ValueError()) is None
    assert failures.is_timeout(timeout()) and not failures.is_timeout(connection())


# --- the loop -------------------------------------------------------------------------------------


class Script:
    """A call that raises the scripted errors in turn, then returns ``"done"``; records each attempt's timeout."""

    def __init__(self, *errors: Exception, clock: FakeClock | None = None, takes: float = 0.0) -> None:
        self.errors = list(errors)
        self.timeouts: list[float] = []
        self._clock, self._takes = clock, takes

    def __call__(self, timeout: float) -> str:
        self.timeouts.append(timeout)
        if self._clock is not None:
            self._clock.advance(self._takes)
        if self.errors:
            raise self.errors.pop(0)
        return "done"


class ScriptedLimiter:
    """A rate limit that asks for the scripted waits in turn (then 0) and records what is given back."""

    def __init__(self, *waits: float) -> None:
        self.waits = list(waits)
        self.reserved = 0
        self.refunded: list[int] = []

    def reserve(self, tokens: int) -> float:
        self.reserved += 1
        return self.waits.pop(0) if self.waits else 0.0

    def refund(self, tokens: int) -> None:
        self.refunded.append(tokens)


class Harness:
    """A loop for ``crm GET /contacts`` on a fake clock whose sleeps move the clock; a fixed backoff of ``backoff`` s."""

    def __init__(self, threshold: int = 5, limiter: ScriptedLimiter | None = None, backoff: float = 0.5) -> None:
        self.clock = FakeClock()
        self.slept: list[float] = []
        self.breaker = CircuitBreaker(threshold, 30.0, self.clock)
        self.limiter = limiter or ScriptedLimiter()
        self.loop = RetryLoop(
            IntegrationFailures("crm", "GET", "/contacts"), self.breaker, self.limiter, clock=self.clock, sleep=self._sleep, backoff=(backoff, backoff),
        )

    def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.clock.advance(seconds)

    def run(self, call: Callable[[float], str], *, retries: int = 3, deadline: float = 30.0, timeout: float = 10.0, attempts: Attempts | None = None) -> tuple[str, int]:
        self.loop.check_breaker()
        return self.loop.run(call, timeout=timeout, max_retries=retries, deadline=Deadline.after(deadline, self.clock), attempts=attempts)


def test_a_retryable_failure_is_tried_again_after_a_backoff() -> None:
    harness = Harness()
    assert harness.run(Script(status(503), connection(), timeout())) == ("done", 4)
    assert len(harness.slept) == 3 and all(0 <= s <= 0.5 for s in harness.slept)


def test_a_failure_retrying_cannot_help_is_raised_at_once() -> None:
    harness, error = Harness(), status(404)
    attempts = Attempts()
    with pytest.raises(IntegrationClientError) as caught:
        harness.run(Script(error), attempts=attempts)
    assert caught.value is error and attempts.count == 1 and harness.slept == []


def test_an_exception_the_failures_do_not_handle_passes_through_at_once() -> None:
    harness = Harness()
    with pytest.raises(KeyError):
        harness.run(Script(KeyError("bug")))
    assert harness.slept == [] and not harness.breaker.is_open


@pytest.mark.parametrize("retries", [0, 1, 2, 10])
def test_at_most_max_retries_further_attempts_are_made(retries: int) -> None:
    harness, attempts = Harness(threshold=100), Attempts()
    script = Script(*[status(503)] * 20)
    with pytest.raises(IntegrationServerError):
        harness.run(script, retries=retries, attempts=attempts)
    assert attempts.count == len(script.timeouts) == retries + 1


def test_the_server_s_retry_after_is_waited_instead_of_the_backoff() -> None:
    harness = Harness()
    assert harness.run(Script(status(429, retry_after=4.0), status(503, retry_after=0.0))) == ("done", 3)
    assert harness.slept == [4.0, 0.0]


def test_a_retry_after_past_the_deadline_fails_now_saying_how_long_was_asked() -> None:
    harness = Harness()
    script = Script(status(429, retry_after=100.0), clock=harness.clock, takes=1.0)
    with pytest.raises(IntegrationRateLimitedError) as caught:
        harness.run(script, deadline=30.0)
    error = caught.value
    assert str(error) == "crm GET /contacts was asked to wait 100.0 s (Retry-After) but has 29.0 s left (INTEGRATION_CRM_DEADLINE); try later"
    assert (error.status, error.retry_after, error.integration) == (429, 100.0, "crm")
    assert isinstance(error.__cause__, IntegrationRateLimitedError) and harness.slept == []


def test_a_failure_with_no_time_left_for_another_attempt_is_raised_as_it_is() -> None:
    harness, error = Harness(), status(503)
    with pytest.raises(IntegrationServerError) as caught:
        harness.run(Script(error, clock=harness.clock, takes=30.0), deadline=30.0)
    assert caught.value is error and harness.slept == []


def test_a_timeout_that_leaves_no_time_is_reported_as_the_deadline_passing() -> None:
    harness = Harness()
    script = Script(timeout(), clock=harness.clock, takes=10.0)
    with pytest.raises(IntegrationTimeoutError) as caught:
        harness.run(script, deadline=10.0, timeout=10.0)
    assert str(caught.value) == (
        "crm GET /contacts got no answer within its deadline (1 attempt(s)); raise INTEGRATION_CRM_DEADLINE or deadline=, or try later"
    )


def test_each_attempt_s_timeout_is_cut_to_the_time_left() -> None:
    harness = Harness(backoff=0.0)
    script = Script(timeout(), timeout(), clock=harness.clock, takes=4.0)
    assert harness.run(script, deadline=10.0, timeout=5.0) == ("done", 3)
    assert script.timeouts == [5.0, 5.0, 2.0]


def test_the_breaker_counts_only_retryable_failures() -> None:
    harness = Harness(threshold=2)
    for _ in range(3):
        with pytest.raises(IntegrationAuthenticationError):
            harness.run(Script(status(401)))
    assert not harness.breaker.is_open
    with pytest.raises(IntegrationServerError):
        harness.run(Script(status(503), status(503)), retries=1)
    assert harness.breaker.is_open


def test_an_open_breaker_fails_fast_naming_the_cool_down() -> None:
    harness = Harness(threshold=2)
    with pytest.raises(IntegrationServerError):
        harness.run(Script(status(503), status(503)), retries=1)
    harness.clock.advance(10.0)
    script = Script()
    with pytest.raises(IntegrationCircuitOpenError) as caught:
        harness.run(script)
    assert str(caught.value) == "crm failed 2 times in a row; GET /contacts fails fast for another 20 s (INTEGRATION_CRM_BREAKER_COOLDOWN)"
    assert script.timeouts == []
    harness.clock.advance(20.5)
    assert harness.run(script) == ("done", 1)  # the trial call after the cool-down closes it
    assert not harness.breaker.is_open


def test_an_answer_retrying_cannot_help_closes_a_half_open_breaker_as_a_success_does() -> None:
    harness = Harness(threshold=2)
    with pytest.raises(IntegrationServerError):
        harness.run(Script(status(503), status(503)), retries=1)
    harness.clock.advance(30.5)
    with pytest.raises(IntegrationClientError):
        harness.run(Script(status(404)))  # the trial call: the service answered
    assert not harness.breaker.is_open
    with pytest.raises(IntegrationServerError):
        harness.run(Script(status(503)), retries=0)  # and the count starts again from zero
    assert not harness.breaker.is_open


def test_a_success_resets_the_breaker_s_count() -> None:
    harness = Harness(threshold=2)
    harness.run(Script(status(503)))
    harness.run(Script(status(503)))
    assert not harness.breaker.is_open


def test_the_rate_limit_is_waited_for_before_each_attempt() -> None:
    limiter = ScriptedLimiter(2.0, 3.0)
    harness = Harness(limiter=limiter, backoff=0.0)
    assert harness.run(Script(status(503))) == ("done", 2)
    assert harness.slept == [2.0, 0.0, 3.0] and limiter.reserved == 2 and limiter.refunded == []


def test_no_room_in_the_rate_limit_before_the_deadline_gives_the_reservation_back() -> None:
    limiter = ScriptedLimiter(45.0)
    harness = Harness(limiter=limiter)
    script = Script()
    with pytest.raises(IntegrationRateLimitedError) as caught:
        harness.run(script, deadline=30.0)
    assert str(caught.value) == (
        "INTEGRATION_CRM_RPM_LIMIT: no room for crm GET /contacts for 45.0 s, longer than the call's time left; try later or raise the limit"
    )
    assert caught.value.retry_after == 45.0 and limiter.refunded == [1] and script.timeouts == [] and harness.slept == []


def test_a_token_bucket_refund_makes_room_again() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, None, clock)
    assert limiter.reserve(1) == 0.0
    assert limiter.reserve(1) == pytest.approx(60.0)
    limiter.refund(1)
    assert limiter.reserve(1) == pytest.approx(60.0)  # the refunded place is the one taken again, no further back
