"""The ``database`` line of the start-up report, and of the readiness probe."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import text

from modules.infrastructure.domain.database.values import PRIMARY, replica_labels
from modules.infrastructure.domain.errors import ConfigurationError, DatabaseError
from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck
from modules.infrastructure.infrastructure.database.database import Database


class DatabaseHealthCheck:
    """Round trip to the primary, dialect, pool figures, migrations at head or pending, and each replica's round trip."""

    name = "database"

    def __init__(self, database: Callable[[], Database]) -> None:
        self._database = database

    def check(self) -> ComponentCheck:
        database = self._database()
        started = time.perf_counter()
        try:
            with database.engines.get_connection(PRIMARY) as connection:
                connection.execute(text("SELECT 1"))
            latency = (time.perf_counter() - started) * 1000
            dialect = database.engines.create_connection_pool().dialect.name
            migrations = database.migration_status()
        except ConfigurationError as exc:
            return ComponentCheck(self.name, CheckStatus.ERROR, str(exc))
        except DatabaseError as exc:
            return ComponentCheck(self.name, CheckStatus.ERROR, f"unreachable: {exc}")
        pool_text = _pool_text(database)
        if migrations.at_head:
            state, schema = CheckStatus.OK, "migrations at head"
        else:
            state, schema = CheckStatus.DEGRADED, f"{migrations.pending} migration(s) pending"
        detail = f"{dialect} reachable in {latency:.1f} ms, {pool_text}, {schema}"
        replicas, unusable = _replicas(database)
        if replicas:
            detail += f", replicas {len(replicas) - len(unusable)}/{len(replicas)} reachable"
        if unusable:
            state = CheckStatus.DEGRADED  # read-only sessions fall back to the primary meanwhile
            detail += "".join(f"; {problem}" for problem in unusable)
        return ComponentCheck(self.name, state, detail)


class DatabaseReadinessCheck:
    """The readiness probe's line: a round trip to the primary on a connection of its own within ``timeout``, so a
    pool whose connections are all in use is busy, not unready; migrations and replicas (never more than degraded)
    are the start-up report's."""

    name = "database"

    def __init__(self, database: Callable[[], Database], timeout: float) -> None:
        self._database = database
        self._timeout = timeout

    def check(self) -> ComponentCheck:
        database = self._database()
        try:
            latency = database.probe(self._timeout)
        except ConfigurationError as exc:
            return ComponentCheck(self.name, CheckStatus.ERROR, str(exc))
        except DatabaseError as exc:
            return ComponentCheck(self.name, CheckStatus.ERROR, f"unreachable: {exc}")
        return ComponentCheck(self.name, CheckStatus.OK, f"reachable in {latency:.1f} ms on a connection of its own, {_pool_text(database)}")


def _pool_text(database: Database) -> str:
    pool = next((s for s in database.stats() if s.label == PRIMARY), None)
    return f"pool {pool.checked_out}/{pool.size}+{pool.max_overflow} in use" if pool else "pool n/a"


def _replicas(database: Database) -> tuple[list[str], list[str]]:
    """Every replica label, and a line for each one that does not answer a round trip (or cannot be built)."""
    labels = replica_labels(database.config.replica_urls)
    unusable = []
    for label in labels:
        try:
            with database.engines.get_connection(label) as connection:
                connection.execute(text("SELECT 1"))
        except (ConfigurationError, DatabaseError) as exc:
            unusable.append(f"{label} unusable, read-only sessions use the primary: {exc}")
    return labels, unusable
