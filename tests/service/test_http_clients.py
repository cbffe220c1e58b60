"""``get_http_client(name)`` through the facade on ``FakeHttp``: configuration, credentials, retries, errors, metrics."""

from __future__ import annotations

import base64
import logging

import pytest

from modules.infrastructure.module_api import (
    ConfigurationError,
    HttpResponse,
    InfrastructureService,
    IntegrationAuthenticationError,
    IntegrationCircuitOpenError,
    IntegrationClientError,
    IntegrationConnectionError,
    IntegrationRateLimitedError,
    IntegrationResponseError,
    IntegrationServerError,
    IntegrationTimeoutError,
    InvalidArgumentError,
)
from modules.infrastructure.module_api.testing import ScriptedAnswer, fake_infrastructure
from tests.metrics_support import sample

pytestmark = pytest.mark.usefixtures("clean_env")

TOKEN = "crm-token-0123456789abcdef"
API_KEY = "erp-key-fedcba9876543210"
CRM = {"INTEGRATION_CRM_BASE_URL": "https://crm.example/api/v2", "INTEGRATION_CRM_TOKEN": TOKEN}


def test_a_configured_integration_is_called_under_its_base_url_with_its_token() -> None:
    with fake_infrastructure(environment=CRM) as fakes:
        fakes.http.add("crm", 201, json={"id": 7}, headers={"Location": "/contacts/7"})
        response = InfrastructureService.get_http_client("crm").post("/contacts", json={"email": "ada@example.org"}, params={"notify": "no"})
    assert isinstance(response, HttpResponse)
    assert (response.status, response.json(), response.headers["location"], response.attempts) == (201, {"id": 7}, "/contacts/7", 1)
    (sent,) = fakes.http.requests("crm")
    assert (sent.method, sent.path, sent.params, sent.json()) == ("POST", "/contacts", {"notify": ["no"]}, {"email": "ada@example.org"})
    assert sent.headers["authorization"] == f"Bearer {TOKEN}" and sent.headers["content-type"] == "application/json"


def test_an_api_key_goes_in_its_header_and_basic_auth_in_authorization() -> None:
    environment = {
        "INTEGRATION_ERP_BASE_URL": "https://erp.example", "INTEGRATION_ERP_API_KEY": API_KEY, "INTEGRATION_ERP_API_KEY_HEADER": "X-Erp-Key",
        "INTEGRATION_PIM_BASE_URL": "https://pim.example", "INTEGRATION_PIM_USERNAME": "svc", "INTEGRATION_PIM_PASSWORD": "pim-Passw0rd",
    }
    with fake_infrastructure(environment=environment) as fakes:
        InfrastructureService.get_http_client("erp").get("/items")
        InfrastructureService.get_http_client("pim").get("/products")
    erp, pim = fakes.http.requests("erp")[0], fakes.http.requests("pim")[0]
    assert erp.headers["x-erp-key"] == API_KEY and "authorization" not in erp.headers
    assert pim.headers["authorization"] == "Basic " + base64.b64encode(b"svc:pim-Passw0rd").decode()


def test_a_scripted_integration_needs_no_settings_and_an_unscripted_request_gets_an_empty_200() -> None:
    with fake_infrastructure() as fakes:
        fakes.http.respond("Webhook", lambda request: ScriptedAnswer(202, json={"echo": request.path}))
        assert InfrastructureService.has_integration("webhook")
        answer = InfrastructureService.get_http_client("webhook").put("/hooks/1", content=b"raw")
        assert (answer.status, answer.json()) == (202, {"echo": "/hooks/1"})
    with fake_infrastructure(environment=CRM) as fakes:
        empty = InfrastructureService.get_http_client("crm").delete("/contacts/7")
    assert (empty.status, empty.content, fakes.http.requests("crm")[0].content) == (200, b"", b"")


def test_an_unconfigured_integration_is_a_configuration_error_naming_its_variable() -> None:
    with fake_infrastructure(environment=CRM):
        assert InfrastructureService.has_integration("crm") and InfrastructureService.has_integration("CRM")
        assert not InfrastructureService.has_integration("billing")
        with pytest.raises(ConfigurationError) as caught:
            InfrastructureService.get_http_client("billing")
    assert "INTEGRATION_BILLING_BASE_URL" in str(caught.value) and "configured: crm" in str(caught.value)


@pytest.mark.parametrize("name", [None, 1, "a-b", "", "a" * 41, "crm.example", "1crm"])
def test_a_name_no_variable_can_carry_is_an_invalid_argument(name: object) -> None:
    with fake_infrastructure(environment=CRM):
        for entry in (InfrastructureService.get_http_client, InfrastructureService.has_integration):
            with pytest.raises(InvalidArgumentError, match="INTEGRATION_<NAME>_BASE_URL"):
                entry(name)  # type: ignore[arg-type]


