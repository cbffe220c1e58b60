"""Local-disk storage benchmark: saving and reading files through the backend against plain ``open()``
calls on the same bytes (without and with ``fsync``: a save fsyncs the data, its sidecar and the folder),
and the peak RSS of a process saving then reading a 1 GB stream.

``--ops`` / 50 MB is the data per variant per round (the default 500: ten 1 MB files); STORAGE_BENCH_FILE_MB
sets the file size (fixed costs per save, the fsyncs, weigh less on larger files). Reads through the
backend are consumed chunk by chunk, as a response or a hash would; holding every chunk until the end
(``b"".join``) costs a second copy and fresh pages, in both a streamed read and a plain one. A save also
computes the SHA-256 the facade returns (``CheckedUpload``): ``plain_write_fsync_sha256`` shows that share.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from modules.infrastructure.domain.storage.upload import CheckedUpload
from modules.infrastructure.infrastructure.storage.local_disk import LocalDiskBackend
from scripts.benchmarks.timing import interleave, ratio, round_ratios

MB = 1024 * 1024
STREAM_SIZE = 1024 * MB
MIN_RATIO = 0.8
MAX_RSS_GROWTH_MB = 64
ROOT = Path(__file__).resolve().parents[2]


def run(ops: int, rounds: int) -> dict[str, Any]:
    """Interleaved rounds of the five variants, then the 1 GB memory run in a child process."""
    size = int(os.environ.get("STORAGE_BENCH_FILE_MB", "1")) * MB
    per_round = max(1, ops * MB // (50 * size))
    folder = Path(tempfile.mkdtemp(prefix="storage-bench-", dir=ROOT / "var" if (ROOT / "var").is_dir() else None))
    try:
        results = interleave(_variants(folder, size), per_round, rounds, warmup=3)
        memory = _memory_run(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ratios = {
        "save_vs_plain_write_fsync": round(ratio(results, "backend_save", "plain_write_fsync"), 3),
        "save_vs_plain_write": round(ratio(results, "backend_save", "plain_write"), 3),
        "save_vs_plain_write_fsync_sha256": round(ratio(results, "backend_save", "plain_write_fsync_sha256"), 3),
        "read_vs_plain_read": round(ratio(results, "backend_read", "plain_read"), 3),
    }
    growth = max(memory["save_peak_mb"], memory["read_peak_mb"]) - memory["start_mb"]
    return {
        "benchmark": "storage_local",
        "work": f"{size // MB} MB files, {per_round} per variant per round, in {folder.parent}; memory: a {STREAM_SIZE // MB} MB stream saved then read",
        "results": {name: result.to_dict() for name, result in results.items()},
        "ratios": ratios,
        "save_vs_plain_write_fsync_by_round": round_ratios(results, "backend_save", "plain_write_fsync"),
        "read_vs_plain_read_by_round": round_ratios(results, "backend_read", "plain_read"),
        "memory": memory,
        "target": {
            "save_vs_plain_write_fsync": f">= {MIN_RATIO}",
            "read_vs_plain_read": f">= {MIN_RATIO}",
            "peak_rss_growth_mb": f"< {MAX_RSS_GROWTH_MB} (measured {growth:.1f})",
            "met": ratios["save_vs_plain_write_fsync"] >= MIN_RATIO and ratios["read_vs_plain_read"] >= MIN_RATIO and growth < MAX_RSS_GROWTH_MB,
        },
    }


def _variants(folder: Path, size: int) -> dict[str, Callable[[], None]]:
    data = os.urandom(size)
    backend = LocalDiskBackend(folder / "store")
    plain = folder / "plain.bin"
    backend.save("bench", "read/me.bin", CheckedUpload(data, size, ["*"]))
    plain.write_bytes(data)

    def plain_write(sync: bool, digest: bool = False) -> None:
        with open(folder / "plain-write.bin", "wb") as file:
            file.write(data)
            if sync:
                file.flush()
                os.fsync(file.fileno())
        if digest:
            hashlib.sha256(data).hexdigest()

    def plain_read() -> None:
        with open(plain, "rb") as file:
            file.read()

    def backend_read() -> None:
        for _ in backend.open("bench", "read/me.bin", MB):
            pass  # a consumer that hands each chunk on (a response, a hash), keeping none

    return {
        "backend_save": lambda: None if backend.save("bench", "write/me.bin", CheckedUpload(data, size, ["*"])) else None,
        "plain_write_fsync": lambda: plain_write(True),
        "plain_write": lambda: plain_write(False),
        "plain_write_fsync_sha256": lambda: plain_write(True, digest=True),
        "backend_read": backend_read,
        "plain_read": plain_read,
    }


def _memory_run(folder: Path) -> dict[str, float]:
    command = [sys.executable, "-m", "scripts.benchmarks.storage_local", str(folder / "memory")]
    output = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(output))


def _peak_mb() -> float:
    """VmHWM, the process's peak resident set so far, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _stream(total: int) -> Iterator[bytes]:
    block = os.urandom(MB)
    for _ in range(total // MB):
        yield block


def _child(root: str) -> None:
    """In a fresh process: peak RSS at the start, after saving and after reading a 1 GB stream."""
    backend = LocalDiskBackend(Path(root))
    start = _peak_mb()
    backend.save("bench", "stream.bin", CheckedUpload(_stream(STREAM_SIZE), STREAM_SIZE, ["*"]))
    saved = _peak_mb()
    read = sum(len(chunk) for chunk in backend.open("bench", "stream.bin", MB))
    assert read == STREAM_SIZE
    print(json.dumps({"start_mb": round(start, 1), "save_peak_mb": round(saved, 1), "read_peak_mb": round(_peak_mb(), 1)}))


if __name__ == "__main__":
    _child(sys.argv[1])
