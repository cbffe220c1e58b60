"""Builds the container's ``metrics`` component: the metric families plus the scrape-time collectors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from modules.infrastructure.domain.database.values import PoolStats
from modules.infrastructure.domain.errors import DatabasePoolExhaustedError
from modules.infrastructure.infrastructure.database.routing import PRIMARY
from modules.infrastructure.infrastructure.messaging import outbox
from modules.infrastructure.infrastructure.metrics.collectors import CacheCollector, OutboxCollector, PoolCollector
from modules.infrastructure.infrastructure.metrics.registry import InfrastructureMetrics

if TYPE_CHECKING:
    from modules.infrastructure.infrastructure.container import Container


def build_metrics(container: Container) -> InfrastructureMetrics:
    """Collectors read the container's components at scrape time; nothing is built or connected here."""
    metrics = InfrastructureMetrics()
    # Pools first, so their figures are the application's, not those of the outbox count's own connection.
    metrics.register(PoolCollector(lambda: container.database_manager.stats(), metrics.label))
    metrics.register(OutboxCollector(lambda: outbox_counts(container)))
    metrics.register(CacheCollector(lambda: container.cache.stats()))
    return metrics


def outbox_counts(container: Container) -> dict[str, int]:
    """Outbox rows per status on a plain pooled connection: a scrape neither starts a relay (as building
    messaging may) nor shows up in the session histogram it is reading."""
    manager = container.database_manager
    if any(_exhausted(pool) for pool in manager.stats() if pool.label == PRIMARY):
        # Waiting DB_POOL_TIMEOUT for a connection would fail the whole scrape just when it matters.
        raise DatabasePoolExhaustedError("every connection of the primary pool is in use; the outbox is counted at a later scrape")
    with manager.get_connection() as connection, Session(connection) as session:
        try:
            return outbox.counts(session)
        except Exception as exc:
            raise manager.error_mapper()(exc) from exc


def _exhausted(pool: PoolStats) -> bool:
    return pool.checked_in == 0 and pool.checked_out >= pool.size + pool.max_overflow
