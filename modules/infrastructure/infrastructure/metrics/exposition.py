"""``MetricsExposition``: the text Prometheus scrapes, with pool, outbox, cache and breaker figures read at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.metrics_core import Metric
from sqlalchemy.orm import Session

from modules.infrastructure.domain.cache.ports import Cache
from modules.infrastructure.domain.database.values import PRIMARY, PoolStats
from modules.infrastructure.domain.errors import DatabasePoolExhaustedError
from modules.infrastructure.domain.llm.providers import LLMProviders
from modules.infrastructure.infrastructure.database.database import Database
from modules.infrastructure.infrastructure.messaging import outbox
from modules.infrastructure.infrastructure.messaging.module_events import ModuleEvents
from modules.infrastructure.infrastructure.metrics.collectors import (
    OLDEST_PENDING,
    BreakerCollector,
    CacheCollector,
    ListenerCollector,
    OutboxCollector,
    PoolCollector,
    integration_breakers,
    llm_breakers,
)
from modules.infrastructure.infrastructure.metrics.process_figures import process_figures
from modules.infrastructure.infrastructure.metrics.registry import InfrastructureMetrics
from modules.infrastructure.infrastructure.metrics.trace_collector import TraceExportCollector

if TYPE_CHECKING:  # httpx2 is imported only where integrations are used
    from modules.infrastructure.infrastructure.integrations.clients import HttpClients


class MetricsExposition:
    """The metric families observed on the hot path, then figures the collectors read when asked.

    The collectors sit on a registry of their own, so an override that rebuilds the database or
    the cache gets its own collectors while the counters stay the process's.
    """

    def __init__(
        self,
        metrics: InfrastructureMetrics,
        database: Database,
        cache: Cache,
        listeners: ModuleEvents,
        trace_exports: Callable[[], Mapping[str, int]] = dict,
        multiprocess_dir: str | None = None,
        llm_providers: Callable[[], LLMProviders | None] = lambda: None,
        http_clients: Callable[[], HttpClients | None] = lambda: None,
    ) -> None:
        """``multiprocess_dir``: every worker's files there, merged, instead of this process's registry; each worker's
        pools, cache counts and breakers are in them too (``ProcessFigures``), the database-wide figures are read here
        once. ``trace_exports``: this process's span export counts. ``llm_providers`` and ``http_clients`` answer the
        ones in use now, or ``None`` before they are built."""
        self._scraped = CollectorRegistry()
        self._own_figures = None if multiprocess_dir is None else process_figures()
        if multiprocess_dir is None:
            self._families = metrics.registry
            # Pools first, so their figures are the application's, not those of the outbox count's own connection.
            self._scraped.register(PoolCollector(database.stats, metrics.label))
            self._scraped.register(CacheCollector(cache.stats))
            self._scraped.register(TraceExportCollector(trace_exports))  # several workers: each counts in its files
            self._scraped.register(BreakerCollector("llm", lambda: llm_breakers(llm_providers()), metrics.label))
            self._scraped.register(BreakerCollector("integration", lambda: integration_breakers(http_clients()), metrics.label))
        else:
            self._families = CollectorRegistry()
            MultiProcessCollector(self._families, path=multiprocess_dir)  # type: ignore[no-untyped-call]  # no hints in the library
        self._scraped.register(OutboxCollector(lambda: outbox_counts(database)))
        self._scraped.register(ListenerCollector(lambda: listeners.statuses(lambda: _plain_session(database)), metrics.listener_label))

    def collect(self) -> Iterator[Metric]:
        """Every family, the hot path's then the ones read now: what a prometheus_client application serves."""
        self._copy_own_figures()
        yield from self._families.collect()
        yield from self._scraped.collect()

    def text(self) -> str:
        """The Prometheus text exposition (format 0.0.4) of every metric."""
        self._copy_own_figures()
        return (generate_latest(self._families) + generate_latest(self._scraped)).decode("utf-8")

    def _copy_own_figures(self) -> None:
        """Several workers: this process's pools and cache into its files as they are now, not as a second ago."""
        if self._own_figures is not None:
            self._own_figures.copy()


def outbox_counts(database: Database) -> dict[str, float]:
    """Outbox rows per status and the oldest pending event's age, on a plain pooled connection: a scrape neither
    starts a relay nor shows up in the session histogram it is reading."""
    with _plain_session(database) as session:
        return {**outbox.counts(session), OLDEST_PENDING: outbox.oldest_pending_age(session)}


@contextmanager
def _plain_session(database: Database) -> Iterator[Session]:
    engines = database.engines
    if any(_exhausted(pool) for pool in engines.stats() if pool.label == PRIMARY):
        # Waiting DB_POOL_TIMEOUT for a connection would fail the whole scrape just when it matters.
        raise DatabasePoolExhaustedError("every connection of the primary pool is in use; the figures are read at a later scrape")
    with engines.errors(), engines.get_connection() as connection, Session(connection) as session:
        yield session


def _exhausted(pool: PoolStats) -> bool:
    return pool.checked_in == 0 and pool.checked_out >= pool.size + pool.max_overflow
