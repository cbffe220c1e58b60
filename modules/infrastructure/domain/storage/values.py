"""Stored files as the facade returns them: what was saved, a page of a listing, and the statistics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class StoredFile:
    """A file under ``key`` of ``namespace``: its size in bytes, SHA-256 (hex), content type (detected from
    its leading bytes), the caller's metadata and when it was saved (UTC)."""

    namespace: str
    key: str
    size: int
    sha256: str
    content_type: str
    created_at: datetime
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FilePage:
    """One page of a listing in key order; ``next_cursor`` continues it (``None``: the last page)."""

    files: tuple[StoredFile, ...]
    next_cursor: str | None = None


@dataclass(frozen=True)
class StorageStats:
    """Files and bytes stored, in all and per namespace."""

    files: int = 0
    bytes: int = 0
    by_namespace: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # namespace -> (files, bytes)
