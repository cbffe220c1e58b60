"""The storage contract against the S3 backend on a private S3-compatible server (moto), a bucket per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modules.infrastructure.domain.storage.ports import StorageBackend
from tests.contracts.storage_contract import StorageContract
from tests.integration.private_s3 import PrivateS3
from tests.integration.s3_backends import s3_storage


class TestS3Storage(StorageContract):
    keys_are_paths = False
    @pytest.fixture
    def backend(self, private_s3: PrivateS3) -> Iterator[StorageBackend]:
        storage = s3_storage(private_s3)
        try:
            yield storage
        finally:
            storage.close()
