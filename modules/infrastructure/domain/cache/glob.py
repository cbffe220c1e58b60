"""The glob dialect of ``invalidate_pattern``: Redis's own (``SCAN MATCH``), so both backends match alike.

Redis matches a pattern against a key byte by byte (``stringmatchlen`` in its ``util.c``):

- ``*`` any run of bytes, ``?`` exactly one byte (a non-ASCII character is several bytes in UTF-8);
- ``[abc]``, ``[a-z]`` one byte of the set, ``[^abc]`` one byte not in it; ``!`` is an ordinary
  byte (``[!a]`` is "``!`` or ``a``"), a reversed range ``[z-a]`` is ``[a-z]``, and a ``[`` with
  no closing ``]`` takes the rest of the pattern as its set (``[`` alone matches nothing);
- ``\\`` makes the next byte literal, inside a set too (``a\\*b`` is the three bytes ``a*b``).

``compile_glob`` turns a pattern into an equivalent regular expression over the UTF-8 bytes
of a key, for the in-memory cache. One thing is refused, on both backends: a range whose end is
not ASCII (``[à-ÿ]``), which Redis compares as C ``char``s, signed on some CPUs and not others.
"""

from __future__ import annotations

import re

from modules.infrastructure.domain.errors import InvalidArgumentError

_STAR, _QUESTION, _OPEN, _CLOSE, _CARET, _DASH, _ESCAPE = b"*?[]^-\\"


def check_pattern(pattern: object) -> str:
    """``pattern`` when the cache can match it the same way on every backend; else ``ValueError`` saying why."""
    text = _text(pattern)
    compile_glob(text)
    return text


def compile_glob(pattern: object) -> re.Pattern[bytes]:
    """A regular expression whose ``fullmatch`` on a key's UTF-8 bytes says what Redis's ``SCAN MATCH`` would."""
    text = _text(pattern)
    raw = text.encode()
    parts: list[bytes] = []
    i, n = 0, len(raw)
    while i < n:
        byte = raw[i]
        if byte == _STAR:
            while i + 1 < n and raw[i + 1] == _STAR:
                i += 1
            parts.append(b".*")
        elif byte == _QUESTION:
            parts.append(b".")
        elif byte == _OPEN:
            i, part = _byte_set(raw, i + 1, text)
            parts.append(part)
        elif byte == _ESCAPE and i + 1 < n:
            i += 1
            parts.append(_literal(raw[i]))
        else:
            parts.append(_literal(byte))
        i += 1
    return re.compile(b"".join(parts), re.DOTALL)


def _text(pattern: object) -> str:
    if not isinstance(pattern, str):
        raise InvalidArgumentError(f"A cache pattern is a str (a glob such as 'lesson:*'), not {type(pattern).__name__}")
    if not pattern.isascii():
        try:
            pattern.encode()
        except UnicodeEncodeError:
            raise InvalidArgumentError(f"A cache pattern must be valid Unicode text; {pattern!r} holds a lone surrogate") from None
    return pattern


def _byte_set(raw: bytes, i: int, pattern: str) -> tuple[int, bytes]:
    """The set opened by the ``[`` before ``raw[i]``: the index of its closing ``]`` (or of the last byte), and its regex."""
    n = len(raw)
    negate = i < n and raw[i] == _CARET
    if negate:
        i += 1
    members: set[int] = set()
    while i < n and raw[i] != _CLOSE:
        if raw[i] == _ESCAPE and i + 1 < n:
            i += 1
            members.add(raw[i])
        elif i + 2 < n and raw[i + 1] == _DASH:
            low, high = sorted((raw[i], raw[i + 2]))
            if high > 0x7F:
                raise InvalidArgumentError(
                    f"Cache pattern {pattern!r} has a range ending in a non-ASCII character, which Redis compares byte "
                    "by byte, differently on different CPUs; match non-ASCII characters with * instead"
                )
            members.update(range(low, high + 1))
            i += 2
        else:
            members.add(raw[i])
        i += 1
    if not members:
        return min(i, n - 1), b"." if negate else b"(?!)"
    body = b"".join(_in_set(byte) for byte in sorted(members))
    return min(i, n - 1), b"[" + (b"^" if negate else b"") + body + b"]"


def _literal(byte: int) -> bytes:
    return re.escape(bytes([byte]))


def _in_set(byte: int) -> bytes:
    return b"\\x%02x" % byte
