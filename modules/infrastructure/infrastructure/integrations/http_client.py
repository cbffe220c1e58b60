"""``HttpClient``: the client of one outside service, with the retry loop the LLM providers use.

Every request goes to the integration's base URL (a path under it, checked before sending), carries its
credential, and runs through ``RetryLoop``: retried on connection errors, timeouts, 429 and 5xx when the
method is idempotent or the caller gave an idempotency key, within a deadline, behind the integration's
circuit breaker and rate limit. Each socket operation ends at the attempt's cutoff (``DeadlineTransport``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from urllib.parse import urlsplit

import httpx2

from modules.infrastructure.domain.tracing.ports import NO_TRACING, Tracer
from modules.infrastructure.domain.config.values import IntegrationConfig
from modules.infrastructure.domain.errors import ConfigurationError, IntegrationError
from modules.infrastructure.domain.integrations.failures import IntegrationFailures, answer_error
from modules.infrastructure.domain.integrations.requests import OutgoingRequest, call_deadline, origin, outgoing
from modules.infrastructure.domain.integrations.values import HttpResponse
from modules.infrastructure.domain.policies.attempts import Attempts
from modules.infrastructure.domain.policies.breaker import CircuitBreaker
from modules.infrastructure.domain.policies.deadline import Deadline
from modules.infrastructure.domain.policies.rate_limit import CapacityLimiter, RateLimiter
from modules.infrastructure.domain.policies.retry_loop import RetryLoop
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.http_transport.deadline_network import cutoff
from modules.infrastructure.infrastructure.integrations.auth import credential_header, credential_headers
from modules.infrastructure.infrastructure.integrations.call_log import log_answer, log_failure, logger
from modules.infrastructure.infrastructure.integrations.httpx_errors import httpx_errors
from modules.infrastructure.infrastructure.integrations.response_body import read_answer


CallObserver = Callable[[str, str, str, float, int], None]  # integration, method, outcome, seconds, attempts


class HttpClient:
    """Requests to one integration: ``client.get("/contacts", params={"email": e}).json()``; every failure an ``IntegrationError``."""

    def __init__(
        self,
        config: IntegrationConfig,
        *,
        transport: Callable[[IntegrationConfig], httpx2.BaseTransport],
        redactor: Redactor | None = None,
        limiter: CapacityLimiter | None = None,
        observe: CallObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        tracer: Tracer = NO_TRACING,
    ) -> None:
        self.config = config
        self._tracer = tracer
        self.name = config.name
        self.breaker = CircuitBreaker(config.breaker_threshold, config.breaker_cooldown, clock)
        self._limiter = limiter or RateLimiter(config.rpm_limit, None, clock)
        self._transport = transport
        self._redactor = redactor or Redactor()
        self._observe = observe
        self._clock, self._sleep = clock, sleep
        self._credentials = credential_headers(config)
        self._reserved = credential_header(config)
        self._client: httpx2.Client | None = None
        self._retired = False
        self._lock = threading.Lock()

    def get(self, path: str, **options: Any) -> HttpResponse:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> HttpResponse:
        return self.request("POST", path, **options)

    def put(self, path: str, **options: Any) -> HttpResponse:
        return self.request("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> HttpResponse:
        return self.request("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> HttpResponse:
        return self.request("DELETE", path, **options)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        deadline: float | None = None,
    ) -> HttpResponse:
        """Send ``method path`` and return the 2xx or 3xx answer; raise the ``IntegrationError`` of anything else.

        POST and PATCH are sent again after a failure only with ``idempotency_key`` (sent as ``Idempotency-Key``);
        ``deadline`` (seconds) bounds every attempt and wait, default ``INTEGRATION_<NAME>_DEADLINE``.
        """
        if self._retired:
            raise ConfigurationError(
                f"INTEGRATION_{self.name.upper()}_* were removed by a configuration reload; this client sends nothing more "
                f"(set INTEGRATION_{self.name.upper()}_BASE_URL again and reload, or stop calling it)"
            )
        request = outgoing(
            self.name, method, path, params=params, json_body=json, content=content, headers=headers,
            idempotency_key=idempotency_key, credential_header=self._reserved,
        )
        seconds = call_deadline(self.name, deadline, self.config.deadline)
        return self._call(request, Deadline.after(seconds, self._clock))

    def probe(self, path: str) -> HttpResponse:
        """One GET of ``path`` within one attempt's timeout, no retry: the start-up check."""
        request = outgoing(self.name, "GET", path)
        return self._call(request, Deadline.after(self.config.timeout, self._clock), retries=0)

    def _call(self, request: OutgoingRequest, deadline: Deadline, retries: int | None = None) -> HttpResponse:
        with self._tracer.span(request.method, "client", self._span_attributes(request)) as span:
            response = self._attempts(request, deadline, retries)
            span.set_attributes({"http.response.status_code": response.status, "http.request.resend_count": response.attempts - 1})
            return response

    def _span_attributes(self, request: OutgoingRequest) -> dict[str, str]:
        """The call's span: the integration and its host, never the query string (it may carry a key)."""
        host = urlsplit(self.config.base_url).hostname or ""
        return {"http.request.method": request.method, "server.address": host, "infrastructure.integration": self.name}

    def _attempts(self, request: OutgoingRequest, deadline: Deadline, retries: int | None) -> HttpResponse:
        started, attempts, outcome = self._clock(), Attempts(), "ok"
        loop = RetryLoop(IntegrationFailures(self.name, request.method, request.path), self.breaker, self._limiter, clock=self._clock, sleep=self._sleep)
        try:
            loop.check_breaker()
            response, _ = loop.run(
                lambda timeout: self._send(request, timeout),
                timeout=self.config.timeout,
                max_retries=0 if not request.retryable else self.config.retries if retries is None else retries,
                deadline=deadline,
                attempts=attempts,
            )
        except BaseException as exc:  # an interrupted call (KeyboardInterrupt) is counted as abandoned, never as ok
            outcome = type(exc).__name__ if isinstance(exc, Exception) else "abandoned"
            if isinstance(exc, IntegrationError):
                log_failure(self.name, request, exc, attempts.count)
            raise
        finally:
            elapsed = self._clock() - started
            if self._observe is not None:
                self._observe(self.name, request.method, outcome, elapsed, attempts.count)
        if logger.isEnabledFor(logging.DEBUG):  # the line's extras are built only when it is written
            log_answer(self.name, request, response.status, attempts.count, elapsed)
        return HttpResponse(
            self.name, request.method, request.path, response.status, response.headers, response.content, attempts.count, elapsed
        )

    def _send(self, request: OutgoingRequest, timeout: float) -> HttpResponse:
        """One attempt, its sockets bounded by ``timeout``; a status of 400 or more raised as its error."""
        with httpx_errors(self.name, request, self._redactor), cutoff(time.monotonic() + timeout):
            client = self._http()
            sent = client.build_request(
                request.method, _joined(self.config.base_url, request.target), params=request.params,
                headers={**self._trace_headers(), **request.headers, **self._credentials}, content=request.body, timeout=timeout,
            )
            answer = client.send(sent, stream=True)
            try:
                body = read_answer(answer, self.config.max_response_bytes, self.name, request)
            finally:
                answer.close()
        headers = {name.lower(): value for name, value in answer.headers.items()}
        response = HttpResponse(self.name, request.method, request.path, answer.status_code, headers, body)
        if answer.status_code >= 400:
            raise answer_error(response)
        return response

    def _trace_headers(self) -> dict[str, str]:
        """W3C ``traceparent`` of the call's span, so a service that traces continues the trace (a caller's own header wins)."""
        trace = self._tracer.current()
        return trace.headers() if trace is not None else {}

    def _http(self) -> httpx2.Client:
        """The httpx2 client, built on first use (thread-safe); no redirects are followed: a 3xx is the answer."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = httpx2.Client(transport=self._transport(self.config), follow_redirects=False, trust_env=False)
        return self._client

    def reconfigure(self, config: IntegrationConfig, limiter: CapacityLimiter | None) -> httpx2.Client | None:
        """Use ``config`` from the next call on, so a client held by a caller sends a rotated token too; calls in flight
        finish on the old settings. Returns the httpx2 client they use, for the caller to close after their deadline."""
        with self._lock:
            old, self._client = self._client, None
            if (config.breaker_threshold, config.breaker_cooldown) != (self.config.breaker_threshold, self.config.breaker_cooldown):
                self.breaker = CircuitBreaker(config.breaker_threshold, config.breaker_cooldown, self._clock)
            if config.rpm_limit != self.config.rpm_limit:
                self._limiter = limiter or RateLimiter(config.rpm_limit, None, self._clock)
            self._credentials, self._reserved = credential_headers(config), credential_header(config)
            self.config = config
        return old

    def retire(self) -> httpx2.Client | None:
        """The integration was removed: every later call raises ``ConfigurationError``; returns the httpx2 client to close."""
        with self._lock:
            self._retired = True
            old, self._client = self._client, None
        return old

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def after_fork(self) -> None:
        """In a forked child: forget the parent's connections (they are the parent's to close) and locks."""
        self._client = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HttpClient({self.name}: {origin(self.config.base_url)})"


def _joined(base_url: str, target: str) -> str:
    """The URL of ``target`` under ``base_url``: the base URL as written for ``""``, one slash between them otherwise."""
    return base_url.rstrip("/") + target if target else base_url
