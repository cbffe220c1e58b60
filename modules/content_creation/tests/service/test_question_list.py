"""content_creation's question list on the shipped fakes (in-memory SQLite, migrated)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modules.content_creation.tests.contracts.question_list_contract import QuestionListContract
from modules.infrastructure.module_api.testing import FakeInfrastructure, fake_infrastructure


class TestQuestionListOnTheFakes(QuestionListContract):
    @pytest.fixture(autouse=True)
    def stack(self) -> Iterator[FakeInfrastructure]:
        with fake_infrastructure() as fakes:
            yield fakes
