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
    return local_disk_backend(config, production)


def local_disk_backend(config: StorageConfig, production: bool) -> StorageBackend:
    """The local-disk backend for ``config.url`` (a folder or ``file:///abs``)."""
    from modules.infrastructure.infrastructure.storage.local_disk import LocalDiskBackend
    from modules.infrastructure.infrastructure.storage.local_paths import local_root

    secret = None if config.url_secret is None else config.url_secret.reveal()
    return LocalDiskBackend(
        local_root(config.url), url_base=config.url_base, url_secret=secret, production=production, temp_max_age=config.temp_max_age
    )
