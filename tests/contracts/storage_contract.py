"""The storage port's contract, run against ``MemoryStorage`` (tests/service), the local disk (tests/service) and an
S3-compatible server (tests/integration), through ``FileStorage`` as a sibling module uses it.

A test class inherits ``StorageContract`` and provides ``backend``: an empty ``StorageBackend``::

    class TestMemoryStorage(StorageContract):
        @pytest.fixture
        def backend(self): return MemoryStorage()
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

import pytest

from modules.infrastructure.domain.config.values import StorageConfig
from modules.infrastructure.domain.storage.metadata import MAX_ENCODED, encoded
from modules.infrastructure.domain.storage.ports import StorageBackend
from modules.infrastructure.infrastructure.storage.file_storage import FileStorage
from modules.infrastructure.module_api import (
    ContentTypeNotAllowedError,
    FileTooLargeError,
    InvalidFileKeyError,
    StorageError,
    StoredFileNotFoundError,
)

PDF = b"%PDF-1.7\n" + b"x" * 3000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
LIMIT = 64 * 1024


class StorageContract:
    keys_are_paths = True  # False where 'a' and 'a/b' can both be keys (object storage)

    @pytest.fixture
    def files(self, backend: StorageBackend) -> FileStorage:
        return FileStorage(backend, "lessons", StorageConfig(max_file_size=LIMIT, allowed_types=("application/pdf", "image/*", "text/plain")))

    def test_a_saved_file_reads_back_with_its_facts(self, files: FileStorage) -> None:
        stored = files.save("plans/2026/week 1.pdf", PDF, metadata={"title": "Wöche 1", "owner-id": "42"})
        assert (stored.namespace, stored.key, stored.size, stored.content_type) == ("lessons", "plans/2026/week 1.pdf", len(PDF), "application/pdf")
        assert stored.sha256 == hashlib.sha256(PDF).hexdigest() and stored.created_at.tzinfo is not None
        assert files.read("plans/2026/week 1.pdf") == PDF
        info = files.info("plans/2026/week 1.pdf")
        assert (info.size, info.sha256, info.content_type, dict(info.metadata)) == (stored.size, stored.sha256, stored.content_type, {"title": "Wöche 1", "owner-id": "42"})
        assert files.exists("plans/2026/week 1.pdf") and not files.exists("plans/2026/week 2.pdf")

    def test_metadata_at_the_limit_is_kept_whole_and_one_byte_more_is_refused(self, files: FileStorage) -> None:
        def metadata(filler: int) -> dict[str, str]:  # spaces, non-ASCII, quotes and '%': all that encoding grows
            entries = {f"n{i}": "Wö %\"x " * 6 for i in range(12)}
            return {**entries, "last": "y" * filler}

        filler = 0
        while len(encoded(metadata(filler + 1))) <= MAX_ENCODED:
            filler += 1
        assert len(encoded(metadata(filler))) == MAX_ENCODED
        files.save("limit.pdf", PDF, metadata=metadata(filler))
        assert dict(files.info("limit.pdf").metadata) == metadata(filler)
        with pytest.raises(StorageError, match=f"at most {MAX_ENCODED:,}"):
            files.save("over.pdf", PDF, metadata=metadata(filler + 1))
        assert not files.exists("over.pdf")

    def test_a_key_and_a_key_below_it_are_both_kept_only_where_keys_are_names(self, files: FileStorage) -> None:
        files.save("a/b.pdf", PDF)
        files.save("c.pdf", PDF)
        if self.keys_are_paths:  # local disk, and the fake that stands for it: 'a' would be a file and a folder
            for clash in ("a", "c.pdf/d.pdf"):
                with pytest.raises(InvalidFileKeyError, match="clashes"):
                    files.save(clash, PDF)
            assert sorted(f.key for f in files.list().files) == ["a/b.pdf", "c.pdf"]
        else:  # object storage: keys are names, 'a' and 'a/b' are two objects
            files.save("a", PDF)
            files.save("c.pdf/d.pdf", PDF)
            assert sorted(f.key for f in files.list().files) == ["a", "a/b.pdf", "c.pdf", "c.pdf/d.pdf"]

    def test_a_stream_is_saved_and_opened_in_chunks(self, files: FileStorage) -> None:
        files.save("a.pdf", io.BytesIO(PDF))
        files.save("b.pdf", iter([PDF[:10], PDF[10:2000], PDF[2000:]]))
        chunks = list(files.open("a.pdf", chunk_size=1000))
        assert b"".join(chunks) == PDF and max(len(c) for c in chunks) <= 1000 and files.read("b.pdf") == PDF

    def test_saving_again_replaces_the_file(self, files: FileStorage) -> None:
        files.save("a.pdf", PDF)
        files.save("a.pdf", PNG)
        assert files.read("a.pdf") == PNG and files.info("a.pdf").content_type == "image/png"

    def test_the_type_comes_from_the_bytes_not_the_name(self, files: FileStorage) -> None:
        assert files.save("photo.pdf", PNG).content_type == "image/png"
        with pytest.raises(ContentTypeNotAllowedError, match="application/zip"):
            files.save("sheet.pdf", b"PK\x03\x04" + b"\x00" * 50)
        with pytest.raises(ContentTypeNotAllowedError, match="does not allow"):
            files.save("only-images.png", PDF, allowed_types=["image/*"])
        assert not files.exists("sheet.pdf") and not files.exists("only-images.png")

    def test_a_file_over_the_limit_is_refused_while_it_streams_and_leaves_nothing(self, files: FileStorage, backend: StorageBackend) -> None:
        def stream() -> Iterator[bytes]:
            yield PDF
            yield b"y" * LIMIT
            raise AssertionError("read past the limit")

        with pytest.raises(FileTooLargeError, match="65,536-byte limit"):
            files.save("big.pdf", stream())
        with pytest.raises(FileTooLargeError):
            files.save("small-limit.pdf", PDF, max_size=100)
        assert not files.exists("big.pdf") and files.list().files == () and backend.stats().files == 0

    def test_a_source_that_fails_leaves_nothing(self, files: FileStorage) -> None:
        def broken() -> Iterator[bytes]:
            yield PDF
            raise OSError("the upload's connection dropped")

        with pytest.raises(OSError, match="dropped"):
            files.save("cut.pdf", broken())
        assert not files.exists("cut.pdf") and files.list().files == ()

    def test_listing_pages_through_keys_in_order(self, files: FileStorage) -> None:
        for name in ("b", "a", "c/1", "c/2", "d"):
            files.save(f"{name}.pdf" if "/" not in name else name, PDF)
        first = files.list(limit=2)
        second = files.list(limit=2, cursor=first.next_cursor)
        third = files.list(limit=2, cursor=second.next_cursor)
        keys = [f.key for page in (first, second, third) for f in page.files]
        assert keys == ["a.pdf", "b.pdf", "c/1", "c/2", "d.pdf"] and third.next_cursor is None
        assert [f.key for f in files.list("c/").files] == ["c/1", "c/2"]

    def test_listing_pages_past_keys_of_a_thousand_characters_and_more(self, files: FileStorage) -> None:
        """Multi-byte characters too, within S3's 1,024 bytes for the whole object name."""
        keys = [f"{'é' + 'q' * 198}/{'q' * 200}/{'文' + 'q' * 199}/{'q' * 200}/{'q' * 195}-{n}" for n in range(3)]
        assert all(len(key) >= 1000 for key in keys)
        for key in keys:
            files.save(key, PDF)
        listed, cursor = [], None
        for _ in keys:
            page = files.list(limit=1, cursor=cursor)
            listed += [f.key for f in page.files]
            cursor = page.next_cursor
        assert listed == keys and cursor is None

    def test_namespaces_do_not_see_each_other(self, files: FileStorage, backend: StorageBackend) -> None:
        other = FileStorage(backend, "billing", StorageConfig())
        files.save("a.pdf", PDF)
        other.save("a.pdf", PNG)
        assert files.read("a.pdf") == PDF and other.read("a.pdf") == PNG and [f.key for f in other.list().files] == ["a.pdf"]
        stats = files.stats()
        assert (stats.files, stats.bytes) == (2, len(PDF) + len(PNG)) and dict(stats.by_namespace) == {"lessons": (1, len(PDF)), "billing": (1, len(PNG))}

    def test_delete_removes_and_says_whether_there_was_a_file(self, files: FileStorage) -> None:
        files.save("a.pdf", PDF)
        assert files.delete("a.pdf") is True and files.delete("a.pdf") is False
        for call in (lambda: files.read("a.pdf"), lambda: files.info("a.pdf"), lambda: list(files.open("a.pdf"))):
            with pytest.raises(StoredFileNotFoundError, match="a.pdf"):
                call()

    def test_a_download_url_names_the_file(self, files: FileStorage) -> None:
        files.save("a.pdf", PDF)
        assert files.download_url("a.pdf", expires_in=60)
        with pytest.raises(StoredFileNotFoundError):
            files.download_url("missing.pdf")

    @pytest.mark.parametrize(
        "key", ["../escape", "/etc/passwd", "a//b", "a/./b", "a\\b", "a\x00b", ".hidden", "a/\u202egnp.exe", "a\uff0f..\uff0fb", "e\u0301", "", "x" * 2000, 5, None]
    )
    def test_keys_that_could_escape_the_namespace_are_refused(self, files: FileStorage, key: object) -> None:
        with pytest.raises(InvalidFileKeyError):
            files.save(key, PDF)  # type: ignore[arg-type]
        assert files.list().files == ()

    @pytest.mark.parametrize(
        ("call", "problem"),
        [
            (lambda f: f.save("a.pdf", "text, not bytes"), "encode text first"),
            (lambda f: f.save("a.pdf", 12345), "not int"),
            (lambda f: f.save("a.pdf", [b"%PDF-", "str"]), "a chunk was str"),
            (lambda f: f.save("a.pdf", PDF, metadata={"Bad Name": "x"}), "Metadata name"),
            (lambda f: f.save("a.pdf", PDF, metadata={"n": "line\nbreak"}), "printable"),
            (lambda f: f.save("a.pdf", PDF, metadata={"n": "x" * 5000}), "at most 1,920"),
            (lambda f: f.save("a.pdf", PDF, max_size=LIMIT + 1), "max_size"),
            (lambda f: f.save("a.pdf", PDF, max_size=0), "max_size"),
            (lambda f: f.save("a.pdf", PDF, allowed_types="image/*"), "allowed_types"),
            (lambda f: f.list(limit=0), "limit"),
            (lambda f: f.list(limit=10**9), "limit"),
            (lambda f: f.list(cursor="a\nb"), "listing cursor"),
            (lambda f: f.list(cursor="k" * 9000), "listing cursor"),
            (lambda f: f.list(cursor=7), "listing cursor"),
            (lambda f: f.download_url("a.pdf", expires_in=10**9), "expires_in"),
            (lambda f: f.download_url("a.pdf", expires_in=float("nan")), "expires_in"),
            (lambda f: list(f.open("a.pdf", chunk_size=0)), "chunk_size"),
        ],
    )
    def test_bad_input_is_a_storage_error_and_leaves_nothing(self, files: FileStorage, call, problem: str) -> None:
        with pytest.raises(StorageError, match=problem):
            call(files)
        assert files.list().files == ()
