"""Repository filters, sorting, counted pages, cursor pages, get_one, bulk writes and bad input on the real PostgreSQL,
in a scratch database (the tests of tests/repository_queries.py and tests/repository_bulk.py, also run on SQLite in
tests/service)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.postgres_scratch import scratch_database, use_postgres
from tests.repository_bulk import BulkWriteTests, create_gadgets
from tests.repository_queries import ROWS, RepositoryQueryTests, create_products


@pytest.fixture(scope="module")
def products_database(postgres_url: str) -> Iterator[str]:
    with scratch_database(postgres_url, "infra_queries") as url:
        yield url


class TestRepositoryQueriesOnPostgres(RepositoryQueryTests):
    @pytest.fixture(autouse=True)
    def products(self, clean_env: Path, monkeypatch: pytest.MonkeyPatch, products_database: str) -> Iterator[None]:
        use_postgres(monkeypatch, products_database)
        create_products(ROWS)
        yield


class TestRepositoryBulkOnPostgres(BulkWriteTests):
    @pytest.fixture(autouse=True)
    def empty_gadgets_table(self, clean_env: Path, monkeypatch: pytest.MonkeyPatch, products_database: str) -> None:
        use_postgres(monkeypatch, products_database)
        create_gadgets()
