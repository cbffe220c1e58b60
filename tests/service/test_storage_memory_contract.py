"""The storage contract on the shipped in-memory fake."""

from __future__ import annotations

import pytest

from modules.infrastructure.module_api.testing import MemoryStorage
from tests.contracts.storage_contract import StorageContract


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def backend(self) -> MemoryStorage:
        return MemoryStorage()
