"""Scrape-time collectors: pool, outbox, cache and circuit breaker figures read when Prometheus asks, at no cost in between.

A collector never raises into a scrape: a figure that cannot be read is left out (the outbox also
exports ``infrastructure_outbox_up 0``), and the failure is logged once until it recovers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from modules.infrastructure.domain.cache.ports import CacheStats
from modules.infrastructure.domain.database.values import PoolStats
from modules.infrastructure.domain.llm.providers import LLMProviders
from modules.infrastructure.domain.messaging.publications import ListenerStatus
from modules.infrastructure.domain.policies.breaker import CircuitBreaker
from modules.infrastructure.infrastructure.metrics.registry import PREFIX

if TYPE_CHECKING:  # httpx2 is imported only where integrations are used
    from modules.infrastructure.infrastructure.integrations.clients import HttpClients

logger = logging.getLogger(__name__)
T = TypeVar("T")
Breakers = Iterable[tuple[Sequence[str], CircuitBreaker]]  # each breaker with its label values

POOL_FIGURES = {
    "size": "Connections the pool keeps open",
    "checked_in": "Idle connections in the pool",
    "checked_out": "Connections in use",
    "overflow": "Connections open beyond the pool size",
    "max_overflow": "Connections the pool may open beyond its size (DB_MAX_OVERFLOW)",
}
CACHE_FIGURES = {
    "hits": "Cache reads that found a value",
    "misses": "Cache reads that found nothing",
    "errors": "Cache backend failures (reads count as misses too)",
}

OLDEST_PENDING = "oldest_pending_seconds"  # the outbox figure that is an age, not a count
BREAKER_FAMILIES = {  # infrastructure_<what>_breaker_open: whose breaker, and its labels
    "llm": ("an LLM provider's", ("provider", "model")),
    "integration": ("an integration's", ("integration",)),
}


def breaker_help(what: str) -> str:
    return f"1 while {BREAKER_FAMILIES[what][0]} circuit breaker fails calls fast (it opened and its cool-down is not over), else 0"


def openings_help(what: str) -> str:
    return f"Times {BREAKER_FAMILIES[what][0]} circuit breaker opened, a failed trial call's reopening included"


def llm_breakers(providers: LLMProviders | None) -> Breakers:
    """Each configured provider's breaker, labelled with its provider and model."""
    return [((provider.name, provider.config.model), provider.breaker) for provider in providers or ()]


def integration_breakers(clients: HttpClients | None) -> Breakers:
    """The breaker of each integration whose client was built and not retired by a reload."""
    return [((name,), breaker) for name, breaker in (clients.breakers() if clients is not None else {}).items()]


