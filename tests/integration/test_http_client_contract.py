"""One contract, two backends: ``FakeHttp`` (what sibling tests use, through ``fake_infrastructure``) and the real
client on a scripted server on 127.0.0.1 give the same outcome and send the same number of requests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest

from modules.infrastructure.module_api import InfrastructureService, IntegrationError
from modules.infrastructure.module_api.testing import fake_infrastructure
from tests.integration.http_fault_server import HttpFaultServer, Reply

pytestmark = pytest.mark.usefixtures("clean_env")

NAME = "contract"
SETTINGS = {"RETRIES": "2", "TIMEOUT": "2", "DEADLINE": "10"}


@dataclass(frozen=True)
class Step:
    """One scripted answer: a status with a JSON body, or a connection that fails before any answer."""

    status: int = 200
    json: Any = None
    fails: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)


class Backend(Protocol):
    def answer(self, path: str, *steps: Step) -> None: ...

    def requests(self) -> int: ...


class FakeBackend:
    def __init__(self, stack: ExitStack) -> None:
        environment = {f"INTEGRATION_{NAME.upper()}_{k}": v for k, v in {"BASE_URL": "https://contract.test", **SETTINGS}.items()}
        self.fakes = stack.enter_context(fake_infrastructure(environment=environment, migrate=False))

    def answer(self, path: str, *steps: Step) -> None:
        for step in steps:
            if step.fails:
                self.fakes.http.fail(NAME, "connect")
            else:
                self.fakes.http.add(NAME, step.status, json=step.json, headers=step.headers)

    def requests(self) -> int:
        return len(self.fakes.http.requests(NAME))


class ServerBackend:
    def __init__(self, server: HttpFaultServer, integration_at: Callable[..., None]) -> None:
        self.server = server
        integration_at(NAME, server.url, **SETTINGS)

    def answer(self, path: str, *steps: Step) -> None:
        replies = [Reply(drop=True) if s.fails else Reply(s.status, body=json.dumps(s.json).encode(), headers=s.headers) for s in steps]
        self.server.script(path, *replies)

    def requests(self) -> int:
        return len(self.server.received())


@pytest.fixture(params=["fake", "server"])
def backend(request: pytest.FixtureRequest, http_server: HttpFaultServer, integration_at: Callable[..., None]) -> Iterator[Backend]:
    with ExitStack() as stack:
        yield FakeBackend(stack) if request.param == "fake" else ServerBackend(http_server, integration_at)


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """What a caller sees: the status, JSON body and attempts of an answer, or the error class and its status."""
    try:
        response = call()
    except IntegrationError as exc:
        return (type(exc).__name__, exc.status)
    return (response.status, response.json(), response.attempts)


def client() -> Any:
    return InfrastructureService.get_http_client(NAME)


# (steps, the call, what the caller sees, requests sent)
CONTRACT: dict[str, tuple[tuple[Step, ...], Callable[[], Any], tuple[Any, ...], int]] = {
    "GET 200 with JSON": ((Step(200, {"id": 7}),), lambda: client().get("/c"), (200, {"id": 7}, 1), 1),
    "503 then 200 is retried": ((Step(503), Step(200, {"ok": True})), lambda: client().get("/c"), (200, {"ok": True}, 2), 2),
    "401 is not retried": ((Step(401), Step(200)), lambda: client().get("/c"), ("IntegrationAuthenticationError", 401), 1),
    "404 is not retried": ((Step(404), Step(200)), lambda: client().get("/c"), ("IntegrationClientError", 404), 1),
    "POST without a key is not retried": ((Step(503), Step(201)), lambda: client().post("/c", json={}), ("IntegrationServerError", 503), 1),
    "POST with a key is retried": (
        (Step(503), Step(201, {"id": 1})), lambda: client().post("/c", json={}, idempotency_key="k1"), (201, {"id": 1}, 2), 2,
    ),
    "429 waits its Retry-After and is retried": (
        (Step(429, headers={"retry-after": "0.1"}), Step(200, {"ok": True})), lambda: client().get("/c"), (200, {"ok": True}, 2), 2,
    ),
    "5xx on every attempt": ((Step(502), Step(502), Step(502)), lambda: client().get("/c"), ("IntegrationServerError", 502), 3),
    "no connection on every attempt": (
        (Step(fails=True), Step(fails=True), Step(fails=True)), lambda: client().get("/c"), ("IntegrationConnectionError", None), 3,
    ),
}


@pytest.mark.parametrize("case", list(CONTRACT))
def test_the_fake_and_the_real_client_agree(backend: Backend, case: str) -> None:
    steps, call, seen, sent = CONTRACT[case]
    backend.answer("/c", *steps)
    assert outcome(call) == seen
    assert backend.requests() == sent
