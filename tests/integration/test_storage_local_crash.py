"""A process killed (SIGKILL) in the middle of a local-disk save leaves the key absent or holding a whole
file with facts of its own, never part of one; the sweep removes the temporary file it left behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modules.infrastructure.domain.errors import StoredFileNotFoundError
from modules.infrastructure.infrastructure.storage.local_disk import LocalDiskBackend
from tests.integration.storage_saver_process import CHUNK

REPOSITORY = Path(__file__).resolve().parents[2]
KEY = "the/key.bin"


def start_saver(root: Path, chunks: int, pause: float) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tests.integration.storage_saver_process", str(root), str(chunks), str(pause)]
    return subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.PIPE, text=True)


def temporary_files(root: Path) -> list[Path]:
    return [path for path in root.rglob(".tmp-*")]


def wait_for(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("the saver process did not get there in time")
        time.sleep(0.005)


def kill(process: subprocess.Popen[str]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    if process.stdout:
        process.stdout.close()


def assert_whole_or_absent(root: Path) -> int | None:
    """The version under the key (every byte of it from one save, its sidecar or measured facts agreeing), or None."""
    backend = LocalDiskBackend(root, temp_max_age=3600)
    try:
        info = backend.info("crash", KEY)
    except StoredFileNotFoundError:
        return None
    data = b"".join(backend.open("crash", KEY, CHUNK))
    assert data and len(data) % CHUNK == 0 and info.size == len(data)
    number = int(data[:8])
    assert data == f"{number:08d}".encode() * (len(data) // 8), "a mix of two saves"
    assert info.metadata in ({"n": str(number)}, {}), "a sidecar from another save was believed"
    return number


def test_a_save_killed_mid_stream_leaves_no_file_and_the_sweep_removes_its_temporary_file(tmp_path: Path) -> None:
    root = tmp_path / "store"
    saver = start_saver(root, chunks=1000, pause=0.01)
    try:
        wait_for(lambda: any(path.stat().st_size > 4 * CHUNK for path in temporary_files(root)))
    finally:
        kill(saver)
    assert assert_whole_or_absent(root) is None
    leftovers = temporary_files(root)
    assert len(leftovers) == 1
    backend = LocalDiskBackend(root, temp_max_age=3600)
    assert backend.sweep_temporary_files() == 0  # younger than STORAGE_TEMP_MAX_AGE: may be a save in progress
    old = time.time() - 7200
    os.utime(leftovers[0], (old, old))
    assert backend.sweep_temporary_files() == 1
    assert temporary_files(root) == []


def test_a_replacement_killed_mid_stream_leaves_the_old_whole_file(tmp_path: Path) -> None:
    root = tmp_path / "store"
    saver = start_saver(root, chunks=40, pause=0.005)
    assert saver.stdout is not None
    try:
        assert saver.stdout.readline().strip() == "1"
        wait_for(lambda: any(path.stat().st_size > 4 * CHUNK for path in temporary_files(root)))
    finally:
        kill(saver)
    assert assert_whole_or_absent(root) == 1


@pytest.mark.parametrize("seed", range(12))
def test_kills_at_random_moments_never_leave_part_of_a_file(tmp_path: Path, seed: int) -> None:
    root = tmp_path / "store"
    saver = start_saver(root, chunks=3, pause=0.0)
    try:
        time.sleep(0.3 + random.Random(seed).random() * 0.4)
    finally:
        kill(saver)
    assert_whole_or_absent(root)
