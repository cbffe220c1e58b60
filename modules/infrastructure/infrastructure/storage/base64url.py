"""Canonical base64url without padding (RFC 4648 section 5): the one spelling of given bytes, so a token or
cursor cannot be altered (padding added, trailing bits changed, other characters slipped in) and still decode."""

from __future__ import annotations

import base64
import re

_CANONICAL = re.compile(r"[A-Za-z0-9_-]*")


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text: str) -> bytes:
    """The bytes ``text`` spells; ``ValueError`` for anything but the canonical form ``encode`` gives."""
    if not _CANONICAL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not canonical base64url without padding")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if encode(data) != text:
        raise ValueError("not canonical base64url: its last character carries bits that are not zero")
    return data


def encoded_length(size: int) -> int:
    """How many characters ``encode`` gives for ``size`` bytes."""
    return (size * 4 + 2) // 3
