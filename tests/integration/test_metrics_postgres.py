"""Pool and session metrics of a real PostgreSQL engine, read back from ``metrics_text()``."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import InfrastructureService
from tests.integration.postgres_scratch import use_postgres
from tests.metrics_support import sample


def test_pool_gauges_count_connections_in_use_and_overflow(clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> None:
    use_postgres(monkeypatch, postgres_url, DB_POOL_SIZE="2", DB_MAX_OVERFLOW="2")
    with ExitStack() as stack:
        for _ in range(3):
            stack.enter_context(InfrastructureService.get_database_session()).execute(text("SELECT 1"))
        during = InfrastructureService.metrics_text()
    assert sample("infrastructure_db_pool_checked_out", during, engine="primary") == 3
    assert sample("infrastructure_db_pool_size", during, engine="primary") == 2
    assert sample("infrastructure_db_pool_overflow", during, engine="primary") == 1
    assert sample("infrastructure_db_pool_checked_out", engine="primary") == 0
    assert sample("infrastructure_db_pool_checked_in", engine="primary") == 2
    assert sample("infrastructure_db_session_duration_seconds_count", engine="primary") == 3
