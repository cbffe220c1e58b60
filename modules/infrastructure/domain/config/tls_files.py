"""The parser of a TLS file setting (a CA bundle, a client certificate or key): checked at start-up, not at first connect.

A wrong path would otherwise surface as the driver's own error on the first connection, or, for a CA
that cannot be read, not at all where a driver falls back to its defaults. The file's content is
never shown: a key file holds a secret.
"""

from __future__ import annotations

import os
import stat

from modules.infrastructure.domain.config.parsers import InvalidValue
from modules.infrastructure.domain.config.path_checks import path_mode

MAX_PEM_BYTES = 10 * 1024 * 1024  # a CA bundle with every public root is about 250 KB
PEM_MARKER = b"-----BEGIN "
EXPECTED = "an absolute path to a PEM file this process can read, such as /etc/app/tls/ca.pem"


def pem_file(raw: str) -> str:
    """``raw`` when it is the absolute path of a readable regular file holding PEM text."""
    path = raw.strip()
    if not os.path.isabs(path):
        raise InvalidValue("is a relative path", EXPECTED)
    mode = path_mode(path, EXPECTED)
    if stat.S_ISDIR(mode):
        raise InvalidValue("is a folder", EXPECTED)
    if not stat.S_ISREG(mode):
        raise InvalidValue("is not a regular file", EXPECTED)
    try:
        with open(path, "rb") as file:
            content = file.read(MAX_PEM_BYTES)
    except OSError as exc:
        raise InvalidValue(f"cannot be read ({exc.strerror or type(exc).__name__})", EXPECTED) from None
    if PEM_MARKER not in content:
        raise InvalidValue("holds no PEM block (no '-----BEGIN' line)", EXPECTED)
    return path


def readable_by_others(path: str) -> bool:
    """Whether every user of the machine may read the file (its mode has o+r)."""
    try:
        return bool(os.stat(path).st_mode & stat.S_IROTH)
    except OSError:
        return False
