"""Content types detected from a file's leading bytes (never from its name or the caller's word).

Binary formats by their signature, checked beyond the first bytes where a signature is short enough to
open ordinary text (``BM``, ``ID3``, ``fLaC``); then UTF-8 text and its kinds, HTML recognised by the tags
browsers themselves sniff for (so markup that would run in a browser is never plain text).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence

SNIFF_BYTES = 512  # how much of the head detection reads
OCTET_STREAM = "application/octet-stream"
ACTIVE_TYPES = frozenset({"text/html", "image/svg+xml", "application/xhtml+xml"})  # can carry scripts


def _bmp(head: bytes) -> bool:
    """``BM``, reserved bytes zero and a known DIB header size: not text that happens to start with BM."""
    return head[6:10] == b"\0\0\0\0" and int.from_bytes(head[14:18], "little") in {12, 16, 40, 52, 56, 64, 108, 124}


def _id3(head: bytes) -> bool:
    return len(head) >= 10 and head[3] in (2, 3, 4) and head[4] != 0xFF and all(b < 0x80 for b in head[6:10])


# (offset, signature, content type, further check of the head or None), most specific first.
SIGNATURES: tuple[tuple[int, bytes, str, Callable[[bytes], bool] | None], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png", None),
    (0, b"\xff\xd8\xff", "image/jpeg", None),
    (0, b"GIF87a", "image/gif", None),
    (0, b"GIF89a", "image/gif", None),
    (0, b"%PDF-", "application/pdf", None),
    (0, b"PK\x03\x04", "application/zip", None),
    (0, b"\x1f\x8b\x08", "application/gzip", None),
    (0, b"ID3", "audio/mpeg", _id3),
    (0, b"OggS\x00", "audio/ogg", None),
    (0, b"fLaC", "audio/flac", lambda head: len(head) > 4 and head[4] & 0x7F == 0),
    (0, b"\x1a\x45\xdf\xa3", "video/webm", None),
    (4, b"ftyp", "video/mp4", lambda head: head[:4] != b"\0\0\0\0" and head[:3] == b"\0\0\0"),
    (0, b"BM", "image/bmp", _bmp),
)
RIFF_KINDS = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}
# What browsers take for HTML (the WHATWG sniffing table): one of these, case-insensitive, then a space or '>'.
HTML_START = re.compile(
    rb"<(?:!DOCTYPE HTML|HTML|HEAD|SCRIPT|IFRAME|H1|DIV|FONT|TABLE|A|STYLE|TITLE|B|BODY|BR|P|!--)[ \t\n\f\r>]", re.IGNORECASE
)
SVG_START = re.compile(rb"<(?:svg|!DOCTYPE svg)[ \t\n\f\r>/]", re.IGNORECASE)


def detect(head: bytes) -> str:
    """The content type of a file that begins with ``head``: its first ``SNIFF_BYTES`` bytes, or all of it."""
    if head[:4] == b"RIFF" and head[8:12] in RIFF_KINDS:
        return RIFF_KINDS[head[8:12]]
    for offset, signature, kind, check in SIGNATURES:
        if head[offset : offset + len(signature)] == signature and (check is None or check(head)):
            return kind
    return _text_kind(head) or OCTET_STREAM


def _text_kind(head: bytes) -> str | None:
    """UTF-8 text without control bytes; a multi-byte character may be cut only where the head was cut."""
    if not head or b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) < SNIFF_BYTES or exc.reason != "unexpected end of data":
            return None  # invalid UTF-8, or the whole file ends inside a character
        text = head[: exc.start].decode("utf-8")
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
        return None
    start = text.lstrip("\ufeff \t\r\n\f").encode()
    if start.startswith(b"<?xml"):
        return "image/svg+xml" if SVG_START.search(start) else "application/xml"
    if SVG_START.match(start):
        return "image/svg+xml"
    if HTML_START.match(start):
        return "text/html"
    if start[:1] in (b"{", b"["):
        return "application/json"
    return "text/plain"


def allowed(content_type: str, patterns: Sequence[str]) -> bool:
    """True when ``content_type`` matches one of ``patterns`` (``image/*``, ``application/pdf``, ``*``). A type
    that can carry scripts (HTML, SVG) matches only its own name or a lone ``*``, never ``image/*``/``text/*``."""
    if content_type in ACTIVE_TYPES:
        return content_type in patterns or "*" in patterns
    return any(fnmatch.fnmatchcase(content_type, pattern) for pattern in patterns)
