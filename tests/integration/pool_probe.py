"""A small facade pool on PostgreSQL whose connections the checkout-check tests can tell apart by backend pid."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import DatabaseSession, InfrastructureService
from tests.integration.postgres_scratch import unique_name, use_postgres


def backend_pid(db: DatabaseSession) -> int:
    pid: int = db.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return pid


def use_small_pool(monkeypatch: pytest.MonkeyPatch, url: str, size: int, idle_seconds: object, name: str) -> None:
    """Point the facade at ``url`` with a pool of exactly ``size`` and the checkout ping's idle threshold."""
    use_postgres(
        monkeypatch,
        url,
        DB_POOL_SIZE=str(size),
        DB_MAX_OVERFLOW="0",
        DB_POOL_TIMEOUT="10",
        DB_POOL_PRE_PING_IDLE_SECONDS=str(idle_seconds),
        DB_APPLICATION_NAME=unique_name(name),
    )


def fill_the_pool(size: int) -> set[int]:
    """Open ``size`` sessions at once and give them back: the pool holds that many connections, now idle."""
    opened = [InfrastructureService.get_database_session() for _ in range(size)]
    try:
        return {backend_pid(db) for db in opened}
    finally:
        for db in opened:
            db.close()
