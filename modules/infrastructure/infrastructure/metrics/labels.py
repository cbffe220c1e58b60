"""Label values that stay safe and bounded: a short name-like string, at most ``limit`` distinct ones."""

from __future__ import annotations

import re
import threading

_NAME_LIKE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,63}$")
UNKNOWN = "unknown"
INVALID = "invalid"
OTHER = "other"


class LabelGuard:
    """Maps caller-supplied values (module names, models) to label values.

    A value that is not name-like (spaces, prompt text, over 64 characters) becomes ``invalid``;
    once ``limit`` distinct values were seen, new ones become ``other``: a label never grows without bound.
    """

    def __init__(self, limit: int = 100) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str | None) -> str:
        if not value:
            return UNKNOWN
        if value in self._seen:
            return value
        if not _NAME_LIKE.fullmatch(value):
            return INVALID
        with self._lock:
            if len(self._seen) >= self._limit:
                return OTHER
            self._seen.add(value)
        return value
