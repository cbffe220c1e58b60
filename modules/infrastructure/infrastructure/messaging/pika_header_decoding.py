"""A timestamp header out of ``datetime``'s range is read as its raw number instead of ending the connection.

pika decodes an AMQP timestamp ('T') into a ``datetime`` while it reads the frame, so a value past
year 9999 (a millisecond epoch, say) raised inside pika's reader, the connection dropped, and the
message stayed at the head of the queue for every restart of the consumer. Installed once, by the
first consumer made; every other value decodes exactly as pika decodes it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pika.data

_TIMESTAMP = b"T"
_Decoder = Callable[[bytes, int], tuple[Any, int]]


def install() -> None:
    """Wrap ``pika.data.decode_value`` (once): its nested calls look the name up, so tables and arrays are covered."""
    original: _Decoder = pika.data.decode_value
    if getattr(original, "_keeps_raw_timestamps", False):
        return

    def decode_value(encoded: bytes, offset: int) -> tuple[Any, int]:
        try:
            return original(encoded, offset)
        except (ValueError, OverflowError, OSError):
            if encoded[offset : offset + 1] != _TIMESTAMP:
                raise
            return struct.unpack_from(">Q", encoded, offset + 1)[0], offset + 9

    decode_value._keeps_raw_timestamps = True  # type: ignore[attr-defined]
    pika.data.decode_value = decode_value
