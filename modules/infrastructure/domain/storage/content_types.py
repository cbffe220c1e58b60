"""Content types detected from a file's leading bytes (never from its name or the caller's word)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

SNIFF_BYTES = 512  # how much of the head detection reads
OCTET_STREAM = "application/octet-stream"

# (offset, signature, content type), most specific first.
SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"OggS", "audio/ogg"),
    (0, b"fLaC", "audio/flac"),
    (0, b"\x1a\x45\xdf\xa3", "video/webm"),
    (4, b"ftyp", "video/mp4"),
    (0, b"BM", "image/bmp"),
)
RIFF_KINDS = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}


def detect(head: bytes) -> str:
    """The content type of a file that begins with ``head`` (its first ``SNIFF_BYTES`` bytes, or all of it)."""
    if head[:4] == b"RIFF" and head[8:12] in RIFF_KINDS:
        return RIFF_KINDS[head[8:12]]
    for offset, signature, kind in SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return kind
    return _text_kind(head) or OCTET_STREAM


def _text_kind(head: bytes) -> str | None:
    """UTF-8 text without control bytes (a multi-byte character cut at the end of the head is fine)."""
    if not head or b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:
            return None
        text = head[: exc.start].decode("utf-8")
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
        return None
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<svg") or (stripped.startswith("<?xml") and "<svg" in stripped):
        return "image/svg+xml"
    if stripped.startswith(("<!DOCTYPE html", "<!doctype html", "<html")):
        return "text/html"
    if stripped.startswith("<?xml"):
        return "application/xml"
    if stripped[:1] in ("{", "["):
        return "application/json"
    return "text/plain"


def allowed(content_type: str, patterns: Sequence[str]) -> bool:
    """True when ``content_type`` matches one of ``patterns`` (``image/*``, ``application/pdf``, ``*``)."""
    return any(fnmatch.fnmatchcase(content_type, pattern) for pattern in patterns)
