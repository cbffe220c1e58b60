"""A child process for the crash test: saves versions of one key over and over, slowly, until it is killed.

Usage: python -m tests.integration.storage_saver_process <root> <chunks per save> <pause seconds>
Each version is ``<n>`` repeated; a version is whole when all its chunks carry the same ``n``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

from modules.infrastructure.domain.storage.upload import CheckedUpload
from modules.infrastructure.infrastructure.storage.local_disk import LocalDiskBackend

CHUNK = 64 * 1024


def version(number: int, chunks: int, pause: float) -> Iterator[bytes]:
    block = f"{number:08d}".encode() * (CHUNK // 8)
    for _ in range(chunks):
        yield block
        time.sleep(pause)


def main(root: str, chunks: int, pause: float) -> None:
    backend = LocalDiskBackend(Path(root))
    number = 1
    while True:
        backend.save("crash", "the/key.bin", CheckedUpload(version(number, chunks, pause), 1 << 40, ["*"]), {"n": str(number)})
        print(number, flush=True)
        number += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