def test_one_client_per_integration_whatever_the_case_of_its_name() -> None:
    with fake_infrastructure(environment=CRM):
        client = InfrastructureService.get_http_client("crm")
        assert InfrastructureService.get_http_client("CRM") is client and InfrastructureService.get_http_client("Crm") is client
        assert client.name == "crm" and repr(client) == "HttpClient(crm: https://crm.example)"


# --- retries --------------------------------------------------------------------------------------


def test_a_get_is_sent_again_after_a_503() -> None:
    with fake_infrastructure(environment=CRM) as fakes:
        fakes.http.add("crm", 503)
        fakes.http.add("crm", 200, json=[1, 2])
        response = InfrastructureService.get_http_client("crm").get("/contacts")
    assert (response.json(), response.attempts) == ([1, 2], 2)
    assert [r.path for r in fakes.http.requests("crm")] == ["/contacts", "/contacts"]


def test_a_post_without_an_idempotency_key_is_sent_once() -> None:
    with fake_infrastructure(environment=CRM) as fakes:
        fakes.http.add("crm", 503)
        with pytest.raises(IntegrationServerError) as caught:
            InfrastructureService.get_http_client("crm").post("/contacts", json={"n": 1})
    assert len(fakes.http.requests("crm")) == 1
    assert str(caught.value) == "crm answered POST /contacts with 503; the service failed, try later"
    assert caught.value.status == 503 and isinstance(caught.value.response, HttpResponse)


def test_a_post_with_an_idempotency_key_is_sent_again_with_the_same_key() -> None:
    with fake_infrastructure(environment=CRM) as fakes:
        fakes.http.fail("crm", "connect")
        fakes.http.add("crm", 201)
        response = InfrastructureService.get_http_client("crm").post("/contacts", json={"n": 1}, idempotency_key="evt-42")
    assert response.attempts == 2
    assert [r.headers["idempotency-key"] for r in fakes.http.requests("crm")] == ["evt-42", "evt-42"]


def test_retries_end_after_integration_retries_further_attempts() -> None:
    with fake_infrastructure(environment={**CRM, "INTEGRATION_CRM_RETRIES": "1"}) as fakes:
        for _ in range(3):
            fakes.http.fail("crm", "timeout")
        with pytest.raises(IntegrationTimeoutError, match="INTEGRATION_CRM_TIMEOUT"):
            InfrastructureService.get_http_client("crm").get("/contacts")
    assert len(fakes.http.requests("crm")) == 2


def test_a_retry_after_past_the_deadline_fails_at_once() -> None:
    with fake_infrastructure(environment=CRM) as fakes:
        fakes.http.add("crm", 429, headers={"Retry-After": "120"})
        with pytest.raises(IntegrationRateLimitedError) as caught:
            InfrastructureService.get_http_client("crm").get("/contacts", deadline=5)
    assert "was asked to wait 120.0 s (Retry-After)" in str(caught.value) and caught.value.retry_after == 120.0
    assert len(fakes.http.requests("crm")) == 1


@pytest.mark.parametrize(
    ("status", "error", "advice"),
    [(401, IntegrationAuthenticationError, "check INTEGRATION_CRM_TOKEN"), (403, IntegrationAuthenticationError, "check INTEGRATION_CRM_TOKEN"),
     (404, IntegrationClientError, ""), (422, IntegrationClientError, ""), (501, IntegrationServerError, "try later")],
)
def test_a_status_retrying_cannot_help_is_raised_after_one_attempt(status: int, error: type[Exception], advice: str) -> None:
    with fake_infrastructure(environment=CRM) as fakes:
        fakes.http.add("crm", status, json={"error": "no"})
        with pytest.raises(error) as caught:
            InfrastructureService.get_http_client("crm").get("/contacts/7")
    assert str(caught.value).startswith(f"crm answered GET /contacts/7 with {status}") and advice in str(caught.value)
    assert TOKEN not in str(caught.value) and len(fakes.http.requests("crm")) == 1


def test_a_redirect_is_the_answer_not_followed() -> None:
    with fake_infrastructure(environment=CRM) as fakes:
        fakes.http.add("crm", 302, headers={"Location": "https://elsewhere.example/steal"})
        response = InfrastructureService.get_http_client("crm").get("/contacts")
    assert (response.status, response.headers["location"]) == (302, "https://elsewhere.example/steal")
    assert len(fakes.http.requests()) == 1


