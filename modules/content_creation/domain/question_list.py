"""The checks of what a caller passes to list questions: a topic, a search text, a page size."""

from __future__ import annotations

MAX_PER_PAGE = 100
MAX_SEARCH = 100  # characters


def check_topic_filter(value: object, longest: int) -> str:
    """The topic to list, stripped: 1 to ``longest`` characters, or ``ValueError``."""
    if not isinstance(value, str):
        raise ValueError(f"topic must be text, not {type(value).__name__}")
    value = value.strip()
    if not 0 < len(value) <= longest:
        raise ValueError(f"topic must be 1 to {longest} characters, got {len(value)}")
    return value


def check_search(value: object) -> str:
    """Text the question must contain (any case), stripped: 1 to 100 printable characters, or ``ValueError``."""
    if not isinstance(value, str):
        raise ValueError(f"search must be text, not {type(value).__name__}")
    value = value.strip()
    if not 0 < len(value) <= MAX_SEARCH:
        raise ValueError(f"search must be 1 to {MAX_SEARCH} characters, got {len(value)}")
    if not value.isprintable():
        raise ValueError("search must be printable text, without line breaks or control characters")
    return value


def check_per_page(value: object) -> int:
    """Questions per page: a whole number from 1 to 100, or ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be a whole number from 1 to {MAX_PER_PAGE}, not {value!r:.40}")
    return value


def check_cursor(value: object) -> str | None:
    """A cursor from an earlier page (``None`` for the first page), or ``ValueError`` for anything but text."""
    if value is not None and not isinstance(value, str):
        raise ValueError(f"cursor must be the text of a page's next_cursor or previous_cursor, not {type(value).__name__}")
    return value
