"""What the HTTP integration client sends, against a scripted server on 127.0.0.1, through the facade: credentials
as configured and never shown, requests refused before sending, and the start-up report's line per integration."""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Callable

import pytest

from modules.infrastructure.module_api import (
    CheckStatus,
    ConfigurationError,
    InfrastructureService,
    IntegrationAuthenticationError,
    IntegrationConnectionError,
    InvalidArgumentError,
)
from tests.integration.http_fault_server import HttpFaultServer, Reply, closed_port_url

pytestmark = pytest.mark.usefixtures("clean_env")

Configure = Callable[..., None]
TOKEN = "tok-7f3a9c-bearer-secret"
API_KEY = "key-51d2e8-partner-secret"
PASSWORD = "pw-c04b66-basic-secret"
BASIC = base64.b64encode(f"svc-reader:{PASSWORD}".encode()).decode()
CREDENTIALS = {
    "bearer": ({"TOKEN": TOKEN}, {"authorization": f"Bearer {TOKEN}"}, (TOKEN,)),
    "api_key": ({"API_KEY": API_KEY, "API_KEY_HEADER": "X-Partner-Key"}, {"x-partner-key": API_KEY}, (API_KEY,)),
    "basic": ({"USERNAME": "svc-reader", "PASSWORD": PASSWORD}, {"authorization": f"Basic {BASIC}"}, (PASSWORD, BASIC)),
}


@pytest.mark.parametrize("auth", list(CREDENTIALS))
def test_the_credential_arrives_as_configured(http_server: HttpFaultServer, integration_at: Configure, auth: str) -> None:
    settings, sent, _ = CREDENTIALS[auth]
    integration_at("crm", http_server.url, AUTH=auth, **settings)
    InfrastructureService.get_http_client("crm").get("/me")
    [seen] = http_server.received("/me")
    assert {name: seen.headers.get(name) for name in sent} == sent
    if auth == "api_key":
        assert "authorization" not in seen.headers


