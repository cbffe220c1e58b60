"""Atomic files on local disk: written to ``.tmp-<uuid>`` in the destination folder, flushed and fsynced,
then renamed over the destination, so a reader or a crash sees the old whole file or the new whole file."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from modules.infrastructure.domain.errors import StorageUnavailableError
from modules.infrastructure.domain.storage.upload import Chunk
from modules.infrastructure.infrastructure.storage.local_paths import CLOEXEC, FILE_MODE, LOCK_FILE, NOFOLLOW, TEMP_PREFIX, make_folders

ABSENT = (FileNotFoundError, NotADirectoryError, IsADirectoryError)  # no file under a key: none, or a folder is there


def write_temporary(folder: Path, chunks: Iterable[Chunk]) -> Path:
    """A new ``.tmp-<uuid>`` file in ``folder`` holding ``chunks``, fsynced; removed again if anything raises
    (reading ``chunks`` included) or the thread is interrupted, so nothing is left behind."""
    path, descriptor = _create_temporary(folder)
    try:
        with os.fdopen(descriptor, "wb", buffering=0) as file:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[file.write(view) or 0 :]
            os.fsync(file.fileno())
    except BaseException:
        _unlink_quietly(path)
        raise
    return path


def _create_temporary(folder: Path) -> tuple[Path, int]:
    """A new empty temporary file in ``folder``, making the folder again if a concurrent delete removed it
    (it removes folders it found empty) between our ``make_folders`` and here."""
    path = folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | CLOEXEC
    try:
        return path, os.open(path, flags, FILE_MODE)
    except FileNotFoundError:
        make_folders(folder)
        return path, os.open(path, flags, FILE_MODE)


def open_for_reading(path: Path) -> int:
    """A read-only descriptor of ``path``, refusing a symbolic link in its last component (``O_NOFOLLOW``)."""
    return os.open(path, os.O_RDONLY | NOFOLLOW | CLOEXEC)


def open_for_regular_file(path: Path) -> int:
    """``open_for_reading``, and ``IsADirectoryError`` when ``path`` is a folder (a key's parent, not a file)."""
    descriptor = open_for_reading(path)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
    return descriptor


def read_small(path: Path) -> bytes:
    """The whole of a small file (a sidecar), not following a symbolic link."""
    with os.fdopen(open_for_reading(path), "rb") as file:
        return file.read()


@contextmanager
def namespace_lock(namespace_folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``<namespace>/.lock``, across threads and processes; held only for the
    renames of a save or the unlinks of a delete."""
    make_folders(namespace_folder)
    lock = namespace_folder / LOCK_FILE
    try:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT | NOFOLLOW | CLOEXEC, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StorageUnavailableError(f"The lock file {lock} is a symbolic link; refused (remove it: it is made again when needed)") from None
        raise
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
