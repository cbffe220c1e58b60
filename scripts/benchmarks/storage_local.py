"""Local-disk storage benchmark: saving and reading files through the backend against plain ``open()``
calls on the same bytes (without and with ``fsync``), and the peak RSS of a process saving then reading a
1 GB stream.

Two file sizes in one run. Throughput, the target, is measured on 16 MB files (STORAGE_BENCH_FILE_MB
changes it); 1 MB files show the fixed cost of a save: beyond the plain write and its fsync it writes and
fsyncs a metadata sidecar, renames both and fsyncs the folder, so a crash never loses a saved file or
pairs it with the wrong facts. ``--ops`` / 50 MB is the data per variant per round (the default 500:
ten 1 MB files, or one 16 MB file... at least two). Reads through the backend are consumed chunk by
chunk, as a response or a hash would. A save also computes the SHA-256 the facade returns, on a second
core while it writes: ``plain_write_fsync_sha256`` shows what hashing in line would cost.
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
SMALL_MB = 1
STREAM_SIZE = 1024 * MB
MIN_RATIO = 0.8
MAX_RSS_GROWTH_MB = 64
ROOT = Path(__file__).resolve().parents[2]


def run(ops: int, rounds: int) -> dict[str, Any]:
    """Interleaved rounds of the six variants for each file size, then the 1 GB memory run in a child process."""
    large = int(os.environ.get("STORAGE_BENCH_FILE_MB", "16"))
    folder = Path(tempfile.mkdtemp(prefix="storage-bench-", dir=ROOT / "var" if (ROOT / "var").is_dir() else None))
    try:
        by_size = {size: _measure(folder, size * MB, max(2, ops // (50 * size)), rounds) for size in sorted({SMALL_MB, large})}
        memory = _memory_run(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    throughput = by_size[large]["ratios"]
    per_round = ", ".join(f"{size} MB: {report['per_round']}" for size, report in by_size.items())
    growth = max(memory["save_peak_mb"], memory["read_peak_mb"]) - memory["start_mb"]
    return {
        "benchmark": "storage_local",
        "work": f"{large} MB files (throughput) and {SMALL_MB} MB files (fixed costs); files per variant per round: {per_round}; "
                f"in {folder.parent}; memory: a {STREAM_SIZE // MB} MB stream saved then read",
        "results": {f"{name} ({size} MB)": result for size, report in by_size.items() for name, result in report["results"].items()},
        "ratios": {f"{name} ({size} MB)": value for size, report in by_size.items() for name, value in report["ratios"].items()},
        "by_round": {f"{name} ({size} MB)": value for size, report in by_size.items() for name, value in report["by_round"].items()},
        "memory": memory,
        "target": {
            f"save_vs_plain_write_fsync ({large} MB)": f">= {MIN_RATIO}",
            f"read_vs_plain_read ({large} MB)": f">= {MIN_RATIO}",
            "peak_rss_growth_mb": f"< {MAX_RSS_GROWTH_MB} (measured {growth:.1f})",
            "met": throughput["save_vs_plain_write_fsync"] >= MIN_RATIO and throughput["read_vs_plain_read"] >= MIN_RATIO and growth < MAX_RSS_GROWTH_MB,
        },
    }


def _measure(folder: Path, size: int, per_round: int, rounds: int) -> dict[str, Any]:
    results = interleave(_variants(folder / str(size), size), per_round, rounds, warmup=3)
    return {
        "per_round": per_round,
        "results": {name: result.to_dict() for name, result in results.items()},
        "ratios": {
            "save_vs_plain_write_fsync": round(ratio(results, "backend_save", "plain_write_fsync"), 3),
            "save_vs_plain_write": round(ratio(results, "backend_save", "plain_write"), 3),
            "save_vs_plain_write_fsync_sha256": round(ratio(results, "backend_save", "plain_write_fsync_sha256"), 3),
            "read_vs_plain_read": round(ratio(results, "backend_read", "plain_read"), 3),
        },
        "by_round": {
            "save_vs_plain_write_fsync": round_ratios(results, "backend_save", "plain_write_fsync"),
            "read_vs_plain_read": round_ratios(results, "backend_read", "plain_read"),
        },
    }


def _variants(folder: Path, size: int) -> dict[str, Callable[[], None]]:
    folder.mkdir()
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


def _stream(total: int) -> Iterator[bytearray]:
    """Fresh chunks, as a socket gives them (the save copies each to bytes and may hold some while hashing)."""
    block = os.urandom(MB)
    for _ in range(total // MB):
        yield bytearray(block)


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
