"""S3 storage memory: saving and reading a 1 GiB stream through ``FileStorage`` on ``S3Storage`` (a private moto
server on 127.0.0.1) raises the process's peak RSS by less than 64 MB: one 8 MiB part in memory, never the file."""

from __future__ import annotations

import hashlib
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from modules.infrastructure.domain.config.values import StorageConfig
from modules.infrastructure.infrastructure.storage.file_storage import FileStorage
from modules.infrastructure.infrastructure.storage.s3_backend import S3Storage
from tests.integration.private_s3 import PrivateS3
from tests.integration.s3_backends import new_bucket, s3_config

SIZE = 1024**3
CHUNK = 1024 * 1024
MAX_RISE_MB = 64.0


def run(ops: int, rounds: int) -> dict[str, Any]:
    """One save and one read of a 1 GiB stream (``ops`` and ``rounds`` do not apply: the peak RSS only rises, so
    the read's figure is how far it went above the save's peak)."""
    with tempfile.TemporaryDirectory() as folder, PrivateS3(Path(folder), check_credentials=False) as server:
        config = s3_config(server, new_bucket(server), max_file_size=2 * SIZE)
        backend = S3Storage(config)
        files = FileStorage(backend, "benchmark", config)
        files.save("warm-up", b"x" * 1000)  # imports and the first connection, before the baseline
        files.read("warm-up")
        try:
            save = _peak_rise(lambda: files.save("big.bin", _stream()))
            read = _peak_rise(lambda: sum(len(chunk) for chunk in files.open("big.bin", chunk_size=CHUNK)))
        finally:
            backend.close()
    results = {"save_1gib_stream": save, "read_1gib_stream": read}
    rise = max(r["median_rss_mb"] for r in results.values())
    return {
        "benchmark": "storage_s3_memory",
        "work": f"a {SIZE:,}-byte stream in {CHUNK:,}-byte chunks saved and read through FileStorage on S3Storage (moto on 127.0.0.1); MB: peak RSS rise",
        "results": results,
        "ratios": {},
        "target": {"peak_rss_rise_mb": f"< {MAX_RISE_MB:g} (measured {rise:.1f})", "met": rise < MAX_RISE_MB},
    }


def _stream() -> Iterator[bytes]:
    block = (hashlib.sha256(b"memory").digest() * (CHUNK // 32))[:CHUNK]
    for _ in range(SIZE // CHUNK):
        yield bytearray(block)  # a new object each time, as a file's reads would be


def _peak_rise(work: Callable[[], object]) -> dict[str, Any]:
    before = _peak_rss_mb()
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    return {"median_s": round(seconds, 3), "range_s": [round(seconds, 3)] * 2, "median_rss_mb": round(_peak_rss_mb() - before, 1)}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
