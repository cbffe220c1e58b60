"""S3 backends on the private moto server, each in a bucket of its own."""

from __future__ import annotations

import uuid
from typing import Any

from modules.infrastructure.domain.config.values import StorageConfig
from modules.infrastructure.domain.secrets import Secret
from modules.infrastructure.infrastructure.storage.s3_backend import S3Storage
from tests.integration.private_s3 import REGION, PrivateS3


def new_bucket(server: PrivateS3) -> str:
    name = f"files-{uuid.uuid4().hex[:12]}"
    server.create_bucket(name)
    return name


def s3_config(server: PrivateS3, bucket: str, **changes: Any) -> StorageConfig:
    """A storage configuration for ``bucket`` under the prefix ``app/files`` with the server's user."""
    settings: dict[str, Any] = {"url": f"s3://{bucket}/app/files", "endpoint_url": server.endpoint_url, "region": REGION,
                                "access_key_id": server.access_key_id, "secret_access_key": Secret(server.secret_access_key)}
    return StorageConfig(**{**settings, **changes})


def s3_storage(server: PrivateS3, bucket: str | None = None, **options: Any) -> S3Storage:
    """An ``S3Storage`` of a new bucket (or ``bucket``); ``options`` go to its constructor."""
    return S3Storage(s3_config(server, bucket or new_bucket(server)), **options)
