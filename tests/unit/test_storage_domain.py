"""Storage's domain rules, without I/O: content types from leading bytes, key rules, checked uploads, metadata."""

from __future__ import annotations

import hashlib

import pytest

from modules.infrastructure.domain.errors import ContentTypeNotAllowedError, FileTooLargeError, InvalidFileKeyError, StorageError
from modules.infrastructure.domain.storage.content_types import SNIFF_BYTES, allowed, detect
from modules.infrastructure.domain.storage.keys import check_key, check_prefix
from modules.infrastructure.domain.storage.metadata import check_metadata
from modules.infrastructure.domain.storage.upload import CheckedUpload


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n\x00", "image/png"), (b"\xff\xd8\xff\xe0", "image/jpeg"), (b"GIF89a..", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"), (b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"), (b"%PDF-1.7", "application/pdf"),
        (b"PK\x03\x04\x14\x00", "application/zip"), (b"\x1f\x8b\x08", "application/gzip"), (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"hello\nworld", "text/plain"), ("Grüße".encode(), "text/plain"), (b'{"a": 1}', "application/json"),
        (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"), (b"<svg/>", "image/svg+xml"),
        (b"<!DOCTYPE html><html>", "text/html"), (b"<?xml version='1.0'?><note/>", "application/xml"),
        (b"MZ\x90\x00\x03\x00", "application/octet-stream"), (b"text\x00with NUL", "application/octet-stream"),
        (b"\x01\x02\x03", "application/octet-stream"), (b"", "application/octet-stream"),
        ("é".encode()[:1], "application/octet-stream"), (b"\xff", "application/octet-stream"),  # a whole file ending inside a character
        (("x" * (SNIFF_BYTES - 1)).encode() + "é".encode()[:1], "text/plain"),  # a head cut inside one: more follows
        (b"<HTML><script>", "text/html"), (b"<script>alert(1)</script>", "text/html"), (b"<!-- c --><html>", "text/html"),
        (b"\n  <body onload=x>", "text/html"), (b"\xef\xbb\xbf<iframe src=x>", "text/html"), (b"<b>bold</b>", "text/html"),
        (b"<SVG onload=alert(1)>", "image/svg+xml"), (b"<!DOCTYPE svg PUBLIC>", "image/svg+xml"), (b"<bold claims>", "text/plain"),
        (b"BMW drivers rejoice", "text/plain"), (b"ID3 tags explained", "text/plain"), (b"fLaC is a codec", "text/plain"),
        (b"OggS is a page", "text/plain"), (b"xxxxftyp written by hand", "text/plain"),
        (b"BM" + b"\0" * 12 + (40).to_bytes(4, "little") + b"\0" * 20, "image/bmp"), (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"fLaC\x00\x00\x00\x22", "audio/flac"), (b"OggS\x00\x02", "audio/ogg"),
    ],
)
def test_the_content_type_comes_from_the_leading_bytes(head: bytes, kind: str) -> None:
    assert detect(head) == kind


def test_types_are_allowed_by_exact_name_or_pattern() -> None:
    assert allowed("image/png", ["image/*"]) and allowed("application/pdf", ["*"]) and not allowed("text/html", ["text/plain", "image/*"])


def test_a_type_that_can_carry_scripts_is_allowed_only_by_name_or_a_lone_star() -> None:
    assert not allowed("image/svg+xml", ["image/*"]) and not allowed("text/html", ["text/*"]) and not allowed("text/html", ["*/*"])
    assert allowed("image/svg+xml", ["image/svg+xml"]) and allowed("text/html", ["*"])


@pytest.mark.parametrize("key", ["a", "a/b/c.txt", "Ünïcode/ñ.pdf", "with space/x", "x" * 255, "/".join(["d"] * 500)])
def test_plain_paths_are_keys(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    "key",
    ["", "/a", "a/", "a//b", "./a", "a/../b", "..", ".env", "a/.git/config", "a\\b", "a\tb", "a\nb", "a\u200bb", "a\u202eb", "a\ufeffb",
     "a\u2215b", "a\u2024\u2024/b", "a\u3000b", " a", "a /b", "e\u0301", "x" * 256, "x" * 1025],
)
def test_anything_that_could_escape_or_deceive_is_not_a_key(key: str) -> None:
    with pytest.raises(InvalidFileKeyError):
        check_key(key)


def test_a_prefix_may_end_with_a_slash_or_inside_a_segment() -> None:
    assert check_prefix("plans/") == "plans/" and check_prefix("plans/20") == "plans/20" and check_prefix("") == ""
    with pytest.raises(InvalidFileKeyError):
        check_prefix("../")


def test_an_upload_is_counted_hashed_and_typed_as_it_streams() -> None:
    data = b"%PDF-" + bytes(range(256)) * 10
    upload = CheckedUpload(iter([data[:3], data[3:700], data[700:]]), len(data), ["application/pdf"])
    assert upload.content_type == "application/pdf" and b"".join(upload) == data
    facts = upload.facts()
    assert (facts.size, facts.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_an_upload_stops_at_the_first_byte_over_the_limit() -> None:
    read: list[int] = []

    def chunks():
        for index in range(100):
            read.append(index)
            yield b"a" * 100

    upload = CheckedUpload(chunks(), 1000, ["*"])
    with pytest.raises(FileTooLargeError):
        for _ in upload:
            pass
    assert len(read) == 11


def test_a_type_not_allowed_is_refused_before_any_chunk_is_handed_out() -> None:
    with pytest.raises(ContentTypeNotAllowedError, match="image/png"):
        CheckedUpload(b"\x89PNG\r\n\x1a\n", 100, ["application/pdf"])


def test_facts_are_known_only_once_read() -> None:
    with pytest.raises(StorageError, match="not read to its end"):
        CheckedUpload(b"abc", 10, ["*"]).facts()


@pytest.mark.parametrize(("metadata", "problem"), [({"a": "x" * 3000}, "at most 1,920"), ({f"k{i}": "v" for i in range(40)}, "at most 32"), ({"A": "x"}, "name"), ({"a": None}, "printable")])
def test_metadata_beyond_what_every_backend_keeps_is_refused(metadata: object, problem: str) -> None:
    with pytest.raises(StorageError, match=problem):
        check_metadata(metadata)
