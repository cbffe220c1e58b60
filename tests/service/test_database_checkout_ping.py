"""The checkout ping on a driver without a socket to watch (a SQLite file): every reused connection is pinged,
as SQLAlchemy's pool_pre_ping did; none with DB_POOL_PRE_PING=false."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from modules.infrastructure.infrastructure.database.connection_manager import ConnectionManager
from modules.infrastructure.module_api import DatabaseConfig

SESSIONS = 4


def pings_over_sessions(folder: Path, pre_ping: bool) -> int:
    """How many ``SELECT 1`` pings reach SQLite while SESSIONS sessions run one after another on a pool of one."""
    manager = ConnectionManager(DatabaseConfig(url=f"sqlite:///{folder}/ping.db", pool_size=1, max_overflow=0, pool_pre_ping=pre_ping))
    statements: list[str] = []

    def trace(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    event.listen(manager.create_connection_pool(), "connect", trace)
    try:
        for _ in range(SESSIONS):
            with manager.session() as db:
                db.execute(text("SELECT 2"))
    finally:
        manager.close()
    return sum(statement.strip() == "SELECT 1" for statement in statements)


@pytest.mark.parametrize(("pre_ping", "pings"), [(True, SESSIONS - 1), (False, 0)])
def test_a_connection_without_a_socket_is_pinged_on_every_reuse(tmp_path: Path, pre_ping: bool, pings: int) -> None:
    assert pings_over_sessions(tmp_path, pre_ping) == pings  # the first checkout opens the connection: nothing to ping
