"""How a handler's failure is written down: ``Type: message``, even when the exception cannot say its message."""

from __future__ import annotations


def describe(exc: BaseException) -> str:
    """``Type: message`` of a handler's exception, even when its ``__str__`` fails."""
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:
        return f"{type(exc).__name__} (its message could not be read)"
