"""The HTTP integration client against a scripted server on 127.0.0.1, through the facade: retries, Retry-After,
errors that are not retried, idempotency keys, slow servers and refused connections."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate

import pytest

from modules.infrastructure.module_api import (
    HttpResponse,
    InfrastructureService,
    IntegrationAuthenticationError,
    IntegrationClientError,
    IntegrationConnectionError,
    IntegrationRateLimitedError,
    IntegrationServerError,
    IntegrationTimeoutError,
)
from tests.integration.http_fault_server import HttpFaultServer, Reply, closed_port_url
from tests.metrics_support import sample

pytestmark = pytest.mark.usefixtures("clean_env")

Configure = Callable[..., None]


def test_retry_after_in_seconds_is_honoured(http_server: HttpFaultServer, integration_at: Configure) -> None:
    http_server.script("/orders", Reply(503, headers={"retry-after": "1"}), Reply(200))
    integration_at("crm", http_server.url)
    response = InfrastructureService.get_http_client("crm").get("/orders")
    first, second = http_server.received("/orders")
    assert (response.status, response.attempts) == (200, 2)
    assert 0.95 <= second.at - first.at < 1.9  # the server's wait, not the backoff's quarter second


def test_retry_after_as_an_http_date_is_honoured(http_server: HttpFaultServer, integration_at: Configure) -> None:
    later = formatdate(time.time() + 2, usegmt=True)  # whole seconds: a wait of more than 1 s and at most 2 s
    http_server.script("/orders", Reply(429, headers={"retry-after": later}), Reply(200))
    integration_at("crm", http_server.url)
    response = InfrastructureService.get_http_client("crm").get("/orders")
    first, second = http_server.received("/orders")
    assert (response.status, response.attempts) == (200, 2)
    assert 0.9 <= second.at - first.at < 2.9


def test_a_503_then_a_200_returns_the_200_after_two_attempts(http_server: HttpFaultServer, integration_at: Configure) -> None:
    http_server.script("/contacts", Reply(503), Reply(200, body=b'{"id": 42}'))
    integration_at("crm", http_server.url)
    response = InfrastructureService.get_http_client("crm").get("/contacts", params={"email": "a@example.com"})
    assert (response.status, response.json(), response.attempts) == (200, {"id": 42}, 2)
    assert [r.query for r in http_server.received("/contacts")] == ["email=a%40example.com"] * 2


def test_a_401_is_not_retried(http_server: HttpFaultServer, integration_at: Configure) -> None:
    http_server.script("/contacts", Reply(401, body=b'{"error": "bad token"}'))
    integration_at("crm", http_server.url, TOKEN="t-0000")
    with pytest.raises(IntegrationAuthenticationError) as raised:
        InfrastructureService.get_http_client("crm").get("/contacts")
    assert raised.value.status == 401 and "INTEGRATION_CRM_TOKEN" in str(raised.value)
    assert len(http_server.received()) == 1


def test_a_404_is_a_client_error_with_its_status_and_body(http_server: HttpFaultServer, integration_at: Configure) -> None:
    http_server.script("/contacts/7", Reply(404, body=b'{"error": "no contact 7"}'))
    integration_at("crm", http_server.url)
    with pytest.raises(IntegrationClientError) as raised:
        InfrastructureService.get_http_client("crm").get("/contacts/7")
    error = raised.value
    assert isinstance(error.response, HttpResponse)
    assert (error.status, error.method, error.path, error.integration) == (404, "GET", "/contacts/7", "crm")
    assert error.response.json() == {"error": "no contact 7"} and error.response.status == 404
    assert len(http_server.received()) == 1


def test_a_post_without_an_idempotency_key_is_not_sent_again(http_server: HttpFaultServer, integration_at: Configure) -> None:
    http_server.script("/payments", Reply(503), Reply(201))
    integration_at("crm", http_server.url)
    with pytest.raises(IntegrationServerError) as raised:
        InfrastructureService.get_http_client("crm").post("/payments", json={"amount": 5})
    assert raised.value.status == 503
    assert [r.body for r in http_server.received()] == [b'{"amount":5}']


def test_a_post_with_an_idempotency_key_is_retried_with_the_same_key(http_server: HttpFaultServer, integration_at: Configure) -> None:
    http_server.script("/payments", Reply(503), Reply(502), Reply(201, body=b'{"id": "p1"}'))
    integration_at("crm", http_server.url, RETRIES="2")
    response = InfrastructureService.get_http_client("crm").post("/payments", json={"amount": 5}, idempotency_key="evt-81f3")
    seen = http_server.received("/payments")
    assert (response.status, response.attempts, len(seen)) == (201, 3, 3)
    assert [r.headers.get("idempotency-key") for r in seen] == ["evt-81f3"] * 3
    assert {r.body for r in seen} == {b'{"amount":5}'}


SLOW = {
    "trickled body": Reply(body=b"x" * 200, byte_interval=0.2),
    "trickled head": Reply(byte_interval=0.2, trickle_head=True),
    "no answer": Reply(delay=30),
}


@pytest.mark.parametrize("reply", list(SLOW.values()), ids=list(SLOW))
def test_a_slow_server_times_out_within_the_deadline(http_server: HttpFaultServer, integration_at: Configure, reply: Reply) -> None:
    http_server.script("/report", reply)
    integration_at("crm", http_server.url, DEADLINE="1", TIMEOUT="5")
    started = time.monotonic()
    with pytest.raises(IntegrationTimeoutError) as raised:
        InfrastructureService.get_http_client("crm").get("/report")
    elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"{elapsed:.2f} s"  # the 1 s deadline bounds the call though no read waits 5 s
    assert "INTEGRATION_CRM_" in str(raised.value) and len(http_server.received()) >= 1


def test_a_refused_connection_is_tried_retries_plus_one_times(integration_at: Configure, caplog: pytest.LogCaptureFixture) -> None:
    integration_at("crm", closed_port_url(), RETRIES="2")
    with caplog.at_level(logging.WARNING), pytest.raises(IntegrationConnectionError) as raised:
        InfrastructureService.get_http_client("crm").get("/contacts")
    assert "INTEGRATION_CRM_BASE_URL" in str(raised.value)
    [record] = [r for r in caplog.records if getattr(r, "integration", None) == "crm"]
    assert record.attempts == 3  # type: ignore[attr-defined]  # an extra of the record
    assert sample("infrastructure_integration_retries_total", integration="crm", method="GET") == 2
    assert sample("infrastructure_integration_calls_total", integration="crm", method="GET", outcome="IntegrationConnectionError") == 1


def test_a_refused_post_is_tried_once(integration_at: Configure) -> None:
    integration_at("crm", closed_port_url(), RETRIES="2")
    with pytest.raises(IntegrationConnectionError):
        InfrastructureService.get_http_client("crm").post("/contacts", json={})
    assert sample("infrastructure_integration_retries_total", integration="crm", method="POST") is None


def test_a_retry_after_beyond_the_deadline_fails_at_once(http_server: HttpFaultServer, integration_at: Configure) -> None:
    http_server.script("/orders", Reply(503, headers={"retry-after": "30"}), Reply(200))
    integration_at("crm", http_server.url, DEADLINE="5")
    started = time.monotonic()
    with pytest.raises(IntegrationServerError, match="INTEGRATION_CRM_DEADLINE") as raised:  # a 503 stays a server error
        InfrastructureService.get_http_client("crm").get("/orders")
    assert raised.value.status == 503 and raised.value.retry_after == 30
    assert time.monotonic() - started < 1 and len(http_server.received()) == 1


def test_after_a_timeout_the_next_call_gets_a_fresh_connection(http_server: HttpFaultServer, integration_at: Configure) -> None:
    http_server.script("/report", Reply(body=b"x" * 200, byte_interval=0.2))
    integration_at("crm", http_server.url, DEADLINE="1", TIMEOUT="5")
    client = InfrastructureService.get_http_client("crm")
    with pytest.raises(IntegrationTimeoutError):
        client.get("/report")
    response = client.get("/contacts", deadline=1)  # not the half-read body of the timed-out answer
    assert (response.status, response.json()) == (200, {"ok": True})


def test_a_redirect_is_the_answer_and_not_followed(http_server: HttpFaultServer, integration_at: Configure) -> None:
    http_server.script("/old", Reply(302, headers={"location": "http://127.0.0.1:9/elsewhere"}, body=b""))
    integration_at("crm", http_server.url)
    response = InfrastructureService.get_http_client("crm").get("/old")
    assert (response.status, response.headers["location"], len(http_server.received())) == (302, "http://127.0.0.1:9/elsewhere", 1)


def test_the_own_rate_limit_refuses_calls_without_room_before_sending(http_server: HttpFaultServer, integration_at: Configure) -> None:
    integration_at("crm", http_server.url, RPM_LIMIT="2", DEADLINE="1")
    client = InfrastructureService.get_http_client("crm")
    assert [client.get("/contacts").status for _ in range(2)] == [200, 200]
    with pytest.raises(IntegrationRateLimitedError, match="INTEGRATION_CRM_RPM_LIMIT"):
        client.get("/contacts")
    assert len(http_server.received()) == 2


def test_one_slow_call_does_not_hold_up_the_others_sharing_the_client(http_server: HttpFaultServer, integration_at: Configure) -> None:
    http_server.script("/report", Reply(body=b"x" * 200, byte_interval=0.2))
    integration_at("crm", http_server.url, DEADLINE="5", TIMEOUT="5")
    client = InfrastructureService.get_http_client("crm")
    with ThreadPoolExecutor(9) as pool:
        slow = pool.submit(client.get, "/report", deadline=1.5)
        fast = [pool.submit(client.get, f"/contacts/{n}") for n in range(40)]
        statuses = [future.result().status for future in fast]
        assert not slow.done()  # all forty answered while the slow one still trickled
        with pytest.raises(IntegrationTimeoutError):
            slow.result()
    assert statuses == [200] * 40 and len(http_server.received()) >= 41
