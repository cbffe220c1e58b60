"""Building the local-disk backend from the configuration (the composition root picks it when STORAGE_URL is a folder)."""

from __future__ import annotations

from modules.infrastructure.domain.config.values import StorageConfig
from modules.infrastructure.infrastructure.storage.local_disk import LocalDiskBackend
from modules.infrastructure.infrastructure.storage.local_paths import local_root


def local_disk_backend(config: StorageConfig, production: bool) -> LocalDiskBackend:
    """The backend for ``config.url`` (a folder or ``file:///abs``)."""
    secret = None if config.url_secret is None else config.url_secret.reveal()
    return LocalDiskBackend(local_root(config.url), url_base=config.url_base, url_secret=secret,
                            production=production, temp_max_age=config.temp_max_age)
