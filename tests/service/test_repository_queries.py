"""Repository filters, sorting, counted pages, cursor pages, get_one and bad input, on SQLite (the same tests run
on PostgreSQL in tests/integration/test_repository_queries_postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.repository_queries import ROWS, RepositoryQueryTests, create_products


class TestRepositoryQueriesOnSQLite(RepositoryQueryTests):
    @pytest.fixture(autouse=True)
    def products(self, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        monkeypatch.setenv("DATABASE_URL", "sqlite://")
        create_products(ROWS)
        yield
