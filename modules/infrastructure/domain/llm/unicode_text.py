"""Text a request can carry as UTF-8: a lone surrogate (from a bad decode) cannot be sent."""

from __future__ import annotations


def lone_surrogate_at(text: str) -> int | None:
    """The position of the first lone surrogate in ``text``, or ``None`` when UTF-8 can carry it all."""
    if text.isascii():
        return None
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        return exc.start
    return None
