"""How cached values are stored: text as UTF-8 bytes, objects as compact JSON text."""

from __future__ import annotations

import json
from typing import Any

from modules.infrastructure.domain.errors import CacheError, InvalidArgumentError

_MAX_KEY_SHOWN = 80


def encode(value: str | bytes) -> bytes:
    """The bytes stored for ``value``: ``str`` as UTF-8, ``bytes`` as given; anything else is an ``InvalidArgumentError``."""
    if isinstance(value, str):
        try:
            return value.encode()
        except UnicodeEncodeError:
            raise InvalidArgumentError("A cache value must be valid Unicode text; this one holds a lone surrogate") from None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise InvalidArgumentError(f"cache values are str or bytes, not {type(value).__name__}; use set_json() for objects")


def decode_text(key: str, raw: bytes) -> str:
    """``raw`` as text; a value that is not UTF-8 is a ``CacheError`` pointing at ``get_bytes``."""
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise CacheError(f"The value under {shown(key)} is not UTF-8 text; read it with get_bytes()") from exc


def dump_json(key: str, value: Any) -> str:
    """``value`` as compact JSON; a value JSON cannot hold is a ``CacheError`` at call time."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the encoder goes
        raise CacheError(f"Cannot cache {shown(key)} as JSON: {exc}; convert it to dicts, lists, str, numbers") from exc
    odd = _non_text_keys(value)
    if odd:  # json.dumps turns 1 into "1" and None into "null": get_json would not give the value back
        raise CacheError(f"Cannot cache {shown(key)} as JSON: a mapping has the key {odd[0]!r} ({type(odd[0]).__name__}); JSON keys are text")
    return text


def _non_text_keys(value: Any) -> list[object]:
    """The first mapping key in ``value`` that is not a ``str`` (JSON would turn it into one), in a list; else empty."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for name, child in item.items():
                if not isinstance(name, str):
                    return [name]
                pending.append(child)
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return []


def load_json(key: str, text: str) -> Any:
    """The object stored as JSON text; text that is not JSON is a ``CacheError``."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CacheError(f"The value under {shown(key)} is not JSON; it was not written with set_json()") from exc


def shown(key: str) -> str:
    """A key as it appears in messages: quoted and cut short."""
    return repr(key if len(key) <= _MAX_KEY_SHOWN else key[:_MAX_KEY_SHOWN] + "...")
