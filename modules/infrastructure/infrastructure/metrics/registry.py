"""``InfrastructureMetrics``: the metric families of the module, on a registry of their own.

A registry per bootstrapped set (not prometheus_client's process-global ``REGISTRY``) so that
``InfrastructureService.reset()`` starts from zero and tests do not see each other's figures.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from modules.infrastructure.infrastructure.metrics.labels import LabelGuard
from modules.infrastructure.infrastructure.metrics.sibling_families import SiblingFamilies

IntegrationSeries = tuple[Counter, Histogram, Gauge]  # calls, seconds, breaker open

PREFIX = "infrastructure"
LLM_LABELS = ("provider", "model", "module")
SESSION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LLM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)


class InfrastructureMetrics:
    """Counters and histograms observed on the hot path (scrape-time figures are ``MetricsExposition``'s)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.label = LabelGuard()  # engines, providers, models, outcomes: bounded by the configuration and code
        self.module_label = LabelGuard()  # caller-supplied module names: a budget of their own
        self.listener_label = LabelGuard()  # listener identities: registered in code, bounded like module names
        self.siblings = SiblingFamilies(self.registry)  # the families sibling modules declare (get_metrics)
        r = self.registry
        self.session_seconds = Histogram(
            f"{PREFIX}_db_session_duration_seconds", "Time a database session held its connection, open to close",
            ["engine"], registry=r, buckets=SESSION_BUCKETS,
        )
        self.llm_calls = Counter(f"{PREFIX}_llm_calls", "LLM calls by outcome (ok or the error class)", [*LLM_LABELS, "outcome"], registry=r)
        self.llm_attempts = Counter(f"{PREFIX}_llm_attempts", "Requests sent to LLM providers, retries included", LLM_LABELS, registry=r)
        self.llm_tokens = Counter(f"{PREFIX}_llm_tokens", "Tokens used at LLM providers (cache hits excluded)", [*LLM_LABELS, "kind"], registry=r)
        self.llm_cost = Counter(f"{PREFIX}_llm_cost_usd", "Cost of LLM calls in USD, from the price table", LLM_LABELS, registry=r)
        self.llm_unpriced = Counter(f"{PREFIX}_llm_unpriced_calls", "Answered LLM calls of a model without a price", LLM_LABELS, registry=r)
        self.llm_cache_hits = Counter(f"{PREFIX}_llm_cache_hits", "LLM calls answered from the cache", LLM_LABELS, registry=r)
        self.llm_seconds = Histogram(
            f"{PREFIX}_llm_latency_seconds", "Latency of LLM calls that reached a provider (cache hits excluded)",
            LLM_LABELS, registry=r, buckets=LLM_BUCKETS,
        )
        self.events_stored = Counter(f"{PREFIX}_outbox_events_added", "Events publish_event added to the outbox (counted at commit)", registry=r)
        self.publishes = Counter(
            f"{PREFIX}_messaging_publishes", "Events the relay handled by outcome: confirmed, refused, malformed or error",
            ["outcome"], registry=r,
        )
        self.publishes.labels(outcome="confirmed")  # at 0 from the start: "none confirmed" is a series an alert can read

        self.storage_operations = Counter(
            f"{PREFIX}_storage_operations", "File storage operations by namespace, operation and outcome (ok or the error class)",
            ["namespace", "operation", "outcome"], registry=r,
        )
        self.storage_bytes = Counter(f"{PREFIX}_storage_bytes", "Bytes saved and read by namespace", ["namespace", "operation"], registry=r)
        self.storage_seconds = Histogram(
            f"{PREFIX}_storage_operation_seconds", "Time of file storage operations (a read: until its last chunk)",
            ["operation"], registry=r, buckets=SESSION_BUCKETS,
        )
        self.integration_calls = Counter(
            f"{PREFIX}_integration_calls", "Calls to outside services by integration, method and outcome (ok or the error class)",
            ["integration", "method", "outcome"], registry=r,
        )
        self.integration_retries = Counter(
            f"{PREFIX}_integration_retries", "Requests sent again after a failure worth retrying", ["integration", "method"], registry=r,
        )
        self.integration_seconds = Histogram(
            f"{PREFIX}_integration_call_seconds", "Time of calls to outside services, retries and waits included",
            ["integration", "method"], registry=r, buckets=SESSION_BUCKETS,
        )
        self.integration_breaker_open = Gauge(
            f"{PREFIX}_integration_breaker_open", "1 while an integration's circuit breaker is open (calls fail fast), else 0",
            ["integration"], registry=r, multiprocess_mode="livemax",  # several workers: 1 while open in any live one
        )
        self._integration_cache: dict[tuple[str, str, str], IntegrationSeries] = {}
        self.listener_outcomes = Counter(
            f"{PREFIX}_listener_deliveries", "Listener attempts by outcome: completed, retry, failed, skipped (already settled)",
            ["listener", "outcome"], registry=r,
        )

    def storage_operation(self, namespace: str, operation: str, outcome: str, seconds: float, size: int = 0) -> None:
        """Count one storage ``operation`` of ``namespace`` that ended as ``outcome``, its time and the bytes it moved."""
        module = self.module_label(namespace)
        self.storage_operations.labels(namespace=module, operation=operation, outcome=outcome).inc()
        self.storage_seconds.labels(operation=operation).observe(seconds)
        if size:
            self.storage_bytes.labels(namespace=module, operation=operation).inc(size)

    def integration_call(self, integration: str, method: str, outcome: str, seconds: float, attempts: int, breaker_open: bool) -> None:
        """Count one call to ``integration`` that ended as ``outcome`` after ``attempts`` requests, and its breaker's state."""
        calls, call_seconds, breaker = self._integration_series(integration, method, outcome)
        calls.inc()
        if attempts > 1:  # looked up only then: a labelled series is shown (at 0) from its first lookup on
            self.integration_retries.labels(integration=self.label(integration), method=method).inc(attempts - 1)
        call_seconds.observe(seconds)
        breaker.set(1 if breaker_open else 0)

    def _integration_series(self, integration: str, method: str, outcome: str) -> IntegrationSeries:
        """The labelled series of one (integration, method, outcome), looked up once, not on every call.

        Bounded: integrations are the configured ones, methods and outcomes (error classes) are fixed in code."""
        key = (integration, method, outcome)
        series = self._integration_cache.get(key)
        if series is None:
            name = self.label(integration)  # the guard maps a value the same way every time, so caching its answer is safe
            series = (
                self.integration_calls.labels(integration=name, method=method, outcome=outcome),
                self.integration_seconds.labels(integration=name, method=method),
                self.integration_breaker_open.labels(integration=name),
            )
            self._integration_cache[key] = series
        return series

    def listener_outcome(self, listener: str, outcome: str) -> None:
        """Count one attempt of ``listener`` that ended as ``outcome``."""
        self.listener_outcomes.labels(listener=self.listener_label(listener), outcome=outcome).inc()

    def session_observer(self, engine: str) -> Callable[[float], None]:
        """The function a session of ``engine`` calls with its duration in seconds when it closes."""
        return self.session_seconds.labels(engine=self.label(engine)).observe

    def published(self, outcome: str, events: int) -> None:
        """Count ``events`` the relay handled that ended as ``outcome`` (confirmed, refused, malformed, error)."""
        self.publishes.labels(outcome=outcome).inc(events)
