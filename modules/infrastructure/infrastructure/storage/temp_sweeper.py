"""Removal of abandoned temporary files (``.tmp-*`` left by a process that died mid-save) under the root."""

from __future__ import annotations

import os
import time
from pathlib import Path

from modules.infrastructure.infrastructure.storage.local_paths import TEMP_PREFIX


def sweep_temporary_files(root: Path, max_age: float, now: float | None = None) -> int:
    """Remove ``.tmp-*`` files last written more than ``max_age`` seconds ago; a younger one may be a save in
    progress and is left. Returns how many were removed. Costs one walk of the whole folder."""
    limit = (time.time() if now is None else now) - max_age
    removed = 0
    for folder, _, names in os.walk(root):
        for name in names:
            if name.startswith(TEMP_PREFIX):
                removed += _remove_if_older(Path(folder) / name, limit)
    return removed


def _remove_if_older(path: Path, limit: float) -> int:
    try:
        if os.stat(path, follow_symlinks=False).st_mtime >= limit:
            return 0
        os.unlink(path)
    except FileNotFoundError:
        return 0
    return 1
