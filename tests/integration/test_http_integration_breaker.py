"""The HTTP integration client's circuit breaker against a scripted server on 127.0.0.1, through the facade:
it opens, fails fast, lets one trial through after the cool-down, and its metric (read at each scrape) follows."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from modules.infrastructure.infrastructure.integrations.http_client import HttpClient
from modules.infrastructure.module_api import (
    InfrastructureService,
    IntegrationCircuitOpenError,
    IntegrationClientError,
    IntegrationServerError,
)
from tests.integration.http_fault_server import HttpFaultServer, Reply
from tests.metrics_support import sample

pytestmark = pytest.mark.usefixtures("clean_env")

COOLDOWN = 0.5


def breaker_open() -> float | None:
    return sample("infrastructure_integration_breaker_open", integration="crm")


def opened(server: HttpFaultServer, integration_at: Callable[..., None], *then: Reply) -> HttpClient:
    """The client of ``crm`` whose breaker two 503s opened; ``then`` are the server's next answers."""
    server.script("/orders", Reply(503), Reply(503), *then)
    integration_at("crm", server.url, BREAKER_THRESHOLD="2", BREAKER_COOLDOWN=str(COOLDOWN), RETRIES="0")
    client = InfrastructureService.get_http_client("crm")
    for _ in range(2):
        with pytest.raises(IntegrationServerError):
            client.get("/orders")
    return client


def test_the_breaker_opens_fails_fast_and_closes_after_a_successful_trial(http_server: HttpFaultServer, integration_at: Callable[..., None]) -> None:
    client = opened(http_server, integration_at, Reply(200))
    with pytest.raises(IntegrationCircuitOpenError, match="INTEGRATION_CRM_BREAKER_COOLDOWN"):
        client.get("/orders")  # at once: reading the metrics first may take longer than the cool-down
    assert len(http_server.received()) == 2  # failed fast: the server never saw it
    assert breaker_open() == 1
    time.sleep(COOLDOWN + 0.1)
    assert client.get("/orders").status == 200  # the trial call of the half-open breaker
    assert breaker_open() == 0 and len(http_server.received()) == 3
    assert client.get("/orders").status == 200  # closed again: calls go through


def test_an_open_breaker_shows_closed_once_its_cool_down_ends_without_another_call(http_server: HttpFaultServer, integration_at: Callable[..., None]) -> None:
    opened(http_server, integration_at, Reply(200))
    assert breaker_open() == 1
    time.sleep(COOLDOWN + 0.1)
    assert breaker_open() == 0 and len(http_server.received()) == 2  # read at the scrape: the next call is let through


def test_a_failed_trial_opens_the_breaker_again(http_server: HttpFaultServer, integration_at: Callable[..., None]) -> None:
    client = opened(http_server, integration_at, Reply(503))
    time.sleep(COOLDOWN + 0.1)
    with pytest.raises(IntegrationServerError):
        client.get("/orders")  # the trial, which fails
    with pytest.raises(IntegrationCircuitOpenError):
        client.get("/orders")
    assert len(http_server.received()) == 3 and breaker_open() == 1


def test_while_the_trial_call_runs_other_calls_fail_fast(http_server: HttpFaultServer, integration_at: Callable[..., None]) -> None:
    client = opened(http_server, integration_at, Reply(200, delay=0.5))
    time.sleep(COOLDOWN + 0.1)
    trial = threading.Thread(target=client.get, args=("/orders",))
    trial.start()
    while len(http_server.received()) < 3:
        time.sleep(0.01)
    with pytest.raises(IntegrationCircuitOpenError):
        client.get("/orders")  # one trial at a time
    trial.join(5)
    assert len(http_server.received()) == 3 and breaker_open() == 0


def test_a_trial_answered_with_a_404_closes_the_breaker(http_server: HttpFaultServer, integration_at: Callable[..., None]) -> None:
    client = opened(http_server, integration_at, Reply(404), Reply(200))
    time.sleep(COOLDOWN + 0.1)
    with pytest.raises(IntegrationClientError):
        client.get("/orders")  # the trial: the service is up and answers, though not with what was asked
    assert breaker_open() == 0
    assert client.get("/orders").status == 200  # not failed fast for another cool-down
