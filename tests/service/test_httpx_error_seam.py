"""Every exception httpx2 defines, raised under an integration's call, leaves it as an ``InfrastructureError``."""

from __future__ import annotations

import inspect
import ssl

import httpx2
import pytest

from modules.infrastructure.domain.config.values import IntegrationConfig
from modules.infrastructure.domain.errors import (
    InfrastructureError,
    IntegrationConnectionError,
    IntegrationServerError,
    IntegrationTimeoutError,
    InvalidArgumentError,
)
from modules.infrastructure.infrastructure.integrations.http_client import HttpClient

TOKEN = "seam-token-never-shown-0123"
HTTPX_ERRORS = sorted((c for _, c in inspect.getmembers(httpx2, inspect.isclass) if issubclass(c, Exception)), key=lambda c: c.__name__)


def client_raising(error: BaseException) -> HttpClient:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise error

    config = IntegrationConfig(name="crm", base_url="https://crm.test", auth="bearer", credential=None, retries=0)
    return HttpClient(config, transport=lambda _: httpx2.MockTransport(handler), sleep=lambda _: None)


def instance(cls: type[Exception]) -> Exception:
    request = httpx2.Request("GET", "https://crm.test/x")
    for arguments in ((f"failed {TOKEN}",), ()):
        for keywords in ({"request": request}, {"request": request, "response": httpx2.Response(500, request=request)}, {}):
            try:
                return cls(*arguments, **keywords)
            except TypeError:
                continue
    raise AssertionError(f"cannot build {cls.__name__}")


@pytest.mark.parametrize("cls", HTTPX_ERRORS, ids=lambda c: c.__name__)
def test_no_httpx2_exception_escapes(cls: type[Exception]) -> None:
    with pytest.raises(InfrastructureError) as raised:
        client_raising(instance(cls)).get("/x")
    assert isinstance(raised.value.__cause__, cls)
    if issubclass(cls, httpx2.TimeoutException):
        assert isinstance(raised.value, IntegrationTimeoutError)
    elif issubclass(cls, httpx2.TransportError) and not issubclass(cls, httpx2.UnsupportedProtocol):
        assert isinstance(raised.value, IntegrationConnectionError)


@pytest.mark.parametrize("error", [ssl.SSLError("certificate verify failed"), OSError(113, "No route to host"), ConnectionResetError()])
def test_errors_beneath_httpx2_are_connection_errors(error: BaseException) -> None:
    with pytest.raises(IntegrationConnectionError, match="crm GET /x failed"):
        client_raising(error).get("/x")


@pytest.mark.parametrize("value", [object(), {"nested": 1}, b"bytes", float("nan"), [1, [2]]], ids=repr)
def test_a_query_value_httpx2_would_send_as_its_repr_is_refused(value: object) -> None:
    sent: list[httpx2.Request] = []
    config = IntegrationConfig(name="crm", base_url="https://crm.test")
    client = HttpClient(config, transport=lambda _: httpx2.MockTransport(lambda r: sent.append(r) or httpx2.Response(200)))
    with pytest.raises(InvalidArgumentError, match="query parameter 'when'"):
        client.get("/x", params={"when": value})
    assert sent == []


def test_a_header_a_request_cannot_carry_is_refused_and_never_opens_the_breaker() -> None:
    sent: list[httpx2.Request] = []
    config = IntegrationConfig(name="crm", base_url="https://crm.test", breaker_threshold=1)
    client = HttpClient(config, transport=lambda _: httpx2.MockTransport(lambda r: sent.append(r) or httpx2.Response(200)))
    for _ in range(3):
        with pytest.raises(InvalidArgumentError, match="ASCII"):
            client.get("/x", headers={"X-Name": "Zoë"})
    assert client.get("/x").status == 200 and not client.breaker.is_open and len(sent) == 1


def test_an_answer_without_a_body_is_not_held_to_the_size_limit() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        status = 304 if request.url.path == "/cached" else 200
        return httpx2.Response(status, headers={"Content-Length": "5000000"}, content=b"" if status == 304 or request.method == "HEAD" else b"x")

    config = IntegrationConfig(name="crm", base_url="https://crm.test", max_response_bytes=1000)
    client = HttpClient(config, transport=lambda _: httpx2.MockTransport(handler))
    assert client.request("HEAD", "/file").status == 200
    assert client.get("/cached").status == 304


def test_a_failure_that_is_not_the_service_s_is_counted_under_its_own_name() -> None:
    seen: list[tuple[str, str, str]] = []
    config = IntegrationConfig(name="crm", base_url="https://crm.test")
    client = HttpClient(config, transport=lambda _: httpx2.MockTransport(lambda r: httpx2.Response(200)),
                        observe=lambda name, method, outcome, *_: seen.append((name, method, outcome)))
    with pytest.raises(InvalidArgumentError):
        client.get("/x", headers={"X-Name": "Zoë"})  # refused before the call is counted
    broken = HttpClient(config, transport=_failing_transport, observe=lambda name, method, outcome, *_: seen.append((name, method, outcome)))
    with pytest.raises(InvalidArgumentError, match="cannot be built"):
        broken.get("/x")  # building the transport failed: not the service's failure, and not "ok"
    assert seen == [("crm", "GET", "InvalidArgumentError")]


def test_a_5xx_asking_for_a_wait_past_the_deadline_is_still_a_server_error() -> None:
    answer = httpx2.Response(503, headers={"Retry-After": "1000000000000"})
    config = IntegrationConfig(name="crm", base_url="https://crm.test", deadline=5.0)
    client = HttpClient(config, transport=lambda _: httpx2.MockTransport(lambda r: answer), sleep=lambda _: None)
    with pytest.raises(IntegrationServerError) as caught:
        client.get("/x")
    assert caught.value.status == 503 and caught.value.retry_after == 2_147_483.0 and "2147483.0 s" in str(caught.value)


def _failing_transport(config: IntegrationConfig) -> httpx2.BaseTransport:
    raise UnicodeError("label empty or too long")


def test_an_interrupted_call_is_counted_as_abandoned_not_as_ok() -> None:
    seen: list[str] = []

    def interrupted(request: httpx2.Request) -> httpx2.Response:
        raise KeyboardInterrupt

    config = IntegrationConfig(name="crm", base_url="https://crm.test")
    client = HttpClient(config, transport=lambda _: httpx2.MockTransport(interrupted), observe=lambda name, method, outcome, *_: seen.append(outcome))
    with pytest.raises(KeyboardInterrupt):
        client.get("/x")
    assert seen == ["abandoned"]
