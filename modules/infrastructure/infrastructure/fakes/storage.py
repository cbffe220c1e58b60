"""``MemoryStorage``: the storage port in memory, for tests and for sibling modules' tests (``module_api.testing``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone

from modules.infrastructure.domain.errors import InvalidFileKeyError, StoredFileNotFoundError
from modules.infrastructure.domain.storage.upload import CheckedUpload
from modules.infrastructure.domain.storage.values import FilePage, StorageStats, StoredFile


class MemoryStorage:
    """Files kept in a dict, whole; thread-safe. Keys behave as on the local disk (the default). Download URLs
    are ``memory://<namespace>/<key>?expires=<epoch>``."""

    kind = "memory"

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._files: dict[tuple[str, str], tuple[StoredFile, bytes]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def save(self, namespace: str, key: str, upload: CheckedUpload, metadata: Mapping[str, str]) -> StoredFile:
        data = b"".join(upload)  # raises (too large, the source failed) before anything is kept
        facts = upload.facts()
        stored = StoredFile(namespace, key, facts.size, facts.sha256, facts.content_type, self._clock(), dict(metadata))
        with self._lock:
            self._refuse_path_clash(namespace, key)
            self._files[(namespace, key)] = (stored, data)
        return stored

    def _refuse_path_clash(self, namespace: str, key: str) -> None:
        """As the local disk, the default backend: ``a`` and ``a/b`` cannot both be keys (one would be a folder)."""
        parents = {key[:i] for i, c in enumerate(key) if c == "/"}
        if any((namespace, parent) in self._files for parent in parents) or any(
            ns == namespace and k.startswith(key + "/") for ns, k in self._files
        ):
            raise InvalidFileKeyError(
                f"The file key {key[:120]!r} clashes with a stored file or folder: on local disk 'a' and 'a/b' cannot both be keys"
            )

    def open(self, namespace: str, key: str, chunk_size: int) -> Iterator[bytes]:
        data = self._entry(namespace, key)[1]
        return iter([data[i : i + chunk_size] for i in range(0, len(data), chunk_size)])

    def info(self, namespace: str, key: str) -> StoredFile:
        return self._entry(namespace, key)[0]

    def exists(self, namespace: str, key: str) -> bool:
        with self._lock:
            return (namespace, key) in self._files

    def delete(self, namespace: str, key: str) -> bool:
        with self._lock:
            return self._files.pop((namespace, key), None) is not None

    def list(self, namespace: str, prefix: str, limit: int, cursor: str | None) -> FilePage:
        with self._lock:
            keys = sorted(k for ns, k in self._files if ns == namespace and k.startswith(prefix) and (cursor is None or k > cursor))
            page = [self._files[(namespace, k)][0] for k in keys[:limit]]
        return FilePage(tuple(page), page[-1].key if len(keys) > limit else None)

    def download_url(self, namespace: str, key: str, expires_at: datetime) -> str:
        self._entry(namespace, key)
        return f"memory://{namespace}/{key}?expires={int(expires_at.timestamp())}"

    def stats(self) -> StorageStats:
        by_namespace: dict[str, tuple[int, int]] = {}
        with self._lock:
            for (namespace, _), (stored, _data) in self._files.items():
                files, size = by_namespace.get(namespace, (0, 0))
                by_namespace[namespace] = (files + 1, size + stored.size)
        return StorageStats(sum(f for f, _ in by_namespace.values()), sum(b for _, b in by_namespace.values()), by_namespace)

    def describe(self) -> str:
        return "in memory (a test double)"

    def check(self) -> str:
        return f"{len(self._files)} files in memory"

    def close(self) -> None:
        """Nothing to close: the files stay until the object goes."""

    def after_fork(self) -> None:
        self._lock = threading.Lock()

    def _entry(self, namespace: str, key: str) -> tuple[StoredFile, bytes]:
        with self._lock:
            entry = self._files.get((namespace, key))
        if entry is None:
            raise StoredFileNotFoundError(f"There is no file {key!r} in the storage namespace {namespace!r}")
        return entry
