"""Model mixins on the real PostgreSQL, in a scratch database (the tests of tests/model_mixins.py, also run on
SQLite in tests/service)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.postgres_scratch import scratch_database, use_postgres
from tests.model_mixins import ModelMixinTests, create_tables


@pytest.fixture(scope="module")
def mixins_database(postgres_url: str) -> Iterator[str]:
    with scratch_database(postgres_url, "infra_mixins") as url:
        yield url


class TestModelMixinsOnPostgres(ModelMixinTests):
    @pytest.fixture(autouse=True)
    def tables(self, clean_env: Path, monkeypatch: pytest.MonkeyPatch, mixins_database: str) -> Iterator[None]:
        # A session time zone other than UTC (libpq reads PGTZ): values must still come back in UTC.
        monkeypatch.setenv("PGTZ", "America/New_York")
        use_postgres(monkeypatch, mixins_database)
        create_tables()
        yield
