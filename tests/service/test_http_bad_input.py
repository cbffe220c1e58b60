"""A request the client must not send, through the facade: ``InvalidArgumentError`` naming what is wrong, nothing sent."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from modules.infrastructure.module_api import InfrastructureService, InvalidArgumentError
from modules.infrastructure.module_api.testing import FakeInfrastructure, fake_infrastructure
from tests.metrics_support import sample

pytestmark = pytest.mark.usefixtures("clean_env")

API_KEY = "crm-key-0123456789abcdef"
CRM = {"INTEGRATION_CRM_BASE_URL": "https://crm.example/api", "INTEGRATION_CRM_API_KEY": API_KEY, "INTEGRATION_CRM_API_KEY_HEADER": "X-Crm-Key"}


def _cycle() -> dict[str, object]:
    loop: dict[str, object] = {}
    loop["self"] = loop
    return loop


# (method, path, options, words of the message)
BAD_REQUESTS: list[tuple[str, object, dict[str, Any], str]] = [
    ("FETCH", "/contacts", {}, "the method 'FETCH' is not one of"),
    ("GET", "https://evil.example/contacts", {}, "a client talks to its own service only"),
    ("GET", "//evil.example/contacts", {}, "a client talks to its own service only"),
    ("GET", "\\\\evil.example\\contacts", {}, "a client talks to its own service only"),
    ("GET", "/contacts?email=a@b", {}, "pass query parameters as params="),
    ("GET", "/contacts#x", {}, "pass query parameters as params="),
    ("GET", "/con tacts", {}, "pass query parameters as params="),
    ("GET", "/contacts\r\nX-Admin: 1", {}, "pass query parameters as params="),
    ("GET", "/" + "a" * 3000, {}, "over 2048 characters"),
    ("GET", "/contacts/../admin", {}, "has a . or .. segment"),
    ("GET", "/contacts/%2e%2e/admin", {}, "has a . or .. segment"),
    ("GET", None, {}, "the path is text"),
    ("GET", "/contacts", {"headers": {"X-Note": 1}}, "the header X-Note must be one line of ASCII text"),
    ("GET", "/contacts", {"headers": {"X-Note": "a\nX-Admin: 1"}}, "the header X-Note must be one line of ASCII text"),
    ("GET", "/contacts", {"headers": {"X-Note": "café"}}, "the header X-Note must be one line of ASCII text"),
    ("GET", "/contacts", {"headers": {"X Note": "v"}}, "is not an HTTP header name"),
    ("GET", "/contacts", {"headers": {"Authorization": "Bearer other"}}, "the header Authorization is set by the client itself"),
    ("GET", "/contacts", {"headers": {"Host": "evil.example"}}, "the header Host is set by the client itself"),
    ("GET", "/contacts", {"headers": {"x-crm-key": "other"}}, "the header x-crm-key is set by the client itself"),
    ("POST", "/contacts", {"headers": {"Idempotency-Key": "k"}}, "the idempotency key from idempotency_key="),
    ("POST", "/contacts", {"idempotency_key": ""}, "idempotency_key takes 1 to 255 visible ASCII characters"),
    ("POST", "/contacts", {"idempotency_key": "k" * 256}, "idempotency_key takes 1 to 255 visible ASCII characters"),
    ("POST", "/contacts", {"idempotency_key": "clé-1"}, "idempotency_key takes 1 to 255 visible ASCII characters"),
    ("POST", "/contacts", {"idempotency_key": 42}, "idempotency_key takes 1 to 255 visible ASCII characters"),
    ("POST", "/contacts", {"json": object()}, "json= cannot be sent as JSON"),
    ("POST", "/contacts", {"json": {"score": math.nan}}, "json= cannot be sent as JSON"),
    ("POST", "/contacts", {"json": _cycle()}, "json= cannot be sent as JSON"),
    ("POST", "/contacts", {"json": {"a": 1}, "content": b"{}"}, "give json= or content=, not both"),
    ("POST", "/contacts", {"content": 42}, "content= takes bytes or text"),
    ("GET", "/contacts", {"params": [("q", "x")]}, "params takes a mapping of query parameters"),
    ("GET", "/contacts", {"params": {"q": {"nested": 1}}}, "the query parameter 'q' takes text, a number"),
    ("GET", "/contacts", {"params": {"q": b"bytes"}}, "the query parameter 'q' takes text, a number"),
    ("GET", "/contacts", {"params": {"q": object()}}, "the query parameter 'q' takes text, a number"),
    ("GET", "/contacts", {"deadline": "10"}, "deadline= takes seconds above 0 and at most INTEGRATION_CRM_DEADLINE"),
    ("GET", "/contacts", {"deadline": 0}, "deadline= takes seconds above 0"),
    ("GET", "/contacts", {"deadline": -1}, "deadline= takes seconds above 0"),
    ("GET", "/contacts", {"deadline": math.inf}, "deadline= takes seconds above 0"),
    ("GET", "/contacts", {"deadline": math.nan}, "deadline= takes seconds above 0"),
    ("GET", "/contacts", {"deadline": 10**12}, "deadline= takes seconds above 0"),
    ("GET", "/contacts", {"deadline": True}, "deadline= takes seconds above 0"),
]


@pytest.fixture
def fakes() -> Iterator[FakeInfrastructure]:
    with fake_infrastructure(environment={**CRM, "INTEGRATION_CRM_BREAKER_THRESHOLD": "1"}) as installed:
        yield installed


@pytest.mark.parametrize(("method", "path", "options", "words"), BAD_REQUESTS, ids=[f"{m} {str(p)[:30]!r} {sorted(o)}" for m, p, o, _ in BAD_REQUESTS])
def test_a_bad_request_is_refused_before_anything_is_sent(fakes: FakeInfrastructure, method: str, path: object, options: dict[str, Any], words: str) -> None:
    client = InfrastructureService.get_http_client("crm")
    with pytest.raises(InvalidArgumentError) as caught:
        client.request(method, path, **options)  # type: ignore[arg-type]
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert message.startswith("crm: ") and words in message and API_KEY not in message
    assert fakes.http.requests() == []
    assert not client.breaker.is_open  # a refusal says nothing about the service (the threshold is 1)
    assert client.get("/contacts").status == 200  # and the client still works


def test_a_refused_request_is_not_counted_as_a_call(fakes: FakeInfrastructure) -> None:
    client = InfrastructureService.get_http_client("crm")
    with pytest.raises(InvalidArgumentError):
        client.get("/contacts", headers={"X-Note": "naïve"})
    assert sample("infrastructure_integration_calls_total", integration="crm", method="GET", outcome="IntegrationConnectionError") is None
    assert fakes.http.requests() == []


def test_values_the_client_encodes_itself_are_sent(fakes: FakeInfrastructure) -> None:
    client = InfrastructureService.get_http_client("crm")
    client.get("/contacts/Zoë", params={"name": "Zoë & co", "page": 2})
    (sent,) = fakes.http.requests("crm")
    assert sent.path == "/contacts/Zoë" and sent.params == {"name": ["Zoë & co"], "page": ["2"]}
    assert sent.headers["x-crm-key"] == API_KEY
