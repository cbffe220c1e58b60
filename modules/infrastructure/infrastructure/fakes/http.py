"""``FakeHttp``: scripted answers per integration on the real client path, every request recorded.

The clients keep their checks, credentials, retries, breaker and errors: only the network is replaced,
by an ``httpx2.MockTransport`` per integration. An integration the environment does not configure
exists here as ``https://<name>.test`` once a test scripts it, so a sibling's test needs no settings.
"""

from __future__ import annotations

import json as json_module
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx2

from modules.infrastructure.domain.config.integration_settings import integration_name
from modules.infrastructure.domain.config.values import IntegrationConfig

FAILURES = ("connect", "timeout")


@dataclass(frozen=True)
class RecordedRequest:
    """One request a client sent: the path below the base URL, query parameters, headers (lower-case names), body."""

    integration: str
    method: str
    path: str
    params: Mapping[str, list[str]]
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        return json_module.loads(self.content)


@dataclass(frozen=True)
class ScriptedAnswer:
    """What the fake answers: a status with a body, or a failure before any answer (``connect``, ``timeout``)."""

    status: int = 200
    json: Any = None
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    failure: str | None = None


Handler = Callable[[RecordedRequest], ScriptedAnswer]


class FakeHttp:
    """``fake.add("crm", 200, json={...})`` queues answers; ``fake.requests("crm")`` lists what was sent. Without a
    queued answer or a handler an integration answers ``200`` with an empty body."""

    def __init__(self) -> None:
        self._queued: dict[str, deque[ScriptedAnswer]] = defaultdict(deque)
        self._handlers: dict[str, Handler] = {}
        self._recorded: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def add(self, integration: str, status: int = 200, *, json: Any = None, content: bytes = b"", headers: Mapping[str, str] | None = None) -> None:
        """Queue one answer of ``integration``; answers are used in order, one per request."""
        self._queue(integration, ScriptedAnswer(status, json, content, dict(headers or {})))

    def fail(self, integration: str, failure: str = "connect") -> None:
        """Queue a failure of ``integration``'s next request: ``connect`` (refused) or ``timeout``."""
        if failure not in FAILURES:
            raise ValueError(f"FakeHttp.fail takes one of {', '.join(FAILURES)}, not {failure!r}")
        self._queue(integration, ScriptedAnswer(failure=failure))

    def respond(self, integration: str, handler: Handler) -> None:
        """Answer every request of ``integration`` without a queued answer with ``handler(request)``."""
        self._handlers[integration_name(integration)] = handler

    def requests(self, integration: str | None = None) -> list[RecordedRequest]:
        """The requests sent (to ``integration`` only, when given), in order."""
        with self._lock:
            return [r for r in self._recorded if integration is None or r.integration == integration_name(integration)]

    def transport(self, config: IntegrationConfig) -> httpx2.BaseTransport:
        return httpx2.MockTransport(lambda request: self._answer(config, request))

    def configuration(self, name: str) -> IntegrationConfig | None:
        """A scripted integration the environment does not configure: ``https://<name>.test``, no credential, fast retries."""
        if name in self._queued or name in self._handlers:
            return IntegrationConfig(name=name, base_url=f"https://{name}.test", timeout=5.0, deadline=10.0)
        return None

    def _queue(self, integration: str, answer: ScriptedAnswer) -> None:
        with self._lock:
            self._queued[integration_name(integration)].append(answer)

    def _answer(self, config: IntegrationConfig, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path.removeprefix(httpx2.URL(config.base_url).path.rstrip("/"))
        recorded = RecordedRequest(
            config.name, request.method, path, parse_qs(request.url.query.decode()),
            {name.lower(): value for name, value in request.headers.items()}, request.read(),
        )
        with self._lock:
            self._recorded.append(recorded)
            queue = self._queued.get(config.name)
            answer = queue.popleft() if queue else None
        if answer is None:
            handler = self._handlers.get(config.name)
            answer = handler(recorded) if handler else ScriptedAnswer()
        if answer.failure == "connect":
            raise httpx2.ConnectError("connection refused (FakeHttp)", request=request)
        if answer.failure == "timeout":
            raise httpx2.ReadTimeout("timed out (FakeHttp)", request=request)
        if answer.json is not None:
            return httpx2.Response(answer.status, json=answer.json, headers=answer.headers)
        return httpx2.Response(answer.status, content=answer.content, headers=answer.headers)
