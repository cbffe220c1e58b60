"""The caller's metadata of a file: a few short text pairs every backend can keep, measured as they are
stored: compact JSON, percent-encoded where HTTP headers could not carry it (S3 keeps 2 KB in all)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from urllib.parse import quote

from modules.infrastructure.domain.errors import StorageError

MAX_ENTRIES = 32
MAX_ENCODED = 1920  # bytes of ``encoded``: S3's 2,048 for all user metadata, less a backend's own fields (116)
HEADER_SAFE = "{}[]:,\"'/@!$&()*+;=?^`|<>#"  # kept readable; space, %, control and non-ASCII are encoded
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
            problem = "text with a line break or control character" if isinstance(value, str) else type(value).__name__
            raise StorageError(f"Metadata {name!r} must be printable text (no line breaks or control characters), not {problem}")
        checked[name] = value
    size = len(encoded(checked))
    if size > MAX_ENCODED:
        raise StorageError(
            f"A file's metadata is {size:,} bytes as stored (JSON, with spaces and non-ASCII percent-encoded); "
            f"at most {MAX_ENCODED:,}: shorten it"
        )
    return checked


def encoded(metadata: Mapping[str, str]) -> str:
    """The mapping as one header-safe ASCII text: compact JSON, percent-encoded except readable punctuation,
    so names keep their case, non-ASCII survives HTTP headers and runs of spaces are not folded."""
    return quote(json.dumps(dict(metadata), ensure_ascii=False, separators=(",", ":")), safe=HEADER_SAFE)
