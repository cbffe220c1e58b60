"""``FileStorage``: one sibling module's files, under its namespace, checked and in step with its transactions."""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from modules.infrastructure.domain.config.values import StorageConfig
from modules.infrastructure.domain.errors import ContentTypeNotAllowedError, InfrastructureError, StorageError
from modules.infrastructure.domain.storage.content_types import allowed
from modules.infrastructure.domain.storage.keys import check_cursor, check_key, check_namespace, check_prefix
from modules.infrastructure.domain.storage.metadata import check_metadata
from modules.infrastructure.domain.storage.ports import StorageBackend
from modules.infrastructure.domain.storage.upload import CheckedUpload
from modules.infrastructure.domain.storage.values import FilePage, StorageStats, StoredFile
from modules.infrastructure.infrastructure.storage.transaction_files import check_session, on_outcome, undo_save

Observer = Callable[[str, str, str, float, int], None]  # namespace, operation, outcome, seconds, bytes
MAX_PAGE = 1000
MAX_URL_SECONDS = 7 * 24 * 3600  # what an S3 presigned URL allows
MAX_CHUNK = 64 * 1024 * 1024


class FileStorage:
    """Save, read, list and delete the files of ``namespace``. ``InfrastructureService.get_file_storage("lessons")``."""

    def __init__(self, backend: StorageBackend, namespace: str, config: StorageConfig, observe: Observer | None = None) -> None:
        self.namespace = check_namespace(namespace)
        self._backend = backend
        self._config = config
        self._observe = observe or _unobserved

    def save(
        self, key: str, content: object, *, metadata: object = None, session: Any = None,
        max_size: int | None = None, allowed_types: Sequence[str] | None = None,
    ) -> StoredFile:
        """Store ``content`` (bytes, a binary file or an iterable of bytes) under ``key``; with ``session``, the file is
        removed if that transaction (or the savepoint it is saved in) rolls back, and ``key`` must be new. Raises
        ``FileTooLargeError``, ``ContentTypeNotAllowedError``, ``InvalidFileKeyError`` or ``StorageError``; nothing is left behind."""
        key = check_key(key)
        checked_metadata = check_metadata(metadata)
        limit = self._limit(max_size)
        types = self._types(allowed_types)  # the call's list, within what STORAGE_ALLOWED_TYPES allows
        if session is not None:
            check_session(session)
            if self._backend.exists(self.namespace, key):
                raise StorageError(
                    f"The file {key!r} exists; a save in a transaction takes a new key (a rollback would have to bring the old file back)"
                )
        started = time.perf_counter()
        try:
            upload = CheckedUpload(content, limit, self._config.allowed_types)
            if types is not None and not allowed(upload.content_type, types):
                raise ContentTypeNotAllowedError(
                    f"The file's content is {upload.content_type} (detected from its first bytes), which this call does not allow ({', '.join(types)})"
                )
            stored = self._backend.save(self.namespace, key, upload, checked_metadata)
        except Exception as exc:
            self._observe(self.namespace, "save", _outcome(exc), time.perf_counter() - started, 0)
            raise
        self._observe(self.namespace, "save", "ok", time.perf_counter() - started, stored.size)
        if session is not None:
            on_outcome(session, rolled_back=undo_save(self._backend, stored))
        return stored

    def open(self, key: str, *, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """The file's bytes in chunks, in constant memory; ``StoredFileNotFoundError`` when there is none."""
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or not 1 <= chunk_size <= MAX_CHUNK:
            raise StorageError(f"chunk_size is a whole number of bytes from 1 to {MAX_CHUNK:,}, not {chunk_size!r:.40}")
        return self._measured_read(lambda: self._backend.open(self.namespace, check_key(key), chunk_size))

    def _measured_read(self, opened: Callable[[], Iterator[bytes]]) -> Iterator[bytes]:
        """The chunks of ``opened()``, counted as one read; opening at once, so a missing file raises from ``open``."""
        started = time.perf_counter()
        try:
            chunks = opened()
        except Exception as exc:
            self._observe(self.namespace, "read", _outcome(exc), time.perf_counter() - started, 0)
            raise
        return self._counted_chunks(chunks, started)

    def _counted_chunks(self, chunks: Iterator[bytes], started: float) -> Iterator[bytes]:
        size, outcome = 0, "abandoned"
        try:
            for chunk in chunks:
                size += len(chunk)
                yield chunk
            outcome = "ok"
        except Exception as exc:
            outcome = _outcome(exc)
            raise
        finally:
            self._observe(self.namespace, "read", outcome, time.perf_counter() - started, size)

    def read(self, key: str) -> bytes:
        """The whole file; ``StoredFileNotFoundError`` when there is none."""
        return b"".join(self.open(key))

    def info(self, key: str) -> StoredFile:
        """The file's facts; ``StoredFileNotFoundError`` when there is none."""
        with self._measured("info"):
            return self._backend.info(self.namespace, check_key(key))

    def exists(self, key: str) -> bool:
        with self._measured("exists"):
            return self._backend.exists(self.namespace, check_key(key))

    def list(self, prefix: str = "", *, limit: int = 100, cursor: str | None = None) -> FilePage:
        """Files whose key starts with ``prefix``, in key order; pass ``page.next_cursor`` for the next page."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise StorageError(f"limit is a whole number from 1 to {MAX_PAGE}, not {limit!r:.40}")
        if cursor is not None:
            cursor = check_cursor(cursor)  # opaque: the backend reads it
        with self._measured("list"):
            return self._backend.list(self.namespace, check_prefix(prefix), limit, cursor)

    def delete(self, key: str, *, session: Any = None) -> bool:
        """Remove the file (False when there was none); with ``session``, whatever is under ``key`` once that
        transaction commits (nothing if it, or the savepoint it was asked in, rolls back)."""
        key = check_key(key)
        with self._measured("delete"):
            if session is None:
                return self._backend.delete(self.namespace, key)
            check_session(session)
            exists = self._backend.exists(self.namespace, key)
            on_outcome(session, committed=lambda: self._backend.delete(self.namespace, key))
            return exists

    def download_url(self, key: str, *, expires_in: float = 3600) -> str:
        """A URL that fetches the file for ``expires_in`` seconds (at most 7 days)."""
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or not 1 <= expires_in <= MAX_URL_SECONDS or math.isnan(expires_in):
            raise StorageError(f"expires_in is seconds from 1 to {MAX_URL_SECONDS:,} (7 days), not {expires_in!r:.40}")
        expires_at = datetime.now(timezone.utc) + timedelta(seconds=expires_in)
        with self._measured("download_url"):
            return self._backend.download_url(self.namespace, check_key(key), expires_at)

    def stats(self) -> StorageStats:
        """Files and bytes of the whole store (every module's), per namespace too: ``by_namespace[self.namespace]``."""
        with self._measured("stats"):
            return self._backend.stats()

    @contextmanager
    def _measured(self, operation: str) -> Iterator[None]:
        """Count the block as one ``operation`` with its outcome and latency."""
        started = time.perf_counter()
        try:
            yield
        except Exception as exc:
            self._observe(self.namespace, operation, _outcome(exc), time.perf_counter() - started, 0)
            raise
        self._observe(self.namespace, operation, "ok", time.perf_counter() - started, 0)

    def _limit(self, max_size: int | None) -> int:
        ceiling = self._config.max_file_size
        if max_size is None:
            return ceiling
        if isinstance(max_size, bool) or not isinstance(max_size, int) or not 1 <= max_size <= ceiling:
            raise StorageError(f"max_size is a whole number of bytes from 1 to STORAGE_MAX_FILE_SIZE ({ceiling:,}), not {max_size!r:.40}")
        return max_size

    @staticmethod
    def _types(allowed_types: Sequence[str] | None) -> tuple[str, ...] | None:
        if allowed_types is None:
            return None
        if isinstance(allowed_types, str) or not isinstance(allowed_types, Sequence) or not all(isinstance(t, str) and t for t in allowed_types):
            raise StorageError(f"allowed_types is a list of content types or patterns such as ['image/*'], not {allowed_types!r:.60}")
        return tuple(allowed_types)


def _outcome(exc: Exception) -> str:
    """The metric outcome of a failure: the module's error class, or ``other_error`` (a caller's own exception,
    from a stream it gave, would add a label value per class the caller has)."""
    return type(exc).__name__ if isinstance(exc, InfrastructureError) else "other_error"


def _unobserved(namespace: str, operation: str, outcome: str, seconds: float, size: int) -> None:
    """No metrics (a storage built outside the composition root)."""
