"""Cache namespaces: each module's keys live under ``<namespace>:``, so modules cannot collide."""

from __future__ import annotations

import math
import re

SEPARATOR = ":"
_NAMESPACE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")


def check_namespace(namespace: object) -> str:
    """``namespace`` when it is a module-like name (``lessons``, ``content_creation``); else ``ValueError``."""
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
        raise ValueError(
            f"Cache namespace {namespace!r} is not valid; use your module's name: a letter, then up to 63 "
            "letters, digits, '_', '.' or '-' (no ':' and no glob characters)"
        )
    return namespace


def check_ttl(ttl: float | None) -> float | None:
    """``ttl`` when it is ``None`` or a positive number of seconds; else ``ValueError``."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not (ttl > 0 and math.isfinite(ttl)):
        raise ValueError(f"ttl must be a positive number of seconds, or None for the default; got {ttl!r}")
    return float(ttl)
