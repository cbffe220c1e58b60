"""Where the local disk backend keeps things, and the checks that no path leaves its namespace folder.

Keys are checked before a backend sees them; these checks add what only the disk can tell: a symlink
planted inside the storage folder (by hand or by another program) must not lead a read or write out of it.
The check is made before each access and the last component is opened with ``O_NOFOLLOW``; a link planted
in a parent folder between the check and the open (a race by someone who can already write the storage
folder) is not caught.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from modules.infrastructure.domain.errors import InvalidFileKeyError

META_PREFIX = ".meta-"  # sidecars: <folder>/.meta-<sha256 of the file's name, 40 hex>.json, beside the data file
LOCK_FILE = ".lock"  # <root>/<namespace>/.lock: taken around the renames of a save and the unlinks of a delete
TEMP_PREFIX = ".tmp-"  # files being written: <folder>/.tmp-<uuid>; swept when abandoned
FOLDER_MODE = 0o700
FILE_MODE = 0o600
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class LocalPaths:
    """The data file and sidecar paths of a key, refused when their real location is outside ``<root>/<namespace>``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def namespace_folder(self, namespace: str) -> Path:
        return self.root / namespace

    def checked_namespace_folder(self, namespace: str) -> Path:
        """``namespace_folder``, refused when it is a symbolic link (a walk of it would leave the storage folder)."""
        folder = self.namespace_folder(namespace)
        if os.path.islink(folder):
            raise InvalidFileKeyError(
                f"The folder of the storage namespace {namespace!r} ({folder}) is a symbolic link; refused "
                "(replace the link with a real folder holding the namespace's files)"
            )
        return folder

    def data_path(self, namespace: str, key: str) -> Path:
        """``<root>/<namespace>/<key>``, refused when a part of it below the root is a symbolic link."""
        self._refuse_links(namespace, key)
        return Path(f"{self.root}{os.sep}{namespace}{os.sep}{key}")

    def meta_path(self, data_path: Path) -> Path:
        """The sidecar beside ``data_path``: a dot-name (never a key's segment, so never a clash with a folder)
        of fixed length (a 255-byte file name plus a suffix would be too long)."""
        digest = hashlib.sha256(data_path.name.encode()).hexdigest()[:40]
        return data_path.parent / f"{META_PREFIX}{digest}.json"

    def _refuse_links(self, namespace: str, key: str) -> None:
        """One ``lstat`` per part below the root, up to the first missing one. Stricter than "resolves
        inside": a link pointing within is refused too. The root itself may be a link, the namespace folder not."""
        current = str(self.checked_namespace_folder(namespace))
        for part in key.split("/"):
            current = f"{current}{os.sep}{part}"
            try:
                mode = os.lstat(current).st_mode
            except (FileNotFoundError, NotADirectoryError):
                return  # nothing there yet, so no link
            if stat.S_ISLNK(mode):
                raise InvalidFileKeyError(
                    f"The file key {key[:120]!r} goes through a symbolic link inside the storage folder; refused "
                    "(remove the link, or store the file under another key)"
                )


def make_folders(folder: Path) -> None:
    """Create ``folder`` and its missing parents with mode 0o700 (umask aside)."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, FOLDER_MODE)
        except FileExistsError:
            pass


def fsync_folder(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable."""
    descriptor = os.open(folder, os.O_RDONLY | CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_empty_folders(folder: Path, stop: Path) -> None:
    """Remove ``folder`` and its parents while empty, never ``stop`` itself."""
    while folder != stop and stop in folder.parents:
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = folder.parent


def local_root(url: str) -> Path:
    """The absolute folder named by STORAGE_URL: a path (relative to the working directory) or ``file:///abs``."""
    path = url[len("file://") :] if url.startswith("file://") else url
    return Path(path).absolute()
