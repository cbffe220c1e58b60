"""The parser of ``PROMETHEUS_MULTIPROC_DIR``: the folder every worker process writes its metric files to.

Checked at start-up: prometheus_client would otherwise fail on the first metric a worker creates, with
an ``OSError`` that names neither the variable nor the fix.
"""

from __future__ import annotations

import os
import stat

from modules.infrastructure.domain.config.parsers import InvalidValue
from modules.infrastructure.domain.config.path_checks import path_mode

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name for it
EXPECTED = "an existing folder every worker process may write to, emptied when the server starts (e.g. /run/app/metrics)"


def metrics_folder(raw: str) -> str:
    """``raw`` when it names a folder this process can create files in."""
    path = raw.strip()
    mode = path_mode(path, EXPECTED)
    if not stat.S_ISDIR(mode):
        raise InvalidValue("is not a folder", EXPECTED)
    if not os.access(path, os.W_OK | os.X_OK):
        raise InvalidValue("is not writable by this process", EXPECTED)
    return path
