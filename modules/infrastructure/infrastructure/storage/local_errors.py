"""The one place where the local disk's ``OSError`` becomes a ``StorageError``: a key whose folder is a file
(or whose file is a folder) is an ``InvalidFileKeyError``; anything else the disk refuses is ``StorageUnavailableError``."""

from __future__ import annotations

import errno
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager

from modules.infrastructure.domain.errors import InvalidFileKeyError, StorageError, StorageUnavailableError
from modules.infrastructure.domain.storage.upload import Chunk

_CLASHES = frozenset({errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENOTEMPTY})


@contextmanager
def disk_errors(action: str, key: str, callers: Collection[BaseException] = ()) -> Iterator[None]:
    """Map an ``OSError`` raised while doing ``action`` on ``key``; ``StorageError``, ``FileNotFoundError``
    (the caller's "not found") and the exceptions in ``callers`` (raised by the caller's stream) pass unchanged."""
    try:
        yield
    except (StorageError, FileNotFoundError):
        raise
    except OSError as exc:
        if any(exc is raised for raised in callers):
            raise
        if exc.errno in _CLASHES:
            raise InvalidFileKeyError(
                f"The file key {key[:120]!r} clashes with a stored file or folder: on local disk 'a' and 'a/b' cannot both be keys"
            ) from None
        if exc.errno == errno.ELOOP:
            raise InvalidFileKeyError(f"The file key {key[:120]!r} is a symbolic link inside the storage folder; refused") from None
        raise StorageUnavailableError(
            f"Could not {action} {key[:120]!r} on local disk: {exc.strerror or exc.__class__.__name__}; check STORAGE_URL, free space and permissions"
        ) from None


def watched(chunks: Iterable[Chunk], failures: list[BaseException]) -> Iterator[Chunk]:
    """``chunks``, noting in ``failures`` what reading them raised: the caller's error, not the disk's."""
    iterator = iter(chunks)
    while True:
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        except BaseException as exc:
            failures.append(exc)
            raise
        yield chunk
