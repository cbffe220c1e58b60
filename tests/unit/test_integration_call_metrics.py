"""``InfrastructureMetrics.integration_call``: every call counted under its own labels, however often the same ones recur."""

from __future__ import annotations

import pytest

from modules.infrastructure.infrastructure.metrics.registry import InfrastructureMetrics

CALLS = "infrastructure_integration_calls_total"
RETRIES = "infrastructure_integration_retries_total"
SECONDS = "infrastructure_integration_call_seconds"


def test_repeated_calls_add_up_in_their_own_series() -> None:
    metrics = InfrastructureMetrics()
    for _ in range(3):
        metrics.integration_call("crm", "GET", "ok", 0.002, 1)
    metrics.integration_call("crm", "POST", "ok", 0.004, 1)
    metrics.integration_call("crm", "GET", "IntegrationServerError", 0.5, 3)
    value = metrics.registry.get_sample_value
    assert value(CALLS, {"integration": "crm", "method": "GET", "outcome": "ok"}) == 3
    assert value(CALLS, {"integration": "crm", "method": "GET", "outcome": "IntegrationServerError"}) == 1
    assert value(CALLS, {"integration": "crm", "method": "POST", "outcome": "ok"}) == 1
    assert value(f"{SECONDS}_count", {"integration": "crm", "method": "GET"}) == 4
    assert value(f"{SECONDS}_sum", {"integration": "crm", "method": "GET"}) == pytest.approx(0.506)
    assert value(RETRIES, {"integration": "crm", "method": "GET"}) == 2


def test_no_retry_series_appears_without_a_retry() -> None:
    metrics = InfrastructureMetrics()
    metrics.integration_call("crm", "GET", "IntegrationCircuitOpenError", 0.0, 0)
    metrics.integration_call("crm", "GET", "ok", 0.001, 1)
    assert metrics.registry.get_sample_value(RETRIES, {"integration": "crm", "method": "GET"}) is None


def test_integrations_past_the_label_budget_share_the_other_series() -> None:
    metrics = InfrastructureMetrics()
    names = [f"service_{n}" for n in range(105)]
    for name in names + names:
        metrics.integration_call(name, "GET", "ok", 0.001, 1)
    value = metrics.registry.get_sample_value
    assert value(CALLS, {"integration": "service_0", "method": "GET", "outcome": "ok"}) == 2
    assert value(CALLS, {"integration": "other", "method": "GET", "outcome": "ok"}) == 2 * (105 - 100)
