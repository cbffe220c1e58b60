"""A real Prometheus scrapes the metrics server: the module's series and a sibling's arrive, and a rule fires on them."""

from __future__ import annotations

from pathlib import Path

from modules.infrastructure.module_api import InfrastructureService
from modules.infrastructure.module_api.testing import fake_infrastructure
from scripts.metrics_server import start_in_thread
from tests.integration.private_prometheus import PrivatePrometheus

RULES = Path(__file__).resolve().parents[2] / "modules" / "infrastructure" / "alerts" / "infrastructure.rules.yml"
FIRING_TEST_RULE = """
groups:
  - name: test
    rules:
      - alert: SiblingCountedSomething
        expr: sum by (module) (invoices_sent_total) > 0
        labels: {severity: info}
        annotations: {summary: "{{ $labels.module }} counted"}
"""


def test_prometheus_scrapes_the_module_and_a_sibling_and_fires_an_alert(tmp_path: Path) -> None:
    test_rule = tmp_path / "test.rules.yml"
    test_rule.write_text(FIRING_TEST_RULE)
    with fake_infrastructure():
        InfrastructureService.get_cache("lessons").get("missing")
        InfrastructureService.get_metrics("billing").counter("invoices_sent", "Invoices sent", labels=("channel",)).inc(3, channel="email")
        server = start_in_thread(port=0)
        try:
            with PrivatePrometheus(tmp_path, [f"127.0.0.1:{server.server_port}"], [RULES, test_rule]) as prometheus:
                [up] = prometheus.wait_for(lambda: prometheus.query('up{job="app"} == 1'), 30, "a successful scrape")
                misses = prometheus.wait_for(lambda: prometheus.query('infrastructure_cache_misses_total{backend="memory"}'), 30, "the cache series")
                [sent] = prometheus.wait_for(lambda: prometheus.query("invoices_sent_total"), 30, "the sibling's series")
                firing = prometheus.wait_for(
                    lambda: [a for a in prometheus.alerts() if a["labels"]["alertname"] == "SiblingCountedSomething" and a["state"] == "firing"],
                    30, "the test alert to fire",
                )
                loaded = prometheus.rule_groups()
        finally:
            server.shutdown()
            server.server_close()
    assert up["metric"]["instance"] == f"127.0.0.1:{server.server_port}"
    assert {"infrastructure-outbox", "infrastructure-llm", "infrastructure-database-and-cache", "test"} <= set(loaded)  # the shipped rules load
    assert float(misses[0]["value"][1]) == 1.0
    assert sent["metric"]["module"] == "billing" and sent["metric"]["channel"] == "email" and float(sent["value"][1]) == 3.0
    assert firing[0]["labels"]["module"] == "billing" and firing[0]["annotations"]["summary"] == "billing counted"
