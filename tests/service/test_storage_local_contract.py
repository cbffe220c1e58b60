"""The storage contract on the local-disk backend, in a tmp_path folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules.infrastructure.infrastructure.storage.local_disk import LocalDiskBackend
from tests.contracts.storage_contract import StorageContract


class TestLocalDiskStorage(StorageContract):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> LocalDiskBackend:
        return LocalDiskBackend(tmp_path / "store", url_secret="contract-" + "k" * 32)
