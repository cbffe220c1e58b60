"""content_creation's question list on a migrated scratch PostgreSQL database: the same promises as on the fakes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modules.content_creation.tests.contracts.question_list_contract import QuestionListContract
from tests.integration.postgres_scratch import migrated_scratch_facade


class TestQuestionListOnPostgres(QuestionListContract):
    @pytest.fixture(autouse=True)
    def stack(self, clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> Iterator[str]:
        files = str(clean_env / "files")
        with migrated_scratch_facade(monkeypatch, postgres_url, "content_question_list", STORAGE_URL=files) as url:
            yield url
