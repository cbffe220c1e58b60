"""``IntegrationFailures``: which failures of one integration's call are worth another attempt, and the errors the
shared retry loop raises for it (deadline passed, breaker open, no room in the rate limit)."""

from __future__ import annotations

from modules.infrastructure.domain.errors import (
    IntegrationAuthenticationError,
    IntegrationCircuitOpenError,
    IntegrationClientError,
    IntegrationConnectionError,
    IntegrationError,
    IntegrationRateLimitedError,
    IntegrationServerError,
    IntegrationTimeoutError,
)
from modules.infrastructure.domain.integrations.values import HttpResponse
from modules.infrastructure.domain.policies.breaker import CircuitBreaker
from modules.infrastructure.domain.policies.retry_after import parse_retry_after

NOT_RETRIED_5XX = frozenset({501, 505})  # not implemented, version not supported: the same request fails again


def status_error(status: int) -> type[IntegrationError]:
    """The error class of a non-success status."""
    if status in (401, 403):
        return IntegrationAuthenticationError
    if status == 429:
        return IntegrationRateLimitedError
    return IntegrationServerError if status >= 500 else IntegrationClientError


def answer_error(response: HttpResponse) -> IntegrationError:
    """The error of an answer with a status of 400 or more, saying what to check; it carries the answer."""
    return status_error(response.status)(
        f"{response.integration} answered {response.method} {response.path} with {response.status}{_advice(response.integration, response.status)}",
        integration=response.integration, method=response.method, path=response.path, status=response.status,
        retry_after=parse_retry_after(response.headers), response=response,
    )


def _advice(name: str, status: int) -> str:
    if status in (401, 403):
        return f"; check INTEGRATION_{name.upper()}_TOKEN, _API_KEY or _USERNAME/_PASSWORD"
    if status == 429:
        return f"; slow down (INTEGRATION_{name.upper()}_RPM_LIMIT) or try later"
    if status >= 500:
        return "; the service failed, try later"
    return ""


def is_retryable(error: IntegrationError) -> bool:
    """Connection errors, timeouts, 408, 429 and 5xx (but 501 and 505) may succeed when sent again."""
    if isinstance(error, IntegrationConnectionError | IntegrationTimeoutError):
        return True
    status = error.status
    return status is not None and (status in (408, 429) or (status >= 500 and status not in NOT_RETRIED_5XX))


class IntegrationFailures:
    """The ``Failures`` of one request: ``IntegrationError`` in, ``IntegrationError`` out, each naming the call."""

    handled = IntegrationError

    def __init__(self, integration: str, method: str, path: str) -> None:
        self.integration, self.method, self.path = integration, method, path
        self._variable = f"INTEGRATION_{integration.upper()}_"

    def retryable(self, error: Exception) -> bool:
        return isinstance(error, IntegrationError) and is_retryable(error)

    def retry_after(self, error: Exception) -> float | None:
        return error.retry_after if isinstance(error, IntegrationError) else None

    def is_timeout(self, error: Exception) -> bool:
        return isinstance(error, IntegrationTimeoutError)

    def wait_past_deadline(self, error: Exception, remaining: float) -> Exception:
        assert isinstance(error, IntegrationError) and error.retry_after is not None
        error_class = status_error(error.status) if error.status is not None else IntegrationRateLimitedError  # a 503 stays a server error
        return error_class(
            f"{self._call} was asked to wait {error.retry_after:.1f} s (Retry-After) but has {remaining:.1f} s left "
            f"({self._variable}DEADLINE); try later",
            integration=self.integration, method=self.method, path=self.path, status=error.status, retry_after=error.retry_after, response=error.response,
        )

    def out_of_time(self, attempts: int) -> Exception:
        return IntegrationTimeoutError(
            f"{self._call} got no answer within its deadline ({attempts} attempt(s)); raise {self._variable}DEADLINE "
            "or deadline=, or try later",
            integration=self.integration, method=self.method, path=self.path,
        )

    def circuit_open(self, breaker: CircuitBreaker) -> Exception:
        return IntegrationCircuitOpenError(
            f"{self.integration} failed {breaker.threshold} times in a row; {self.method} {self.path} fails fast for another "
            f"{breaker.retry_in():.0f} s ({self._variable}BREAKER_COOLDOWN)",
            integration=self.integration, method=self.method, path=self.path,
        )

    def no_capacity(self, wait: float) -> Exception:
        return IntegrationRateLimitedError(
            f"{self._variable}RPM_LIMIT: no room for {self._call} for {wait:.1f} s, longer than the call's time left; "
            "try later or raise the limit",
            integration=self.integration, method=self.method, path=self.path, retry_after=wait,
        )

    @property
    def _call(self) -> str:
        return f"{self.integration} {self.method} {self.path}"
