"""The caller's metadata of a file: a few short text pairs every backend can keep (S3 allows 2 KB in all)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from modules.infrastructure.domain.errors import StorageError

MAX_ENTRIES = 32
MAX_TOTAL = 2048  # bytes of names and values together, S3's limit for user metadata
_NAME = re.compile(r"[a-z0-9][a-z0-9_\-]{0,63}")


def check_metadata(metadata: object) -> dict[str, str]:
    """``metadata`` as a plain dict, or ``StorageError`` naming the entry that cannot be kept."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise StorageError(f"A file's metadata is a mapping of names to text, not {type(metadata).__name__}")
    if len(metadata) > MAX_ENTRIES:
        raise StorageError(f"A file's metadata has {len(metadata)} entries; at most {MAX_ENTRIES}")
    checked: dict[str, str] = {}
    for name, value in metadata.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise StorageError(f"Metadata name {str(name)[:40]!r} must be 1 to 64 lower-case letters, digits, '_' or '-'")
        if not isinstance(value, str) or not value.isprintable():
            raise StorageError(f"Metadata {name!r} must be printable text (no line breaks or control characters), not {type(value).__name__}")
        checked[name] = value
    total = sum(len(n.encode()) + len(v.encode()) for n, v in checked.items())
    if total > MAX_TOTAL:
        raise StorageError(f"A file's metadata is {total:,} bytes of UTF-8; at most {MAX_TOTAL:,} in all")
    return checked
