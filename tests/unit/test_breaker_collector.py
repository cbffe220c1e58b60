"""``BreakerCollector``: a breaker's state read at each scrape, so it follows the cool-down without any call."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest
from prometheus_client import CollectorRegistry

from modules.infrastructure.domain.policies.breaker import CircuitBreaker
from modules.infrastructure.infrastructure.metrics.collectors import BreakerCollector, Breakers
from modules.infrastructure.infrastructure.metrics.labels import LabelGuard
from tests.fake_clock import FakeClock

OPEN = "infrastructure_integration_breaker_open"
OPENINGS = "infrastructure_integration_breaker_openings"


def scraped(breakers: Breakers | Exception, label: LabelGuard | None = None) -> CollectorRegistry:
    def read() -> Breakers:
        if isinstance(breakers, Exception):
            raise breakers
        return breakers

    registry = CollectorRegistry()
    registry.register(BreakerCollector("integration", read, label or LabelGuard()))
    return registry


def opened(clock: FakeClock, cooldown: float = 30) -> CircuitBreaker:
    breaker = CircuitBreaker(threshold=1, cooldown=cooldown, clock=clock)
    breaker.record_failure()
    return breaker


def state(registry: CollectorRegistry, name: str = "crm") -> float | None:
    return registry.get_sample_value(OPEN, {"integration": name})


def test_an_open_breaker_shows_closed_once_its_cool_down_ends_without_any_call() -> None:
    clock = FakeClock()
    breaker = opened(clock)
    registry = scraped([(("crm",), breaker)])
    assert state(registry) == 1
    clock.advance(30)
    assert state(registry) == 0  # the next call would go through: nothing fails fast now
    assert breaker.allow()  # the trial call
    assert state(registry) == 1  # the others fail fast while it runs
    breaker.record_success()
    assert state(registry) == 0


def test_a_breaker_that_never_failed_shows_closed_and_the_family_is_there_without_any_breaker() -> None:
    assert state(scraped([(("crm",), CircuitBreaker(5, 30))])) == 0
    families = list(scraped([]).collect())
    assert [(f.name, f.type, f.samples) for f in families] == [(OPEN, "gauge", []), (OPENINGS, "counter", [])]


def test_integrations_the_label_guard_folds_together_show_once_open_if_any_is() -> None:
    clock = FakeClock()
    guard = LabelGuard(limit=1)
    breakers: Sequence[tuple[Sequence[str], CircuitBreaker]] = [
        (("crm",), CircuitBreaker(5, 30)), (("billing",), CircuitBreaker(5, 30)), (("mail",), opened(clock)),
    ]
    registry = scraped(breakers, guard)
    assert state(registry) == 0 and state(registry, "other") == 1
    assert len([s for f in registry.collect() if f.name == OPEN for s in f.samples]) == 2
    assert registry.get_sample_value(f"{OPENINGS}_total", {"integration": "other"}) == 1  # counts add up


def test_breakers_that_cannot_be_read_leave_the_family_empty_and_log_once(caplog: pytest.LogCaptureFixture) -> None:
    registry = scraped(RuntimeError("not yet"))
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            assert [s for f in registry.collect() for s in f.samples] == []
    assert [r.getMessage() for r in caplog.records] == [
        "Metrics: integration circuit breakers could not be read (RuntimeError: not yet); left out until it can"
    ]


def test_every_opening_is_counted_a_failed_trials_reopening_included_and_a_success_ends_the_run() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, cooldown=30, clock=clock)
    registry = scraped([(("crm",), breaker)])

    def openings() -> float | None:
        return registry.get_sample_value(f"{OPENINGS}_total", {"integration": "crm"})

    assert openings() == 0
    breaker.record_failure()
    assert openings() == 0  # below the threshold
    breaker.record_failure()
    breaker.record_failure()  # a call already under way when it opened: the same opening
    assert openings() == 1
    clock.advance(30)
    assert breaker.allow()
    breaker.record_failure()  # the trial failed: open again
    assert openings() == 2
    clock.advance(30)
    assert breaker.allow()
    breaker.record_success()
    breaker.record_failure()  # closed again: one failure is below the threshold
    assert openings() == 2 and state(registry) == 0
