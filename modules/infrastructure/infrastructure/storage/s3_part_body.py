"""``PartBody``: the chunks of one part read as a single seekable file, so a part is never joined into one
more copy of itself (botocore reads a body to checksum it, seeks back, then sends it)."""

from __future__ import annotations

import bisect
import io
from collections.abc import Sequence
from itertools import accumulate

from modules.infrastructure.domain.storage.upload import Chunk


class PartBody(io.RawIOBase):
    """A read-only, seekable view of ``chunks`` one after the other."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        super().__init__()
        self.chunks = list(chunks)
        self._starts = [0, *accumulate(len(c) for c in self.chunks)]
        self.size = self._starts[-1]
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Up to ``len(buffer)`` bytes from the chunk at the position (a short read at a chunk's end)."""
        if self._position >= self.size:
            return 0
        index = bisect.bisect_right(self._starts, self._position) - 1
        offset = self._position - self._starts[index]
        piece = memoryview(self.chunks[index])[offset : offset + len(buffer)]
        memoryview(buffer)[: len(piece)] = piece
        self._position += len(piece)
        return len(piece)
