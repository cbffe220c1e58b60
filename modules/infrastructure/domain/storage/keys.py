"""File keys checked before any backend sees them: a key names a file inside its namespace and nothing else.

A key is 1 to 1024 characters of segments joined by ``/``. Refused, each with an ``InvalidFileKeyError``
naming the rule: an empty, ``.`` or ``..`` segment (so no absolute path, no ``//``, no climbing out), a
segment starting with ``.`` (the backends keep their own files there), a backslash, a control or
format character (NUL, line breaks, bidirectional overrides, zero-width characters), characters that
look like ``/`` or ``.`` (fullwidth solidus, division slash, one-dot leader...), text that is not in
Unicode NFC form (two spellings of one name would be two files), and a segment over 255 bytes of UTF-8.
"""

from __future__ import annotations

import re
import unicodedata

from modules.infrastructure.domain.errors import InvalidFileKeyError

MAX_KEY = 1024
MAX_SEGMENT_BYTES = 255  # what Linux file systems allow in one name
MAX_NAMESPACE = 64
MAX_CURSOR = 8192  # a backend's listing cursor: the local disk's is base64url of a key (at most 4,096 bytes)
LOOKALIKES = frozenset("\uff0f\u2215\u2044\u29f8\u2571\u3033\uff3c\u29f5\u2216\ufe68\uff0e\u2024\u2025\u2026\ufe52\u3002")
_NAMESPACE = re.compile(rf"[a-z][a-z0-9_]{{0,{MAX_NAMESPACE - 1}}}")


def check_namespace(namespace: object) -> str:
    """A module-like name (lower-case letters, digits, ``_``; up to 64), or ``InvalidFileKeyError``."""
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise InvalidFileKeyError(
            f"A storage namespace is a module's name (lower-case letters, digits and '_', starting with a letter), not {str(namespace)[:80]!r}"
        )
    return namespace


def check_key(key: object) -> str:
    """``key`` when it names a file inside a namespace; else ``InvalidFileKeyError`` saying which rule it breaks."""
    if not isinstance(key, str):
        raise InvalidFileKeyError(f"A file key is text such as 'uploads/2026/report.pdf', not {type(key).__name__}")
    problem = _problem(key)
    if problem:
        raise InvalidFileKeyError(f"The file key {key[:120]!r} {problem}")
    return key


def check_prefix(prefix: object) -> str:
    """A listing prefix: ``""`` or the start of a key (it may end inside a segment or with ``/``)."""
    if prefix == "":
        return ""
    if not isinstance(prefix, str):
        raise InvalidFileKeyError(f"A listing prefix is text such as 'uploads/', not {type(prefix).__name__}")
    problem = _problem(prefix.removesuffix("/"))
    if problem:
        raise InvalidFileKeyError(f"The prefix {prefix[:120]!r} {problem}")
    return prefix


def check_cursor(cursor: object) -> str:
    """A listing cursor as a backend gave it (opaque here: the backend reads it and refuses one it did not
    give); checked only to be text of sane length without control characters."""
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR or not cursor.isprintable():
        raise InvalidFileKeyError(
            f"The listing cursor {str(cursor)[:80]!r} is not one a listing returned; pass the next_cursor of the previous page"
        )
    return cursor


def _problem(key: str) -> str | None:
    if not 0 < len(key) <= MAX_KEY:
        return f"must be 1 to {MAX_KEY:,} characters long (it is {len(key):,})"
    if "\\" in key:
        return "holds a backslash; separate folders with '/'"
    for character in key:
        category = unicodedata.category(character)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or (category == "Zs" and character != " "):
            return f"holds the character U+{ord(character):04X}, which a key may not contain (control, format or invisible)"
        if character in LOOKALIKES:
            return f"holds U+{ord(character):04X}, which looks like '/' or '.'; use the ASCII character"
    if unicodedata.normalize("NFC", key) != key:
        return "is not in Unicode NFC form; normalise it (unicodedata.normalize('NFC', key))"
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            return "has an empty, '.' or '..' segment; a key is a path inside the namespace, without '//' or a leading '/'"
        if segment.startswith("."):
            return f"has a segment starting with '.' ({segment[:40]!r}); those names are kept for the storage's own files"
        if segment != segment.strip():
            return "has a segment that starts or ends with a space"
        if len(segment.encode()) > MAX_SEGMENT_BYTES:
            return f"has a segment of {len(segment.encode())} bytes; at most {MAX_SEGMENT_BYTES}"
    return None
