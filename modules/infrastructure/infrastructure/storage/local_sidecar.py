"""The metadata sidecar of a stored file: ``.meta-<hash of the file's name>.json`` beside the data file.

It holds what cannot be read back from the data file cheaply (SHA-256, detected content type, the caller's
metadata, when it was saved) plus the data file's inode, which tells whether the two belong together: a
crash between the two renames of a save leaves a sidecar that does not match, and it is then ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modules.infrastructure.domain.storage.content_types import SNIFF_BYTES, detect
from modules.infrastructure.domain.storage.upload import UploadFacts
from modules.infrastructure.domain.storage.values import StoredFile
from modules.infrastructure.infrastructure.storage.local_files import read_small

VERSION = 1


def sidecar_bytes(key: str, facts: UploadFacts, metadata: Mapping[str, str], created_at: datetime, inode: int) -> bytes:
    """The sidecar's JSON (UTF-8, non-ASCII kept as is); the key is there for a person reading the folder."""
    document = {
        "v": VERSION,
        "key": key,
        "size": facts.size,
        "sha256": facts.sha256,
        "content_type": facts.content_type,
        "created_at": created_at.isoformat(),
        "metadata": dict(metadata),
        "inode": inode,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def sidecar_facts(namespace: str, key: str, meta_path: Path, status: os.stat_result) -> StoredFile | None:
    """The facts of the data file whose ``fstat`` is ``status`` from its sidecar; None when the sidecar is
    missing or belongs to another file (a save between its two renames, or one interrupted there)."""
    document = _sidecar(meta_path)
    if document is None or document.get("inode") != status.st_ino or document.get("size") != status.st_size:
        return None
    return StoredFile(
        namespace, key, status.st_size, str(document["sha256"]), str(document["content_type"]),
        datetime.fromisoformat(str(document["created_at"])), dict(document.get("metadata") or {}),
    )


def measured_facts(namespace: str, key: str, descriptor: int, status: os.stat_result) -> StoredFile:
    """The facts of the open data file read from its bytes (``pread``, the descriptor's offset unmoved); no metadata."""
    digest, offset = hashlib.sha256(), 0
    head = os.pread(descriptor, SNIFF_BYTES, 0)
    while chunk := os.pread(descriptor, 1024 * 1024, offset):
        digest.update(chunk)
        offset += len(chunk)
    created = datetime.fromtimestamp(status.st_mtime, UTC)
    return StoredFile(namespace, key, offset, digest.hexdigest(), detect(head), created, {})


def _sidecar(meta_path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(read_small(meta_path))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and document.get("v") == VERSION else None
