"""Images for the illustration tests: each begins with its format's signature (what the storage detects), then filler."""

from __future__ import annotations

import struct

FILLER = bytes(range(256)) * 64  # 16 KiB: more than one chunk of the 4 KiB reads below
PNG = b"\x89PNG\r\n\x1a\n" + FILLER
JPEG = b"\xff\xd8\xff\xe0" + FILLER
GIF = b"GIF89a" + FILLER
WEBP = b"RIFF" + struct.pack("<I", 4 + len(FILLER)) + b"WEBP" + FILLER
TEXT = b"Not an image at all, only a few words of UTF-8 text.\n"


def chunks(data: bytes, size: int = 4096) -> list[bytes]:
    """``data`` as an iterable of byte chunks, the shape a streamed request body has."""
    return [data[i : i + size] for i in range(0, len(data), size)]
