"""Repository bulk writes on SQLite (the same tests run on PostgreSQL in tests/integration/test_repository_queries_postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.repository_bulk import BulkWriteTests, create_gadgets


class TestRepositoryBulkOnSQLite(BulkWriteTests):
    @pytest.fixture(autouse=True)
    def gadgets(self, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        monkeypatch.setenv("DATABASE_URL", "sqlite://")
        create_gadgets()
        yield
