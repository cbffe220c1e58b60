"""The ``database`` line of the start-up report."""

from __future__ import annotations

import time

from sqlalchemy import text

from modules.infrastructure.domain.errors import DatabaseError
from modules.infrastructure.domain.health.values import CheckStatus, ComponentCheck
from modules.infrastructure.infrastructure.database.connection_manager import ConnectionManager
from modules.infrastructure.infrastructure.database.migrations import MigrationRunner
from modules.infrastructure.infrastructure.database.routing import PRIMARY


class DatabaseHealthCheck:
    """Round trip to the primary, dialect, pool figures and migrations at head or pending."""

    name = "database"

    def __init__(self, manager: ConnectionManager) -> None:
        self._manager = manager

    def check(self) -> ComponentCheck:
        started = time.perf_counter()
        try:
            with self._manager.get_connection(PRIMARY) as connection:
                connection.execute(text("SELECT 1"))
            latency = (time.perf_counter() - started) * 1000
            engine = self._manager.create_connection_pool()
            migrations = MigrationRunner(engine).status()
        except DatabaseError as exc:
            return ComponentCheck(self.name, CheckStatus.ERROR, f"unreachable: {exc}")
        pool = next((s for s in self._manager.stats() if s.label == PRIMARY), None)
        pool_text = f"pool {pool.checked_out}/{pool.size}+{pool.max_overflow} in use" if pool else "pool n/a"
        if migrations.at_head:
            state, schema = CheckStatus.OK, "migrations at head"
        else:
            state, schema = CheckStatus.DEGRADED, f"{migrations.pending} migration(s) pending"
        detail = f"{engine.dialect.name} reachable in {latency:.1f} ms, {pool_text}, {schema}"
        return ComponentCheck(self.name, state, detail)
