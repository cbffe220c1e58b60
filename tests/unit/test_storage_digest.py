"""The SHA-256 a save returns, hashed on a worker thread: the same digest as hashlib whatever the chunks,
bounded in what it holds, and leaving nothing running when an upload is abandoned or after a fork."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from modules.infrastructure.domain.errors import FileTooLargeError, StorageError
from modules.infrastructure.domain.storage.digest import INLINE_BELOW, MAX_AHEAD, OverlappedSha256
from modules.infrastructure.domain.storage.upload import CheckedUpload

KIB = 1024


@pytest.mark.parametrize("sizes", [
    [], [0], [1], [INLINE_BELOW - 1], [INLINE_BELOW], [3, INLINE_BELOW * 4, 5, 7],
    [INLINE_BELOW * 2] * 40, [MAX_AHEAD + 1, 10, MAX_AHEAD], [KIB] * 500,
])
def test_the_digest_is_hashlibs_whatever_the_chunks(sizes: list[int]) -> None:
    chunks = [os.urandom(size) for size in sizes]
    overlapped = OverlappedSha256()
    for index, chunk in enumerate(chunks):
        overlapped.update(memoryview(chunk) if index % 2 else chunk)
    assert overlapped.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert overlapped.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()  # asking twice changes nothing


def test_the_caller_waits_rather_than_hand_over_more_than_max_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    held: list[int] = []
    real = OverlappedSha256._hash_queue

    def slow_hash_queue(self: OverlappedSha256) -> None:
        time.sleep(0.05)  # a worker busy elsewhere
        held.append(self._ahead)
        real(self)

    monkeypatch.setattr(OverlappedSha256, "_hash_queue", slow_hash_queue)
    overlapped = OverlappedSha256()
    chunk = os.urandom(MAX_AHEAD // 4)
    for _ in range(12):
        overlapped.update(chunk)
        assert overlapped._ahead <= MAX_AHEAD
    assert overlapped.hexdigest() == hashlib.sha256(chunk * 12).hexdigest()
    assert max(held) <= MAX_AHEAD


def test_an_abandoned_upload_leaves_no_worker_busy() -> None:
    upload = CheckedUpload(iter([os.urandom(MAX_AHEAD // 2)] * 3 + [object()]), 10 * MAX_AHEAD, ["*"])
    with pytest.raises(StorageError, match="a chunk was object"):
        for _ in upload:
            pass
    overlapped = upload._hash
    deadline = time.monotonic() + 5
    while overlapped._hashing and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not overlapped._hashing and not overlapped._queue and overlapped._ahead == 0  # hashed, let go, worker returned


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_hashes_with_threads_of_its_own() -> None:
    OverlappedSha256().update(os.urandom(INLINE_BELOW))  # the parent's pool exists before the fork
    data = os.urandom(4 * INLINE_BELOW)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its threads did not survive the fork; a digest must still finish
        overlapped = OverlappedSha256()
        overlapped.update(data)
        os.write(write_end, overlapped.hexdigest().encode())
        os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 64).decode()
    os.close(read_end)
    assert os.waitpid(pid, 0)[1] == 0
    assert answer == hashlib.sha256(data).hexdigest()


def test_a_changeable_chunk_is_copied_and_a_view_of_bytes_is_not() -> None:
    changeable = bytearray(os.urandom(INLINE_BELOW * 2))
    expected = hashlib.sha256(bytes(changeable)).hexdigest()
    upload = CheckedUpload([changeable], len(changeable), ["*"])
    chunks = list(upload)
    changeable[:] = bytes(len(changeable))  # the caller reuses its buffer
    assert b"".join(chunks) != bytes(changeable) and upload.facts().sha256 == expected
    frozen = os.urandom(INLINE_BELOW * 2)
    assert [chunk.obj if isinstance(chunk, memoryview) else chunk for chunk in CheckedUpload(frozen, len(frozen), ["*"])] == [frozen]


def test_a_view_of_wide_items_counts_bytes_not_items() -> None:
    wide = memoryview(bytearray(4096)).cast("I")  # 1,024 items of four bytes
    with pytest.raises(FileTooLargeError):
        list(CheckedUpload([wide], 2048, ["*"]))
    upload = CheckedUpload([wide], 4096, ["*"])
    assert sum(len(chunk) for chunk in upload) == 4096 and upload.facts().size == 4096


def test_empty_chunks_between_large_ones_change_nothing() -> None:
    chunks = [os.urandom(INLINE_BELOW * 2), b"", os.urandom(INLINE_BELOW * 2), b"", b"x"]
    overlapped = OverlappedSha256()
    for chunk in chunks:
        overlapped.update(chunk)
    assert overlapped.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()


def test_a_worker_that_cannot_hash_makes_hexdigest_raise_never_a_partial_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    overlapped = OverlappedSha256()

    class Failing:
        def update(self, chunk: object) -> None:
            raise MemoryError("no memory for the hash")

    monkeypatch.setattr(overlapped, "_hash", Failing())
    overlapped.update(os.urandom(INLINE_BELOW * 2))
    overlapped.update(os.urandom(INLINE_BELOW * 2))
    with pytest.raises(StorageError, match="SHA-256 of the file could not be computed") as caught:
        overlapped.hexdigest()
    assert isinstance(caught.value.__cause__, MemoryError)


def test_a_file_object_answering_none_is_a_clear_error_not_an_empty_file() -> None:
    class NonBlocking:
        def read(self, size: int) -> None:
            return None

    with pytest.raises(StorageError, match="returned None"):
        list(CheckedUpload(NonBlocking(), 100, ["*"]))


def test_random_mixes_of_small_and_large_chunks_from_several_threads_all_match_hashlib() -> None:
    import random
    from concurrent.futures import ThreadPoolExecutor

    def one(seed: int) -> bool:
        rng = random.Random(seed)
        chunks = [os.urandom(rng.choice([0, 1, 100, INLINE_BELOW - 1, INLINE_BELOW, 3 * INLINE_BELOW])) for _ in range(rng.randint(1, 30))]
        overlapped = OverlappedSha256()
        for chunk in chunks:
            overlapped.update(chunk)
        return overlapped.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()

    with ThreadPoolExecutor(4) as threads:
        assert all(threads.map(one, range(300)))


def test_views_of_bytes_the_caller_holds_whole_never_make_it_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    real = OverlappedSha256._hash_queue

    def slow_hash_queue(self: OverlappedSha256) -> None:
        time.sleep(0.05)
        real(self)

    monkeypatch.setattr(OverlappedSha256, "_hash_queue", slow_hash_queue)
    whole = os.urandom(3 * MAX_AHEAD)
    overlapped = OverlappedSha256()
    started = time.monotonic()
    for offset in range(0, len(whole), MAX_AHEAD // 2):
        overlapped.update(memoryview(whole)[offset : offset + MAX_AHEAD // 2], held=False)
        assert overlapped._ahead == 0  # costs no memory: counted as nothing held
    assert time.monotonic() - started < 0.05  # handed over without waiting for the (slow) worker
    assert overlapped.hexdigest() == hashlib.sha256(whole).hexdigest()
