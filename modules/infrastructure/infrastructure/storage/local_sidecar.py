"""The metadata sidecar of a stored file: ``.meta-<hash of the file's name>.json`` beside the data file.

It holds what cannot be read back from the data file cheaply (SHA-256, detected content type, the caller's
metadata, when it was saved) plus the data file's inode, which tells whether the two belong together: a
crash between the two renames of a save leaves a sidecar that does not match, and it is then ignored.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modules.infrastructure.domain.storage.content_types import SNIFF_BYTES, detect
from modules.infrastructure.domain.storage.upload import UploadFacts
from modules.infrastructure.domain.storage.values import StoredFile
from modules.infrastructure.infrastructure.storage.local_files import open_for_reading, read_small

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


def stored_file(namespace: str, key: str, data_path: Path, meta_path: Path) -> StoredFile:
    """The facts of the file at ``data_path`` (``FileNotFoundError`` when there is none): from its sidecar when
    the sidecar belongs to it, else measured from the data itself (a save interrupted between its renames)."""
    status = os.stat(data_path, follow_symlinks=False)
    if not stat.S_ISREG(status.st_mode):
        raise IsADirectoryError(errno.EISDIR, "not a regular file", str(data_path))
    document = _sidecar(meta_path)
    if document is not None and document.get("inode") == status.st_ino and document.get("size") == status.st_size:
        return StoredFile(
            namespace, key, status.st_size, str(document["sha256"]), str(document["content_type"]),
            datetime.fromisoformat(str(document["created_at"])), dict(document.get("metadata") or {}),
        )
    return _measured(namespace, key, data_path, status)


def _sidecar(meta_path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(read_small(meta_path))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and document.get("v") == VERSION else None


def _measured(namespace: str, key: str, data_path: Path, status: os.stat_result) -> StoredFile:
    digest = hashlib.sha256()
    with os.fdopen(open_for_reading(data_path), "rb") as file:
        head = file.read(SNIFF_BYTES)
        digest.update(head)
        while chunk := file.read(1024 * 1024):
            digest.update(chunk)
    created = datetime.fromtimestamp(status.st_mtime, UTC)
    return StoredFile(namespace, key, status.st_size, digest.hexdigest(), detect(head), created, {})
