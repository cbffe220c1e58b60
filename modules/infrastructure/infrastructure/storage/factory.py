"""Builds the storage backend ``STORAGE_URL`` names: a folder on the local disk, or an S3-compatible bucket."""

from __future__ import annotations

from modules.infrastructure.domain.config.values import StorageConfig
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.domain.storage.ports import StorageBackend


def build_storage_backend(config: StorageConfig, redactor: Redactor, production: bool) -> StorageBackend:
    """The backend for ``config.url``; nothing is touched (no folder made, no connection) until first use."""
    if config.is_s3:
        from modules.infrastructure.infrastructure.storage.s3_backend import S3Storage

        return S3Storage(config, redactor)
    from modules.infrastructure.infrastructure.storage.local_disk import LocalDiskStorage

    return LocalDiskStorage(config, production=production)