class _Guarded:
    """Runs a read; on failure logs once (until a read succeeds again) and answers ``None``."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._failing = False

    def read(self, reader: Callable[[], T]) -> T | None:
        try:
            value = reader()
        except Exception as exc:  # a scrape must not fail because one component is down
            if not self._failing:
                logger.warning("Metrics: %s could not be read (%s: %s); left out until it can", self._what, type(exc).__name__, exc)
            self._failing = True
            return None
        self._failing = False
        return value


class PoolCollector(_Guarded):
    """``infrastructure_db_pool_*{engine}`` for every engine built so far."""

    def __init__(self, stats: Callable[[], Sequence[PoolStats]], label: Callable[[str], str]) -> None:
        super().__init__("database pool figures")
        self._stats, self._label = stats, label

    def collect(self) -> Iterator[Metric]:
        pools = self.read(self._stats) or []
        for figure, help_text in POOL_FIGURES.items():
            family = GaugeMetricFamily(f"{PREFIX}_db_pool_{figure}", help_text, labels=["engine"])
            for pool in pools:
                family.add_metric([self._label(pool.label)], getattr(pool, figure))
            yield family


class OutboxCollector(_Guarded):
    """``infrastructure_outbox_events{status="pending"|"failed"}``, ``infrastructure_outbox_oldest_pending_seconds``
    and ``infrastructure_outbox_up``."""

    def __init__(self, counts: Callable[[], dict[str, float]]) -> None:
        super().__init__("outbox counts")
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        counts = self.read(self._counts)
        yield GaugeMetricFamily(f"{PREFIX}_outbox_up", "1 when the outbox could be counted at this scrape", value=int(counts is not None))
        if counts is not None:
            family = GaugeMetricFamily(f"{PREFIX}_outbox_events", "Outbox events waiting (pending) or given up on (failed)", labels=["status"])
            for status in ("pending", "failed"):
                family.add_metric([status], counts.get(status, 0))
            yield family
            age = "Seconds since the oldest pending outbox event was stored (0: none pending)"
            yield GaugeMetricFamily(f"{PREFIX}_outbox_oldest_pending_seconds", age, value=counts.get(OLDEST_PENDING, 0.0))


class CacheCollector(_Guarded):
    """``infrastructure_cache_{hits,misses,errors}_total{backend}`` of the shared cache backend."""

    def __init__(self, stats: Callable[[], CacheStats]) -> None:
        super().__init__("cache figures")
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self.read(self._stats)
        if stats is None:
            return
        for figure, help_text in CACHE_FIGURES.items():
            family = CounterMetricFamily(f"{PREFIX}_cache_{figure}", help_text, labels=["backend"])
            family.add_metric([stats.backend], getattr(stats, figure))
            yield family


class ListenerCollector(_Guarded):
    """``infrastructure_listener_{pending,failed}{listener}`` and ``infrastructure_listener_lag_seconds`` (oldest pending)."""

    def __init__(self, statuses: Callable[[], Sequence[ListenerStatus]], label: Callable[[str], str]) -> None:
        super().__init__("listener publication counts")
        self._statuses, self._label = statuses, label

    def collect(self) -> Iterator[Metric]:
        statuses = self.read(self._statuses)
        if statuses is None:
            return
        figures = (
            ("pending", "Publications waiting for their listener", "pending"),
            ("failed", "Publications whose listener failed its last attempt", "failed"),
            ("lag_seconds", "Age of the oldest pending publication of the listener", "oldest_pending_seconds"),
        )
        for figure, help_text, field in figures:
            family = GaugeMetricFamily(f"{PREFIX}_listener_{figure}", help_text, labels=["listener"])
            for status in statuses:
                family.add_metric([self._label(status.listener)], getattr(status, field))
            yield family


class BreakerCollector(_Guarded):
    """``infrastructure_<what>_breaker_open{labels}``: 1 while a breaker fails calls fast, read from the breakers
    in use at each scrape, so a breaker whose cool-down ended, or whose client is gone, is not shown open; and
    ``infrastructure_<what>_breaker_openings_total``, the times each opened, which no scrape interval can miss."""

    def __init__(self, what: str, breakers: Callable[[], Breakers], label: Callable[[str], str]) -> None:
        """``what``: a key of ``BREAKER_FAMILIES``."""
        super().__init__(f"{what} circuit breakers")
        self._name, self._help, self._labels = f"{PREFIX}_{what}_breaker_open", breaker_help(what), list(BREAKER_FAMILIES[what][1])
        self._openings_name, self._openings_help = f"{PREFIX}_{what}_breaker_openings", openings_help(what)
        self._breakers, self._label = breakers, label

    def collect(self) -> Iterator[Metric]:
        breakers = self.read(self._breakers) or []
        family = GaugeMetricFamily(self._name, self._help, labels=self._labels)
        for key, value in breaker_states(breakers, self._label).items():
            family.add_metric(list(key), value)
        yield family
        openings = CounterMetricFamily(self._openings_name, self._openings_help, labels=self._labels)
        for key, count in breaker_openings(breakers, self._label).items():
            openings.add_metric(list(key), count)
        yield openings


def breaker_states(breakers: Breakers, label: Callable[[str], str]) -> dict[tuple[str, ...], int]:
    """1 or 0 by label values; values the label guard folds together ("other") show once, open if any is."""
    shown: dict[tuple[str, ...], int] = {}
    for values, breaker in breakers:
        key = tuple(label(value) for value in values)
        shown[key] = max(shown.get(key, 0), int(breaker.fails_fast))
    return shown


def breaker_openings(breakers: Breakers, label: Callable[[str], str]) -> dict[tuple[str, ...], int]:
    """Openings by label values; values the label guard folds together add up."""
    counted: dict[tuple[str, ...], int] = {}
    for values, breaker in breakers:
        key = tuple(label(value) for value in values)
        counted[key] = counted.get(key, 0) + breaker.openings
    return counted
