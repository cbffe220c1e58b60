"""How a value is framed in Redis: values from a configurable size up are compressed (zlib) and marked, so values
written before compression existed, or below the size, read as they are.

A marked value starts with a two-byte prefix no UTF-8 text can start with (``\\x00\\xff``), then ``z`` (compressed)
or ``r`` (kept raw: a value that itself starts with the prefix). A value of any other form is read unchanged.
"""

from __future__ import annotations

import zlib

from modules.infrastructure.domain.cache.values import shown
from modules.infrastructure.domain.errors import CacheError

PREFIX = b"\x00\xff"
COMPRESSED, RAW = PREFIX + b"z", PREFIX + b"r"
LEVEL = 1  # zlib's fastest: most of the size saved for a fraction of the time
MAX_VALUE_BYTES = 512 * 1024 * 1024  # Redis's largest string: a marked value never inflates past it


class Compression:
    """Compresses values of at least ``min_bytes`` (``0``: never) when that makes them smaller."""

    def __init__(self, min_bytes: int) -> None:
        self.min_bytes = min_bytes

    def pack(self, data: bytes) -> bytes:
        """The bytes to store for ``data``."""
        if self.min_bytes and len(data) >= self.min_bytes:
            packed = zlib.compress(data, LEVEL)
            if len(packed) + len(COMPRESSED) < len(data):
                return COMPRESSED + packed
        return RAW + data if data.startswith(PREFIX) else data

    def unpack(self, key: str, stored: bytes) -> bytes:
        """The value ``stored`` holds; a marked value that does not unpack is a ``CacheError``."""
        if not stored.startswith(PREFIX):
            return stored
        if stored.startswith(RAW):
            return stored[len(RAW):]
        if stored.startswith(COMPRESSED):
            inflate = zlib.decompressobj()
            try:
                data = inflate.decompress(stored[len(COMPRESSED):], MAX_VALUE_BYTES)
            except zlib.error as exc:
                raise CacheError(f"The value under {shown(key)} is marked compressed but does not decompress: {exc}") from None
            if inflate.unconsumed_tail or not inflate.eof:
                raise CacheError(f"The value under {shown(key)} is marked compressed but is cut short or too large")
            return data
        return stored  # \x00\xff then another byte: not ours (binary data written before the frames)
