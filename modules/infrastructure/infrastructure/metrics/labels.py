"""Label values that stay safe and bounded: a short name-like string, at most ``limit`` distinct ones."""

from __future__ import annotations

import re
import threading

from modules.infrastructure.domain.metrics.label_values import looks_like_an_id_or_secret

_NAME_LIKE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,63}$")
UNKNOWN = "unknown"
INVALID = "invalid"
OTHER = "other"
REDACTED = "redacted"


class LabelGuard:
    """Maps caller-supplied values (module names, models) to label values.

    A value that is not name-like (spaces, prompt text, over 64 characters) becomes ``invalid``;
    once ``limit`` distinct values were seen, new ones become ``other``: a label never grows without bound.
    """

    def __init__(self, limit: int = 100, *, refuse_ids: bool = False) -> None:
        """``refuse_ids``: a value that looks like an id or a secret becomes ``redacted`` (sibling modules' labels)."""
        self._limit = limit
        self._refuse_ids = refuse_ids
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str | None) -> str:
        if not value:
            return UNKNOWN
        if value in self._seen:
            return value
        if not _NAME_LIKE.fullmatch(value):
            return INVALID
        if self._refuse_ids and looks_like_an_id_or_secret(value):
            return REDACTED
        with self._lock:
            if len(self._seen) >= self._limit:
                return OTHER
            self._seen.add(value)
        return value
