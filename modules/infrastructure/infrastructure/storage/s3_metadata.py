"""A stored file's facts as S3 object metadata (``x-amz-meta-*``), and back.

``sha256`` and ``created-at`` are fields of their own. The caller's metadata is one field, ``meta``: the
mapping as ``metadata.encoded`` writes it, so keys keep their case (S3 lower-cases metadata names).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from modules.infrastructure.domain.errors import StorageError
from modules.infrastructure.domain.storage.metadata import encoded
from modules.infrastructure.domain.storage.values import StoredFile

MAX_METADATA_BYTES = 2048  # S3's limit on all user metadata of an object


def encode(sha256: str, created_at: datetime, metadata: Mapping[str, str]) -> dict[str, str]:
    """The ``Metadata`` parameter of ``put_object``/``copy_object``."""
    fields = {"sha256": sha256, "created-at": created_at.isoformat()}
    if metadata:
        fields["meta"] = encoded(metadata)
    size = sum(len(k) + len(v) for k, v in fields.items())
    if size > MAX_METADATA_BYTES:  # not reached through the facade, which keeps metadata within MAX_ENCODED
        raise StorageError(f"The file's metadata is {size:,} bytes once encoded; S3 keeps at most {MAX_METADATA_BYTES:,}: shorten it")
    return fields


def stored_file(namespace: str, key: str, head: Mapping[str, Any]) -> StoredFile:
    """The facts of a ``head_object`` (or ``get_object``) answer."""
    fields = head.get("Metadata") or {}
    return StoredFile(
        namespace=namespace,
        key=key,
        size=int(head["ContentLength"]),
        sha256=fields.get("sha256", ""),
        content_type=head.get("ContentType") or "application/octet-stream",
        created_at=_created_at(fields.get("created-at"), head.get("LastModified")),
        metadata=_decoded(fields.get("meta")),
    )


def _created_at(text: str | None, last_modified: datetime | None) -> datetime:
    """When the file was saved: our field, else the object's last modification (objects written by others)."""
    if text:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    return last_modified or datetime.fromtimestamp(0, timezone.utc)


def _decoded(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        value = json.loads(unquote(text))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}
