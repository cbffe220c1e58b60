"""The port every storage backend implements: whole objects under full keys (``<namespace>/<key>``).

Keys reaching a backend are already checked (``keys.check_key``) and prefixed with the namespace; sizes,
hashes and content types are computed by the caller while the bytes stream (``upload.CheckedUpload``),
so a backend only moves bytes and keeps the facts it is given.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Protocol

from modules.infrastructure.domain.lifecycle import Resource
from modules.infrastructure.domain.storage.upload import CheckedUpload
from modules.infrastructure.domain.storage.values import FilePage, StorageStats, StoredFile


class StorageBackend(Resource, Protocol):
    """Local disk, S3-compatible object storage, or the in-memory fake."""

    kind: str  # "local", "s3", "memory": for the start-up report and metrics

    def save(self, namespace: str, key: str, upload: CheckedUpload, metadata: Mapping[str, str]) -> StoredFile:
        """Read ``upload`` to its end and store it under ``key`` atomically, with ``metadata`` (the caller's
        text pairs, already checked) and ``upload.facts()``: readers see the old file or the whole new one,
        never part of it. When reading ``upload`` raises (too large, type not allowed, the caller's stream
        failed), nothing is left behind and the exception propagates."""
        ...

    def open(self, namespace: str, key: str, chunk_size: int) -> Iterator[bytes]:
        """The file's bytes in chunks of at most ``chunk_size``, in constant memory; ``StoredFileNotFoundError``."""
        ...

    def info(self, namespace: str, key: str) -> StoredFile:
        """The file's facts; ``StoredFileNotFoundError`` when there is none."""
        ...

    def exists(self, namespace: str, key: str) -> bool:
        ...

    def delete(self, namespace: str, key: str) -> bool:
        """Remove the file; False when there was none."""
        ...

    def list(self, namespace: str, prefix: str, limit: int, cursor: str | None) -> FilePage:
        """Files whose key starts with ``prefix``, in key order, at most ``limit``, after ``cursor``."""
        ...

    def download_url(self, namespace: str, key: str, expires_at: datetime) -> str:
        """A URL that fetches the file until ``expires_at`` (local: a signed token; S3: presigned)."""
        ...

    def stats(self) -> StorageStats:
        ...

    def describe(self) -> str:
        """Where the files are, for the start-up report; no credential."""
        ...

    def check(self) -> str:
        """Raise ``StorageError`` when the store is not usable (not writable, bucket unreachable); else a
        short status (free space, bucket) for the start-up report."""
        ...
