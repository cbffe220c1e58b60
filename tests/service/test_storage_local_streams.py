"""Large files stream through the local-disk backend in constant memory; a sidecar that does not belong to
its data file (a save cut between its two renames) is not believed."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from modules.infrastructure.domain.storage.upload import CheckedUpload
from modules.infrastructure.infrastructure.storage.local_disk import LocalDiskBackend

MB = 1024 * 1024
TOTAL = 200 * MB


def generated(total: int, chunk: int = MB) -> Iterator[bytes]:
    block = bytes(range(256)) * (chunk // 256)
    for _ in range(total // chunk):
        yield block


def test_a_200_mb_stream_is_saved_and_read_in_bounded_memory(tmp_path: Path) -> None:
    backend = LocalDiskBackend(tmp_path / "store")
    expected = hashlib.sha256()
    for block in generated(TOTAL):
        expected.update(block)
    tracemalloc.start()
    try:
        saved = backend.save("big", "stream.bin", CheckedUpload(generated(TOTAL), TOTAL, ["*"]))
        read = hashlib.sha256()
        size = 0
        for chunk in backend.open("big", "stream.bin", MB):
            read.update(chunk)
            size += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (saved.size, size) == (TOTAL, TOTAL)
    assert saved.sha256 == read.hexdigest() == expected.hexdigest()
    assert peak < 8 * MB, f"peak traced memory {peak / MB:.1f} MB for a {TOTAL // MB} MB file"


def test_a_sidecar_left_from_another_save_is_replaced_by_measured_facts(tmp_path: Path) -> None:
    backend = LocalDiskBackend(tmp_path / "store")
    backend.save("docs", "k", CheckedUpload(b"old text", 100, ["*"]), {"who": "old"})
    data = tmp_path / "store" / "docs" / "k"
    replacement = tmp_path / "store" / "docs" / ".tmp-replacement"
    replacement.write_bytes(b"\x89PNG\r\n\x1a\n new")
    os.replace(replacement, data)  # as if a save died after renaming its data but before its sidecar was right
    info = backend.info("docs", "k")
    assert (info.size, info.content_type, info.metadata) == (len(b"\x89PNG\r\n\x1a\n new"), "image/png", {})
    assert info.sha256 == hashlib.sha256(b"\x89PNG\r\n\x1a\n new").hexdigest()
