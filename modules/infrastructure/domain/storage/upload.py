"""``CheckedUpload``: the bytes of a file being saved, checked while they stream: size limit, content type
from the leading bytes, SHA-256. A backend reads it chunk by chunk and asks for the facts at the end."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from modules.infrastructure.domain.errors import ContentTypeNotAllowedError, FileTooLargeError, StorageError
from modules.infrastructure.domain.storage.content_types import SNIFF_BYTES, allowed, detect
from modules.infrastructure.domain.storage.digest import OverlappedSha256

CHUNK = 1024 * 1024  # bytes read from a file-like source at a time
Chunk = bytes | memoryview  # a memoryview only of an immutable bytes object


@dataclass(frozen=True)
class UploadFacts:
    """What a finished upload was: its size, SHA-256 (hex) and detected content type."""

    size: int
    sha256: str
    content_type: str


class CheckedUpload:
    """Iterate for the file's chunks; ``FileTooLargeError`` as soon as ``max_size`` is passed,
    ``ContentTypeNotAllowedError`` before the first chunk when the head's type is not allowed. ``facts()``
    once iteration ended. ``content_type`` is known before the first chunk is handed out."""

    def __init__(self, source: object, max_size: int, allowed_types: Sequence[str]) -> None:
        self._chunks = _chunks_of(source)
        self._whole = isinstance(source, bytes | bytearray | memoryview)  # chunks are views of one bytes object, alive anyway
        self.max_size = max_size
        self._allowed = tuple(allowed_types)
        self._hash = OverlappedSha256()
        self._size = 0
        self._done = False
        self._head = self._read_head()
        self.content_type = detect(bytes(self._head[:SNIFF_BYTES]))
        if not allowed(self.content_type, self._allowed):
            raise ContentTypeNotAllowedError(
                f"The file's content is {self.content_type} (detected from its first bytes), which is not allowed "
                f"here (allowed: {', '.join(self._allowed)}); set STORAGE_ALLOWED_TYPES or the call's allowed_types"
            )

    def __iter__(self) -> Iterator[Chunk]:
        if self._head:
            head, self._head = self._head, b""  # not held for the rest of the upload
            yield self._counted(head)
        for chunk in self._chunks:
            if chunk:
                yield self._counted(chunk)
        self._done = True

    def facts(self) -> UploadFacts:
        if not self._done:
            raise StorageError("The upload was not read to its end; its size and SHA-256 are not known")
        return UploadFacts(self._size, self._hash.hexdigest(), self.content_type)

    def _read_head(self) -> Chunk:
        """The first chunks, up to at least ``SNIFF_BYTES``: the first chunk itself when it is long enough."""
        parts: list[Chunk] = []
        length = 0
        for chunk in self._chunks:
            parts.append(self._checked_size(chunk, length))
            length += len(parts[-1])
            if length >= SNIFF_BYTES:
                break
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _counted(self, chunk: object) -> Chunk:
        data = self._checked_size(chunk, self._size)
        self._size += len(data)
        self._hash.update(data, held=not self._whole)
        return data

    def _checked_size(self, chunk: object, before: int) -> Chunk:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise StorageError(f"A file's content is bytes, a binary file or chunks of bytes; a chunk was {type(chunk).__name__}")
        if before + (chunk.nbytes if isinstance(chunk, memoryview) else len(chunk)) > self.max_size:
            raise FileTooLargeError(
                f"The file is over the {self.max_size:,}-byte limit (STORAGE_MAX_FILE_SIZE or the call's max_size); nothing was kept"
            )
        if isinstance(chunk, bytes) or (isinstance(chunk, memoryview) and _is_view_of_bytes(chunk)):
            return chunk
        return bytes(chunk)


def _is_view_of_bytes(chunk: memoryview) -> bool:
    """A flat byte view of an immutable ``bytes``: nobody can change it, so it is passed on without a copy."""
    return isinstance(chunk.obj, bytes) and chunk.format == "B" and chunk.contiguous


def _chunks_of(source: object) -> Iterator[Any]:
    """Chunks from bytes, a binary file-like object (``read``) or an iterable of bytes."""
    if isinstance(source, bytes | bytearray | memoryview):
        whole = memoryview(source if isinstance(source, bytes) else bytes(source))
        return iter([whole[i : i + CHUNK] for i in range(0, len(whole), CHUNK)] or [whole])  # views: no copy
    read = getattr(source, "read", None)
    if callable(read):
        return _read_all(read)
    if isinstance(source, str) or not isinstance(source, Iterable):
        raise StorageError(
            f"A file's content is bytes, a binary file opened with 'rb' or an iterable of bytes, not {type(source).__name__}"
            + ("; encode text first (text.encode())" if isinstance(source, str) else "")
        )
    return iter(source)


def _read_all(read: Any) -> Iterator[Any]:
    while True:
        chunk = read(CHUNK)
        if chunk is None:
            raise StorageError(
                "The file object's read() returned None (a non-blocking stream with no data yet); give a blocking binary file or chunks of bytes"
            )
        if not chunk:
            return
        yield chunk