def _everything_shown(error: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    """The error with its causes as a traceback prints them, and every captured log record with its extras."""
    shown = ["".join(traceback.format_exception(error)), repr(error), repr(vars(error))]
    for record in caplog.records:
        shown += [record.getMessage(), repr(vars(record))]
        if record.exc_info and record.exc_info[1] is not None:
            shown.append("".join(traceback.format_exception(record.exc_info[1])))
    return "\n".join(shown)


@pytest.mark.parametrize("auth", list(CREDENTIALS))
@pytest.mark.parametrize("fault", ["401", "refused"])
def test_the_credential_never_shows_in_errors_or_logs(
    http_server: HttpFaultServer, integration_at: Configure, caplog: pytest.LogCaptureFixture, auth: str, fault: str
) -> None:
    settings, _, secrets = CREDENTIALS[auth]
    http_server.script("/me", Reply(401, body=b'{"error": "invalid credentials"}'))
    url = http_server.url if fault == "401" else closed_port_url()
    integration_at("crm", url, AUTH=auth, RETRIES="1", **settings)
    expected = IntegrationAuthenticationError if fault == "401" else IntegrationConnectionError
    with caplog.at_level(logging.DEBUG), pytest.raises(expected) as raised:
        InfrastructureService.get_http_client("crm").get("/me")
    shown = _everything_shown(raised.value, caplog)
    assert "crm" in shown and caplog.records  # the failure was logged, and is read here
    assert not [secret for secret in secrets if secret in shown]


REFUSED_PATHS = {
    "a URL to another host": "http://evil.example/steal",
    "a scheme-relative URL": "//evil.example/steal",
    "a .. segment": "/contacts/../admin",
    "a leading ..": "../admin",
    "an encoded .. segment": "/contacts/%2e%2e/admin",
    "a query in the path": "/contacts?all=1",
    "a line break": "/contacts\r\nX-Injected: 1",
}


@pytest.mark.parametrize("path", list(REFUSED_PATHS.values()), ids=list(REFUSED_PATHS))
def test_a_path_that_leaves_the_base_url_is_refused_before_sending(http_server: HttpFaultServer, integration_at: Configure, path: str) -> None:
    integration_at("crm", http_server.url + "/api")
    with pytest.raises(InvalidArgumentError):
        InfrastructureService.get_http_client("crm").get(path)
    assert http_server.received() == []


REFUSED_HEADERS = {
    "a line break in a value": {"X-Note": "a\r\nX-Injected: 1"},
    "a bare newline in a value": {"X-Note": "a\nX-Injected: 1"},
    "a line break in a name": {"X-Note\r\nX-Injected": "1"},
    "a value that is not ASCII": {"X-Name": "José"},  # not a connection error, retried and counted by the breaker
    "the credential's header": {"Authorization": "Bearer other"},
    "the host": {"Host": "evil.example"},
}


@pytest.mark.parametrize("headers", list(REFUSED_HEADERS.values()), ids=list(REFUSED_HEADERS))
def test_a_header_that_could_change_the_request_is_refused_before_sending(
    http_server: HttpFaultServer, integration_at: Configure, headers: dict[str, str]
) -> None:
    integration_at("crm", http_server.url, TOKEN=TOKEN)
    with pytest.raises(InvalidArgumentError) as raised:
        InfrastructureService.get_http_client("crm").post("/notes", json={}, headers=headers)
    assert http_server.received() == [] and TOKEN not in str(raised.value)


def test_a_path_under_the_base_path_reaches_it(http_server: HttpFaultServer, integration_at: Configure) -> None:
    integration_at("crm", http_server.url + "/api/v2")
    InfrastructureService.get_http_client("crm").get("contacts/7", headers={"X-Note": "one line"})
    [seen] = http_server.received()
    assert (seen.path, seen.headers["x-note"]) == ("/api/v2/contacts/7", "one line")


@pytest.mark.parametrize(("reply", "status"), [(Reply(200), CheckStatus.OK), (Reply(500), CheckStatus.ERROR)], ids=["200", "500"])
def test_the_start_up_report_gets_the_health_path(http_server: HttpFaultServer, integration_at: Configure, reply: Reply, status: CheckStatus) -> None:
    http_server.script("/health", reply)
    integration_at("crm", http_server.url, HEALTH_PATH="/health", RETRIES="2")
    check = InfrastructureService.validate_environment().checks["integration crm"]
    assert check.status is status, check.detail
    assert len(http_server.received("/health")) == 1  # one attempt: the report does not retry
    if status is CheckStatus.ERROR:
        assert "500" in check.detail


def test_the_start_up_report_skips_an_integration_without_a_health_path(http_server: HttpFaultServer, integration_at: Configure) -> None:
    integration_at("crm", http_server.url)
    check = InfrastructureService.validate_environment().checks["integration crm"]
    assert check.status is CheckStatus.SKIPPED and "INTEGRATION_CRM_HEALTH_PATH" in check.detail
    assert http_server.received() == []



def test_a_health_path_that_does_not_answer_is_an_error_within_the_timeout(http_server: HttpFaultServer, integration_at: Configure) -> None:
    http_server.script("/health", Reply(delay=30))
    integration_at("crm", http_server.url, HEALTH_PATH="/health", TIMEOUT="1", DEADLINE="10")
    check = InfrastructureService.validate_environment(timeout=9).checks["integration crm"]
    assert check.status is CheckStatus.ERROR and "INTEGRATION_CRM_TIMEOUT" in check.detail, check.detail
    assert check.elapsed_ms < 5000 and len(http_server.received("/health")) == 1  # one TIMEOUT, far from the DEADLINE


def test_a_refused_health_path_is_an_error(integration_at: Configure) -> None:
    integration_at("crm", closed_port_url(), HEALTH_PATH="/health")
    check = InfrastructureService.validate_environment().checks["integration crm"]
    assert check.status is CheckStatus.ERROR and "INTEGRATION_CRM_BASE_URL" in check.detail, check.detail


def test_only_configured_integrations_exist(http_server: HttpFaultServer, integration_at: Configure) -> None:
    integration_at("crm", http_server.url)
    assert InfrastructureService.has_integration("crm") and InfrastructureService.has_integration("CRM")
    assert not InfrastructureService.has_integration("billing")
    with pytest.raises(ConfigurationError, match="INTEGRATION_BILLING_BASE_URL"):
        InfrastructureService.get_http_client("billing")
