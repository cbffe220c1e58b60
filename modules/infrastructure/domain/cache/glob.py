"""The glob dialect of ``invalidate_pattern``: Redis's own (``SCAN MATCH``), so both backends match alike.

Redis matches a pattern against a key byte by byte (``stringmatchlen`` in its ``util.c``):

- ``*`` any run of bytes, ``?`` exactly one byte (a non-ASCII character is several bytes in UTF-8);
- ``[abc]``, ``[a-z]`` one byte of the set, ``[^abc]`` one byte not in it; ``!`` is an ordinary
  byte (``[!a]`` is "``!`` or ``a``"), a reversed range ``[z-a]`` is ``[a-z]``, and a ``[`` with
  no closing ``]`` takes the rest of the pattern as its set (``[`` alone matches nothing);
- ``\\`` makes the next byte literal, inside a set too (``a\\*b`` is the three bytes ``a*b``).

``compile_glob`` turns a pattern into a matcher over the UTF-8 bytes of a key, for the in-memory and the near
cache. It matches in time proportional to the key's length times the pattern's (a regular expression would
backtrack exponentially on ``a*a*a*...b``). One thing is refused, on both backends: a range whose end is not
ASCII (``[à-ÿ]``), which Redis compares as C ``char``s, signed on some CPUs and not others.
"""

from __future__ import annotations

from modules.infrastructure.domain.errors import InvalidArgumentError

_STAR, _QUESTION, _OPEN, _CLOSE, _CARET, _DASH, _ESCAPE = b"*?[]^-\\"
MAX_STARS = 1000  # Redis's stringmatchlen gives up (no match) past this nesting


def check_pattern(pattern: object) -> str:
    """``pattern`` when the cache can match it the same way on every backend; else ``ValueError`` saying why."""
    text = _text(pattern)
    compile_glob(text)
    return text


class GlobPattern:
    """A compiled pattern: ``fullmatch(key_bytes)`` says what Redis's ``SCAN MATCH`` would."""

    def __init__(self, tokens: list[bytes | None]) -> None:
        self._tokens = tokens  # None: *; else a 256-byte table, 1 where the byte matches

    def fullmatch(self, key: bytes) -> bool:
        """Greedy matching that backs up to the last ``*`` only: O(len(key) x len(pattern)), never exponential."""
        tokens, p, k = self._tokens, 0, 0
        star, resume = -1, 0
        while k < len(key):
            token = tokens[p] if p < len(tokens) else b""
            if token is None:
                star, resume, p = p, k, p + 1
            elif token and token[key[k]]:
                p, k = p + 1, k + 1
            elif star >= 0:
                resume += 1
                p, k = star + 1, resume
            else:
                return False
        while p < len(tokens) and tokens[p] is None:
            p += 1
        return p == len(tokens)


_ANY = bytes([1]) * 256


def compile_glob(pattern: object) -> GlobPattern:
    """The matcher of ``pattern``; a pattern no backend can match alike is an ``InvalidArgumentError``."""
    text = _text(pattern)
    raw = text.encode()
    tokens: list[bytes | None] = []
    i, n = 0, len(raw)
    while i < n:
        byte = raw[i]
        if byte == _STAR:
            if not tokens or tokens[-1] is not None:  # ** is *
                tokens.append(None)
        elif byte == _QUESTION:
            tokens.append(_ANY)
        elif byte == _OPEN:
            i, table = _byte_set(raw, i + 1, text)
            tokens.append(table)
        elif byte == _ESCAPE and i + 1 < n:
            i += 1
            tokens.append(_one(raw[i]))
        else:
            tokens.append(_one(byte))
        i += 1
    stars = tokens.count(None)
    if stars > MAX_STARS:
        raise InvalidArgumentError(
            f"Cache pattern has {stars} runs of '*', more than Redis matches ({MAX_STARS}: past that it matches nothing)"
        )
    return GlobPattern(tokens)


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
    """The set opened by the ``[`` before ``raw[i]``: the index of its closing ``]`` (or of the last byte), and its table."""
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
    table = bytes(1 if (byte in members) != negate else 0 for byte in range(256))
    return min(i, n - 1), table


def _one(byte: int) -> bytes:
    table = bytearray(256)
    table[byte] = 1
    return bytes(table)
