"""Model mixins on SQLite (the same tests run on PostgreSQL in tests/integration/test_model_mixins_postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.model_mixins import ModelMixinTests, create_tables


class TestModelMixinsOnSQLite(ModelMixinTests):
    @pytest.fixture(autouse=True)
    def tables(self, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{clean_env / 'mixins.db'}")
        create_tables()
        yield
