"""The local-disk storage backend on a tmp_path folder: layout, modes, atomic saves, nothing left behind,
listing order and paging, deletes, statistics, the start-up check, the temporary-file sweep."""

from __future__ import annotations

import base64
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modules.infrastructure.domain.config.values import StorageConfig
from modules.infrastructure.domain.errors import (
    ContentTypeNotAllowedError,
    FileTooLargeError,
    InvalidFileKeyError,
    StorageError,
    StoredFileNotFoundError,
)
from modules.infrastructure.domain.storage.upload import CheckedUpload
from modules.infrastructure.infrastructure.storage.file_storage import FileStorage
from modules.infrastructure.infrastructure.storage.local_disk import LocalDiskBackend

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def upload(data: bytes | Iterator[bytes], max_size: int = 10**9, allowed: tuple[str, ...] = ("*",)) -> CheckedUpload:
    return CheckedUpload(data, max_size, allowed)


@pytest.fixture
def backend(tmp_path: Path) -> LocalDiskBackend:
    return LocalDiskBackend(tmp_path / "store")


def files_under(folder: Path) -> list[str]:
    """Files and folders below ``folder``, but the namespace's lock file."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.name != ".lock")


def test_a_saved_file_reads_back_with_its_facts_and_non_ascii_metadata(backend: LocalDiskBackend) -> None:
    metadata = {"title": "Résumé — 履歴書 ✓", "owner": "Zoë"}
    saved = backend.save("docs", "cv/2026/résumé.txt", upload(b"hello world"), metadata)
    assert (saved.size, saved.content_type, saved.metadata) == (11, "text/plain", metadata)
    reread = LocalDiskBackend(backend.root).info("docs", "cv/2026/résumé.txt")
    assert reread == saved
    assert b"".join(backend.open("docs", "cv/2026/résumé.txt", 4)) == b"hello world"


def test_the_layout_is_the_key_under_the_namespace_with_private_modes(backend: LocalDiskBackend) -> None:
    backend.save("docs", "a/b.png", upload(PNG))
    data = backend.root / "docs" / "a" / "b.png"
    assert data.read_bytes() == PNG
    for path in [data, *data.parent.glob(".meta-*.json")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    for folder in (backend.root, backend.root / "docs", data.parent):
        assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0
    assert [p.name for p in data.parent.iterdir() if p.name.startswith(".tmp-")] == []


def test_saving_again_replaces_the_file_and_its_facts(backend: LocalDiskBackend) -> None:
    backend.save("docs", "k", upload(b"first version"), {"v": "1"})
    backend.save("docs", "k", upload(PNG), {"v": "2"})
    info = backend.info("docs", "k")
    assert (info.content_type, info.size, info.metadata) == ("image/png", len(PNG), {"v": "2"})
    assert len(list((backend.root / "docs").glob(".meta-*"))) == 1


def failing_source() -> Iterator[bytes]:
    yield b"x" * 1000
    raise RuntimeError("the caller's stream broke")


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: upload(iter([b"a" * 600, b"b" * 600]), max_size=1000), FileTooLargeError),
        (lambda: upload(failing_source()), RuntimeError),
    ],
)
def test_a_failed_upload_leaves_nothing_behind(backend: LocalDiskBackend, make: object, error: type[Exception]) -> None:
    backend.save("docs", "other", upload(b"kept"))
    before = files_under(backend.root)
    with pytest.raises(error):
        backend.save("docs", "deep/new/file", make())  # type: ignore[operator]
    assert files_under(backend.root) == before
    assert not backend.exists("docs", "deep/new/file")


def test_a_type_not_allowed_is_refused_before_any_byte_is_written(backend: LocalDiskBackend) -> None:
    with pytest.raises(ContentTypeNotAllowedError):
        backend.save("docs", "x", upload(b"plain text", allowed=("image/*",)))
    assert files_under(backend.root) == []


def test_a_failed_replacement_keeps_the_old_file(backend: LocalDiskBackend) -> None:
    backend.save("docs", "k", upload(b"old whole file"))
    with pytest.raises(RuntimeError):
        backend.save("docs", "k", upload(failing_source()))
    assert b"".join(backend.open("docs", "k", 1024)) == b"old whole file"


def test_missing_files_are_not_found(backend: LocalDiskBackend) -> None:
    backend.save("docs", "folder/file", upload(b"x"))
    for key in ("absent", "folder", "folder/file/below"):
        assert not backend.exists("docs", key)
        with pytest.raises(StoredFileNotFoundError):
            backend.info("docs", key)
        with pytest.raises(StoredFileNotFoundError):
            backend.open("docs", key, 10)
        assert backend.delete("docs", key) is False


def test_a_key_clashing_with_a_stored_file_or_folder_is_a_clear_error(backend: LocalDiskBackend) -> None:
    backend.save("docs", "a/b", upload(b"x"))
    with pytest.raises(InvalidFileKeyError, match="clashes"):
        backend.save("docs", "a", upload(b"y"))
    with pytest.raises(InvalidFileKeyError, match="clashes"):
        backend.save("docs", "a/b/c", upload(b"y"))


def test_a_save_refused_because_a_folder_holds_the_key_leaves_no_sidecar(backend: LocalDiskBackend) -> None:
    backend.save("docs", "a/b", upload(b"x"))
    before = files_under(backend.root)
    with pytest.raises(InvalidFileKeyError, match="clashes"):
        backend.save("docs", "a", upload(b"y"))
    assert files_under(backend.root) == before
    assert backend.info("docs", "a/b").size == 1


def test_delete_removes_the_file_its_sidecar_and_empty_folders(backend: LocalDiskBackend) -> None:
    backend.save("docs", "keep", upload(b"x"))
    backend.save("docs", "a/b/c/file", upload(b"x"))
    assert backend.delete("docs", "a/b/c/file") is True
    assert not (backend.root / "docs" / "a").exists()
    assert (backend.root / "docs").is_dir()
    assert backend.delete("docs", "a/b/c/file") is False


def test_reading_stopped_early_closes_the_file(backend: LocalDiskBackend) -> None:
    backend.save("docs", "big", upload(b"z" * 100_000))
    open_before = len(os.listdir("/proc/self/fd"))
    chunks = backend.open("docs", "big", 1000)
    assert next(chunks) == b"z" * 1000
    chunks.close()  # type: ignore[attr-defined]
    assert len(os.listdir("/proc/self/fd")) == open_before


def save_all(backend: LocalDiskBackend, keys: list[str]) -> None:
    for key in keys:
        backend.save("docs", key, upload(key.encode()))


def listed(backend: LocalDiskBackend, prefix: str = "", limit: int = 2) -> list[str]:
    keys: list[str] = []
    cursor = None
    while True:
        page = backend.list("docs", prefix, limit, cursor)
        keys += [stored.key for stored in page.files]
        if page.next_cursor is None:
            return keys
        cursor = page.next_cursor


def test_listing_is_in_key_order_across_folders_and_pages(backend: LocalDiskBackend) -> None:
    keys = ["b", "a/b", "a-b", "a/a/z", "a0", "é", "a/c"]
    save_all(backend, keys)
    (backend.root / "docs" / ".tmp-leftover").write_bytes(b"")
    assert listed(backend, limit=1) == sorted(keys)
    assert listed(backend, limit=100) == sorted(keys)
    assert listed(backend, prefix="a/") == ["a/a/z", "a/b", "a/c"]
    assert listed(backend, prefix="a") == ["a-b", "a/a/z", "a/b", "a/c", "a0"]
    assert listed(backend, prefix="zz") == []


def test_a_listing_continues_past_files_saved_and_deleted_between_pages(backend: LocalDiskBackend) -> None:
    save_all(backend, ["a", "c", "e", "g"])
    first = backend.list("docs", "", 2, None)
    assert [f.key for f in first.files] == ["a", "c"]
    save_all(backend, ["b", "f"])
    backend.delete("docs", "e")
    rest = backend.list("docs", "", 10, first.next_cursor)
    assert [f.key for f in rest.files] == ["f", "g"]


def test_a_listing_pages_past_a_key_longer_than_191_bytes(tmp_path: Path) -> None:
    files = FileStorage(LocalDiskBackend(tmp_path / "store"), "lessons", StorageConfig(url=str(tmp_path / "store")))
    keys = [f"reports/2026/{'q' * 180}-{n}.pdf" for n in range(3)]
    for key in keys:
        files.save(key, b"%PDF-1.7")
    first = files.list("reports/", limit=1)
    second = files.list("reports/", limit=1, cursor=first.next_cursor)
    assert [f.key for f in first.files + second.files] == keys[:2]


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%not-base64%%%",
        base64.urlsafe_b64encode(b"a").decode(),  # padded
        "YR",  # 'a' with trailing bits set
        "Y",
        base64.urlsafe_b64encode(b"../x").decode().rstrip("="),  # not a key
        base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="),  # not UTF-8
        "a b",
    ],
)
def test_a_cursor_that_was_not_given_is_refused(backend: LocalDiskBackend, cursor: str) -> None:
    backend.save("docs", "a", upload(b"x"))
    with pytest.raises(InvalidFileKeyError, match="listing cursor"):
        backend.list("docs", "", 10, cursor)


def test_statistics_count_files_and_bytes_per_namespace(backend: LocalDiskBackend) -> None:
    backend.save("docs", "a/1", upload(b"12345"))
    backend.save("docs", "b", upload(b"123"))
    backend.save("images", "x.png", upload(PNG))
    stats = backend.stats()
    assert dict(stats.by_namespace) == {"docs": (2, 8), "images": (1, len(PNG))}
    assert (stats.files, stats.bytes) == (3, 8 + len(PNG))


def test_the_check_reports_free_space_and_leaves_no_probe(backend: LocalDiskBackend) -> None:
    assert "free" in backend.check()
    assert files_under(backend.root) == []
    assert str(backend.root) in backend.describe()


def test_the_check_fails_clearly_when_the_folder_cannot_be_written(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(StorageError, match="not writable"):
        LocalDiskBackend(tmp_path / "file" / "store").check()


def test_concurrent_saves_of_one_key_leave_one_whole_file_with_its_own_facts(backend: LocalDiskBackend) -> None:
    payloads = [bytes([65 + n]) * (200_000 + n) for n in range(8)]
    threads = [threading.Thread(target=backend.save, args=("docs", "same", upload(p), {"n": str(n)})) for n, p in enumerate(payloads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    data = b"".join(backend.open("docs", "same", 65536))
    info = backend.info("docs", "same")
    assert data in payloads
    assert info.metadata == {"n": str(payloads.index(data))}
    assert info.size == len(data)
    assert [p for p in (backend.root / "docs").iterdir() if p.name.startswith(".tmp-")] == []


def test_the_sweep_removes_old_temporary_files_and_keeps_young_ones(tmp_path: Path) -> None:
    folder = tmp_path / "store" / "docs" / "a"
    folder.mkdir(parents=True)
    old, young = folder / ".tmp-old", folder / ".tmp-young"
    old.write_bytes(b"abandoned")
    young.write_bytes(b"being written")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    backend = LocalDiskBackend(tmp_path / "store", temp_max_age=3600)
    assert backend.exists("docs", "a/x") is False  # first use sweeps
    assert not old.exists() and young.exists()
    os.utime(young, (time.time() - 7200, time.time() - 7200))
    assert backend.sweep_temporary_files() == 1
    assert not young.exists()


def test_a_stream_failing_with_an_os_error_keeps_its_own_error(backend: LocalDiskBackend) -> None:
    def dropped() -> Iterator[bytes]:
        yield b"start"
        raise ConnectionResetError("the client went away")

    with pytest.raises(ConnectionResetError, match="went away"):
        backend.save("docs", "cut", upload(dropped()))
    assert files_under(backend.root) == []


def test_a_long_running_process_sweeps_again_in_the_background_once_the_age_has_passed(tmp_path: Path) -> None:
    backend = LocalDiskBackend(tmp_path / "store", temp_max_age=120)
    backend.save("docs", "a/x", CheckedUpload(b"kept", 100, ["*"]), {})  # the first use sweeps (nothing yet)
    abandoned = tmp_path / "store" / "docs" / "a" / ".tmp-crashed"
    abandoned.write_bytes(b"left by a crash")
    os.utime(abandoned, (time.time() - 600, time.time() - 600))
    assert backend.exists("docs", "a/x") and abandoned.exists()  # the next sweep is due in two minutes, not yet
    backend._next_sweep = time.monotonic() - 1  # two minutes later
    assert backend.exists("docs", "a/x")  # due: a sweep starts on a thread of its own
    deadline = time.monotonic() + 5
    while abandoned.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not abandoned.exists() and backend.exists("docs", "a/x")
    assert backend._next_sweep > time.monotonic() + 100  # and the one after is two minutes away again
