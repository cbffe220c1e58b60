"""The local-disk storage backend, the embedded default: ``<root>/<namespace>/<key>`` data files, each with a
JSON sidecar beside it (``.meta-<hash of its name>.json``).

A save streams to a ``.tmp-<uuid>`` file beside its destination, fsyncs it, writes and fsyncs the sidecar
the same way, renames the sidecar then the data file (under a lock on the namespace, so concurrent saves
of a key never pair one's data with another's sidecar) and fsyncs the folder. Whether a key exists is
whether its data file does.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from modules.infrastructure.domain.errors import StorageUnavailableError, StoredFileNotFoundError
from modules.infrastructure.domain.storage.upload import CheckedUpload
from modules.infrastructure.domain.storage.values import FilePage, StorageStats, StoredFile
from modules.infrastructure.infrastructure.storage import local_listing as listing
from modules.infrastructure.infrastructure.storage.local_errors import disk_errors, watched
from modules.infrastructure.infrastructure.storage.local_files import ABSENT, namespace_lock, open_for_regular_file, write_temporary
from modules.infrastructure.infrastructure.storage.local_paths import (
    LocalPaths,
    fsync_folder,
    make_folders,
    remove_empty_folders,
)
from modules.infrastructure.infrastructure.storage.local_sidecar import measured_facts, sidecar_bytes, sidecar_facts
from modules.infrastructure.infrastructure.storage.temp_sweeper import sweep_temporary_files
from modules.infrastructure.infrastructure.storage.url_signing import sign_download_token, signing_secret, verify_download_token

logger = logging.getLogger(__name__)
READ_BLOCK = 256 * 1024
OPEN_ATTEMPTS = 3  # of open_with_facts while saves replace the file


class LocalDiskBackend:
    """Files in a folder of this machine. Holds no descriptor between calls: ``close``/``after_fork`` have nothing to do."""

    kind = "local"

    def __init__(self, root: Path, *, url_base: str = "/files/", url_secret: str | None = None,
                 production: bool = False, temp_max_age: float = 3600.0) -> None:
        self.root = root.absolute()
        self.paths = LocalPaths(self.root)
        self._url_base = url_base if url_base.endswith("/") else url_base + "/"  # the token is the last path segment
        self._url_secret = url_secret
        self._production = production
        self._temp_max_age = temp_max_age
        self._secret: bytes | None = None
        self._next_sweep = 0.0  # time.monotonic() of the next sweep; 0.0: at first use
        self._start_lock = threading.Lock()

    def save(self, namespace: str, key: str, upload: CheckedUpload, metadata: Mapping[str, str] | None = None) -> StoredFile:
        failures: list[BaseException] = []
        with disk_errors("save", key, failures):
            return self._save(namespace, key, upload, metadata or {}, failures)

    def _save(self, namespace: str, key: str, upload: CheckedUpload, metadata: Mapping[str, str], failures: list[BaseException]) -> StoredFile:
        data_path, meta_path = self._paths(namespace, key)
        make_folders(data_path.parent)
        data_temp = meta_temp = None
        try:
            data_temp = write_temporary(data_path.parent, watched(upload, failures))
            facts, created = upload.facts(), datetime.now(UTC)
            sidecar = sidecar_bytes(key, facts, metadata, created, os.stat(data_temp).st_ino)
            meta_temp = write_temporary(meta_path.parent, [sidecar])
            with namespace_lock(self.paths.namespace_folder(namespace)):
                os.replace(meta_temp, meta_path)
                meta_temp = None
                try:
                    os.replace(data_temp, data_path)
                except BaseException:
                    meta_path.unlink(missing_ok=True)  # no sidecar without its data file (a folder holds the key, ...)
                    raise
        except BaseException:
            for leftover in (data_temp, meta_temp):
                if leftover is not None:
                    leftover.unlink(missing_ok=True)
            remove_empty_folders(data_path.parent, self.paths.namespace_folder(namespace))
            raise
        fsync_folder(data_path.parent)
        return StoredFile(namespace, key, facts.size, facts.sha256, facts.content_type, created, dict(metadata))

    def open(self, namespace: str, key: str, chunk_size: int) -> Iterator[bytes]:
        data_path = self._data_path(namespace, key)
        with disk_errors("open", key):
            descriptor = self._open_data(namespace, key, data_path)
        return _chunks(os.fdopen(descriptor, "rb", buffering=0), chunk_size)

    def open_with_facts(self, namespace: str, key: str, chunk_size: int) -> tuple[StoredFile, Iterator[bytes]]:
        """The facts and the bytes of one and the same file, even while a save replaces it: the sidecar must
        name the opened file's inode. While a save is between its two renames it names the other file, so
        the key is opened again, a few times, before the opened file's facts are measured from its bytes."""
        data_path, meta_path = self._paths(namespace, key)
        with disk_errors("open", key):
            for attempt in range(OPEN_ATTEMPTS):
                descriptor = self._open_data(namespace, key, data_path)
                status = os.fstat(descriptor)
                stored = sidecar_facts(namespace, key, meta_path, status)
                if stored is not None:
                    break
                if attempt + 1 < OPEN_ATTEMPTS:
                    os.close(descriptor)
                    time.sleep(0.001 * 10**attempt)
            try:
                stored = stored or measured_facts(namespace, key, descriptor, status)
            except BaseException:
                os.close(descriptor)
                raise
        return stored, _chunks(os.fdopen(descriptor, "rb", buffering=0), chunk_size)

    def info(self, namespace: str, key: str) -> StoredFile:
        data_path, meta_path = self._paths(namespace, key)
        with disk_errors("read the facts of", key):
            descriptor = self._open_data(namespace, key, data_path)
            try:
                status = os.fstat(descriptor)
                return sidecar_facts(namespace, key, meta_path, status) or measured_facts(namespace, key, descriptor, status)
            finally:
                os.close(descriptor)

    def exists(self, namespace: str, key: str) -> bool:
        return os.path.isfile(self._data_path(namespace, key))  # symbolic links were refused by _paths

    def delete(self, namespace: str, key: str) -> bool:
        data_path, meta_path = self._paths(namespace, key)
        with disk_errors("delete", key), namespace_lock(self.paths.namespace_folder(namespace)):
            try:
                os.unlink(data_path)
            except ABSENT:
                return False
            meta_path.unlink(missing_ok=True)
        remove_empty_folders(data_path.parent, self.paths.namespace_folder(namespace))
        return True

    def list(self, namespace: str, prefix: str, limit: int, cursor: str | None) -> FilePage:
        self._start()
        after = None if cursor is None else listing.decode_cursor(cursor)
        files: list[StoredFile] = []
        for key in listing.keys_in_order(self.paths.checked_namespace_folder(namespace), prefix, after):
            if len(files) == limit:
                return FilePage(tuple(files), listing.encode_cursor(files[-1].key))
            try:
                files.append(self.info(namespace, key))
            except StoredFileNotFoundError:
                continue  # deleted while the page was read
        return FilePage(tuple(files), None)

    def download_url(self, namespace: str, key: str, expires_at: datetime) -> str:
        """``<STORAGE_URL_BASE><signed token>``; ``StoredFileNotFoundError`` when there is no such file."""
        if not self.exists(namespace, key):
            raise self._not_found(namespace, key)
        return self._url_base + sign_download_token(namespace, key, expires_at, self.signing_secret())

    def verify_download_token(self, token: str, now: datetime | None = None) -> tuple[str, str]:
        """``(namespace, key)`` of a genuine unexpired token from ``download_url``; else ``InvalidDownloadTokenError``."""
        return verify_download_token(token, self.signing_secret(), now or datetime.now(UTC))

    def signing_secret(self) -> bytes:
        if self._secret is None:
            make_folders(self.root)
            self._secret = signing_secret(self._url_secret, self.root, self._production)
        return self._secret

    def stats(self) -> StorageStats:
        """Files and bytes per namespace. A walk of the whole folder: one ``stat`` per file (about a second
        per million files on a local SSD with a warm cache), so for reports, not for every request."""
        by_namespace = listing.namespace_totals(self.root)
        return StorageStats(sum(c for c, _ in by_namespace.values()), sum(b for _, b in by_namespace.values()), by_namespace)

    def sweep_temporary_files(self) -> int:
        """Remove temporary files older than STORAGE_TEMP_MAX_AGE (a crashed save's); how many were removed."""
        return sweep_temporary_files(self.root, self._temp_max_age)

    def describe(self) -> str:
        return f"local disk {self.root}"

    def check(self) -> str:
        """Writable (a probe file is created and removed) and how much space is free."""
        try:
            make_folders(self.root)
            probe = write_temporary(self.root, [b"probe"])
            probe.unlink()
            usage = shutil.disk_usage(self.root)
        except OSError as exc:
            raise StorageUnavailableError(f"The storage folder {self.root} is not writable ({exc.strerror}); check STORAGE_URL and its permissions") from None
        self._start()
        return f"writable, {usage.free / 1024**3:,.1f} GiB free of {usage.total / 1024**3:,.1f} GiB"

    def close(self) -> None:
        """Nothing to release: no descriptor, thread or connection outlives a call."""

    def after_fork(self) -> None:
        """A lock the parent's sweep may have held is made anew (file locks are taken and released within each call)."""
        self._start_lock = threading.Lock()

    def _paths(self, namespace: str, key: str) -> tuple[Path, Path]:
        data_path = self._data_path(namespace, key)
        return data_path, self.paths.meta_path(data_path)

    def _data_path(self, namespace: str, key: str) -> Path:
        self._start()
        return self.paths.data_path(namespace, key)

    def _start(self) -> None:
        """Sweep what crashed saves left: at first use, then in the background once every STORAGE_TEMP_MAX_AGE
        (at least a minute), so a long-running process does not gather them; one sweep at a time."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        with self._start_lock:
            if now < self._next_sweep:
                return
            first = self._next_sweep == 0.0
            self._next_sweep = now + max(60.0, self._temp_max_age)
        if not self.root.is_dir():
            return
        if first:
            sweep_temporary_files(self.root, self._temp_max_age)
        else:
            threading.Thread(target=self._sweep_quietly, name="storage-temp-sweep", daemon=True).start()

    def _sweep_quietly(self) -> None:
        try:
            sweep_temporary_files(self.root, self._temp_max_age)
        except OSError as exc:  # the next sweep tries again; saves are not affected
            logger.warning("Sweeping the temporary files of %s failed: %s", self.root, exc)

    def _open_data(self, namespace: str, key: str, data_path: Path) -> int:
        """A read-only descriptor of the key's regular data file; ``StoredFileNotFoundError`` when there is none."""
        try:
            return open_for_regular_file(data_path)
        except ABSENT:
            raise self._not_found(namespace, key) from None

    def _not_found(self, namespace: str, key: str) -> StoredFileNotFoundError:
        return StoredFileNotFoundError(f"There is no file {key[:120]!r} in the storage namespace {namespace!r}")


def _chunks(file: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    """Chunks of an open file, closed when read to its end or when the consumer stops (``close()``/garbage).
    A file no longer than ``chunk_size`` is one read, as a plain ``read()`` would be. A longer one comes at
    most READ_BLOCK at a time: a consumer holds one chunk while the next is read, and a fresh buffer of a
    megabyte or more comes from new pages each time (measured 10x slower than 256 KiB)."""
    left = os.fstat(file.fileno()).st_size  # a stored file never changes (a save replaces the inode), so no read past it
    size = left if 0 < left <= chunk_size else max(1, min(chunk_size, READ_BLOCK))
    with file:
        while left > 0 and (chunk := file.read(min(size, left))):
            left -= len(chunk)
            yield chunk
