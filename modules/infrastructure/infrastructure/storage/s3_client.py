"""Where an S3 storage is (``s3://bucket/prefix``) and the boto3 client for it, configured explicitly:
retries, timeouts, path-style addressing for S3-compatible endpoints, credentials when given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]

from modules.infrastructure.domain.config.values import StorageConfig
from modules.infrastructure.domain.errors import ConfigurationError

CONNECT_TIMEOUT = 5.0  # seconds to open a connection
READ_TIMEOUT = 30.0  # seconds without a byte from the server
MAX_ATTEMPTS = 3  # botocore's "standard" retries: throttling, 5xx and connection errors, with backoff
MAX_POOL = 16  # connections kept open; listings fetch file facts on several threads


@dataclass(frozen=True)
class S3Location:
    """The bucket and the key prefix (no leading or trailing ``/``; may be empty) of ``STORAGE_URL``."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parts = urlsplit(url)
        if parts.scheme != "s3" or len(parts.netloc) < 3 or parts.query or parts.fragment:
            raise ConfigurationError(f"STORAGE_URL for S3 is s3://bucket/prefix (a bucket name of 3+ characters), not {url[:200]!r}")
        return cls(parts.netloc, parts.path.strip("/"))

    def object_key(self, namespace: str, key: str) -> str:
        """``<prefix>/<namespace>/<key>``, the object's key in the bucket."""
        return f"{self.root}{namespace}/{key}"

    @property
    def root(self) -> str:
        """Where every namespace begins: ``<prefix>/`` or ``""``."""
        return f"{self.prefix}/" if self.prefix else ""


def make_client(config: StorageConfig, connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT) -> Any:
    """A boto3 S3 client for ``config``; boto3's own credential chain when no AWS_* key is set."""
    options: dict[str, Any] = {"signature_version": "s3v4", "retries": {"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
                               "connect_timeout": connect_timeout, "read_timeout": read_timeout, "max_pool_connections": MAX_POOL}
    if config.endpoint_url:
        options["s3"] = {"addressing_style": "path"}
    session = boto3.session.Session(
        aws_access_key_id=config.access_key_id or None,
        aws_secret_access_key=config.secret_access_key.reveal() if config.secret_access_key else None,
        aws_session_token=config.session_token.reveal() if config.session_token else None,
        region_name=config.region or None,
    )
    return session.client("s3", endpoint_url=config.endpoint_url or None, config=Config(**options))


def credential_values(config: StorageConfig) -> list[str]:
    """The configured credentials, to be masked in messages (the key id too: S3 echoes it in refusals)."""
    values = [config.access_key_id or ""]
    values += [secret.reveal() for secret in (config.secret_access_key, config.session_token) if secret]
    return [v for v in values if v]