def test_the_breaker_opens_after_the_threshold_and_calls_then_fail_fast() -> None:
    environment = {**CRM, "INTEGRATION_CRM_RETRIES": "0", "INTEGRATION_CRM_BREAKER_THRESHOLD": "2"}
    with fake_infrastructure(environment=environment) as fakes:
        client = InfrastructureService.get_http_client("crm")
        for _ in range(2):
            fakes.http.fail("crm")
            with pytest.raises(IntegrationConnectionError):
                client.get("/contacts")
        with pytest.raises(IntegrationCircuitOpenError, match="INTEGRATION_CRM_BREAKER_COOLDOWN"):
            client.get("/contacts")
        assert sample("infrastructure_integration_breaker_open", integration="crm") == 1.0
    assert len(fakes.http.requests("crm")) == 2


# --- answers, errors and metrics ------------------------------------------------------------------


def test_a_body_that_is_not_json_is_a_response_error_on_json() -> None:
    with fake_infrastructure(environment=CRM) as fakes:
        fakes.http.add("crm", 200, content=b"<html>maintenance</html>", headers={"Content-Type": "text/html"})
        response = InfrastructureService.get_http_client("crm").get("/contacts")
    assert response.text == "<html>maintenance</html>"
    with pytest.raises(IntegrationResponseError, match="a body that is not JSON"):
        response.json()


def test_a_body_over_the_limit_is_a_response_error() -> None:
    with fake_infrastructure(environment={**CRM, "INTEGRATION_CRM_MAX_RESPONSE_BYTES": "10"}) as fakes:
        fakes.http.add("crm", 200, content=b"x" * 11)
        with pytest.raises(IntegrationResponseError, match="over INTEGRATION_CRM_MAX_RESPONSE_BYTES=10"):
            InfrastructureService.get_http_client("crm").get("/export")


def test_a_failed_call_is_logged_without_its_credential(caplog: pytest.LogCaptureFixture) -> None:
    with fake_infrastructure(environment=CRM) as fakes, caplog.at_level(logging.WARNING):
        fakes.http.add("crm", 401, content=f"bad token {TOKEN}".encode())
        with pytest.raises(IntegrationAuthenticationError):
            InfrastructureService.get_http_client("crm").get("/me", params={"api_key": "query-secret-123"})
    messages = [record.getMessage() for record in caplog.records]
    assert any("crm answered GET /me with 401" in message for message in messages)
    assert not [message for message in messages if TOKEN in message or "query-secret-123" in message]


def test_every_call_is_counted_by_its_outcome() -> None:
    with fake_infrastructure(environment={**CRM, "INTEGRATION_CRM_RETRIES": "0"}) as fakes:
        client = InfrastructureService.get_http_client("crm")
        client.get("/contacts")
        client.get("/contacts")
        fakes.http.add("crm", 404)
        with pytest.raises(IntegrationClientError):
            client.get("/contacts/9")
        fakes.http.add("crm", 503)
        with pytest.raises(IntegrationServerError):
            client.post("/contacts")
        text = InfrastructureService.metrics_text()
    assert sample("infrastructure_integration_calls_total", text, integration="crm", method="GET", outcome="ok") == 2.0
    assert sample("infrastructure_integration_calls_total", text, integration="crm", method="GET", outcome="IntegrationClientError") == 1.0
    assert sample("infrastructure_integration_calls_total", text, integration="crm", method="POST", outcome="IntegrationServerError") == 1.0
    assert TOKEN not in text


def test_retries_are_counted() -> None:
    with fake_infrastructure(environment=CRM) as fakes:
        fakes.http.add("crm", 502)
        InfrastructureService.get_http_client("crm").get("/contacts")
        text = InfrastructureService.metrics_text()
    assert sample("infrastructure_integration_retries_total", text, integration="crm", method="GET") == 1.0


# --- the start-up line ----------------------------------------------------------------------------


def test_the_start_up_report_gets_the_health_path_or_says_it_is_skipped() -> None:
    environment = {**CRM, "INTEGRATION_CRM_HEALTH_PATH": "/health", "INTEGRATION_ERP_BASE_URL": "https://erp.example"}
    with fake_infrastructure(environment=environment) as fakes:
        fakes.http.add("crm", 503)
        failing = {check.name: check for check in InfrastructureService.validate_environment()}
        healthy = {check.name: check for check in InfrastructureService.validate_environment()}
    assert (failing["integration crm"].status.value, healthy["integration crm"].status.value) == ("error", "ok")
    assert "crm answered GET /health with 503" in failing["integration crm"].detail
    assert healthy["integration crm"].detail == "GET /health at https://crm.example answered 200"
    assert healthy["integration erp"].status.value == "skipped" and "INTEGRATION_ERP_HEALTH_PATH" in healthy["integration erp"].detail
    assert [r.path for r in fakes.http.requests("crm")] == ["/health", "/health"]  # one attempt each: no retry at start-up
