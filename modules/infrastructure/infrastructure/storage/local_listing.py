"""Walking a namespace folder in key order without reading it all: folders are entered only when keys under
them can match the prefix and come after the cursor, and the walk stops once the page is full.

Key order is the order of the key strings; a folder ``a`` sorts as ``a/`` so ``a-b`` comes before ``a/b``,
as in the key strings. Dot-names (sidecars, temporary files) and symbolic links are skipped.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from modules.infrastructure.domain.errors import InvalidFileKeyError
from modules.infrastructure.domain.storage.keys import check_key
from modules.infrastructure.infrastructure.storage import base64url


def keys_in_order(folder: Path, prefix: str, after: str | None, base: str = "") -> Iterator[str]:
    """Keys under ``folder`` (relative to the namespace, ``base`` being the folder's own key path) starting
    with ``prefix`` and greater than ``after``, in order."""
    try:
        entries = [entry for entry in os.scandir(folder) if not entry.name.startswith(".")]
    except (FileNotFoundError, NotADirectoryError):
        return
    named = sorted(((_sort_name(entry), entry) for entry in entries), key=lambda pair: pair[0])
    for name, entry in named:
        key = base + name
        if name.endswith("/"):
            if _may_hold(key, prefix, after):
                yield from keys_in_order(Path(entry.path), prefix, after, key)
        elif entry.is_file(follow_symlinks=False) and key.startswith(prefix) and (after is None or key > after):
            yield key


def encode_cursor(key: str) -> str:
    """The cursor after ``key``: base64url of its UTF-8, up to 5,462 characters for the longest key."""
    return base64url.encode(key.encode())


def decode_cursor(cursor: str) -> str:
    """The key a cursor from ``encode_cursor`` names; ``InvalidFileKeyError`` for any other text."""
    try:
        return check_key(base64url.decode(cursor).decode())
    except ValueError:  # InvalidFileKeyError and UnicodeDecodeError are ValueErrors too
        raise InvalidFileKeyError("The listing cursor is not one a listing returned; pass the next_cursor of the previous page") from None


def _sort_name(entry: os.DirEntry[str]) -> str:
    return entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name


def _may_hold(folder_key: str, prefix: str, after: str | None) -> bool:
    """Whether keys under ``folder_key`` (ending in ``/``) can start with ``prefix`` and come after ``after``."""
    if not (folder_key.startswith(prefix) or prefix.startswith(folder_key)):
        return False
    return after is None or after < folder_key or after.startswith(folder_key)


def namespace_totals(root: Path) -> dict[str, tuple[int, int]]:
    """``namespace -> (files, bytes)`` for every namespace folder under ``root``, dot-names left out."""
    totals: dict[str, tuple[int, int]] = {}
    for namespace in _namespace_folders(root):
        files = size = 0
        for folder, names, file_names in os.walk(root / namespace):
            names[:] = [name for name in names if not name.startswith(".")]
            for name in file_names:
                found = None if name.startswith(".") else _regular_size(os.path.join(folder, name))
                if found is not None:
                    files, size = files + 1, size + found
        totals[namespace] = (files, size)
    return totals


def _regular_size(path: str) -> int | None:
    """The size of a stored file; None for a link (not a stored file) or a file deleted during the walk."""
    try:
        status = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _namespace_folders(root: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in os.scandir(root) if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."))
    except FileNotFoundError:
        return []
