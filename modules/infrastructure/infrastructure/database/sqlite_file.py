"""The embedded SQLite database's file: created readable by this user only, never loosened once it exists."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL

FOLDER_MODE = 0o700
FILE_MODE = 0o600  # SQLite gives its -wal and -shm files the database file's mode


def database_path(url: URL) -> Path | None:
    """The file a SQLite URL names; ``None`` for an in-memory database or a ``file:`` URI (SQLite opens those itself)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.query.get("uri"):
        return None
    return Path(url.database)


def create_private(path: Path) -> None:
    """Create the missing folders of ``path`` (0o700) and the empty file (0o600); an existing one keeps its mode."""
    missing = [folder for folder in path.parents if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
