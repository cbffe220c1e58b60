"""Opaque keyset cursors: the sort values of a boundary row, bound to the query that gave them out.

A cursor is URL-safe base64 of ``{"v": values, "b": backwards, "h": digest}``; the digest covers the
query's fingerprint (model, sort keys, filters) and the values, so a cursor used with another query,
or edited, is refused. It is a check, not a signature: it stops mistakes, not a forger.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from modules.infrastructure.domain.database.query import NUL, Condition, SortKey, value_fits
from modules.infrastructure.domain.errors import InvalidCursorError

MAX_CURSOR_LENGTH = 4096


@dataclass(frozen=True)
class Cursor:
    """A decoded cursor: the boundary row's sort values, and whether to read the rows before it."""

    values: tuple[Any, ...]
    backwards: bool


def query_fingerprint(model: str, keys: Sequence[SortKey], conditions: Sequence[Condition]) -> str:
    """A digest of what a cursor belongs to: the model, its sort keys and its filters."""
    shape = repr((model, [(k.column, k.descending) for k in keys], [(c.column, c.operator, c.value) for c in conditions]))
    return hashlib.sha256(shape.encode("utf-8", "surrogatepass")).hexdigest()


def encode_cursor(values: Sequence[Any], backwards: bool, fingerprint: str) -> str:
    """The opaque cursor for a boundary row with these sort values."""
    encoded = [_encode_value(value) for value in values]
    payload = {"v": encoded, "b": backwards, "h": _digest(encoded, backwards, fingerprint)}
    text = json.dumps(payload, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: object, kinds: Sequence[str], fingerprint: str) -> Cursor:
    """The cursor's values, typed by the sort columns' ``kinds``; ``InvalidCursorError`` for anything else."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursorError(f"a cursor is a non-empty str of at most {MAX_CURSOR_LENGTH} characters, not {type(cursor).__name__}")
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError) as exc:  # RecursionError: JSON nested past the parser's depth
        raise InvalidCursorError("the cursor is not one this repository gave out (not base64 JSON)") from None
    if not isinstance(payload, dict) or set(payload) != {"v", "b", "h"} or not isinstance(payload["v"], list):
        raise InvalidCursorError("the cursor is not one this repository gave out (unexpected fields)")
    encoded, backwards = payload["v"], payload["b"]
    if not isinstance(backwards, bool) or payload["h"] != _digest(encoded, backwards, fingerprint):
        raise InvalidCursorError("the cursor belongs to another query (other model, sort or filters) or was changed")
    if len(encoded) != len(kinds):
        raise InvalidCursorError(f"the cursor holds {len(encoded)} sort values, the query sorts on {len(kinds)}")
    return Cursor(tuple(_decode_value(value, kind) for value, kind in zip(encoded, kinds)), backwards)


def _digest(encoded: list[Any], backwards: bool, fingerprint: str) -> str:
    text = json.dumps([fingerprint, encoded, backwards], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _encode_value(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise InvalidCursorError(f"a {type(value).__name__} sort value cannot go into a cursor; sort on another column")


_PARSERS: dict[str, Any] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "uuid": uuid.UUID,
}
_NATIVE: dict[str, type | tuple[type, ...]] = {"integer": int, "number": (int, float), "text": str, "bool": bool}


def _decode_value(value: Any, kind: str) -> Any:
    """The sort value, typed; it must also be one a filter could hold (the digest stops mistakes, not forgers)."""
    decoded = _typed(value, kind)
    if not value_fits(kind, decoded) or (isinstance(decoded, str) and NUL in decoded):
        raise InvalidCursorError(f"the cursor's sort value {value!r:.40} is not one a {kind} column holds")
    return decoded


def _typed(value: Any, kind: str) -> Any:
    try:
        if kind in _PARSERS and isinstance(value, str):
            return _PARSERS[kind](value)
        if kind == "number" and isinstance(value, str):
            return Decimal(value)
        native = _NATIVE.get(kind)
        if native is not None and isinstance(value, native) and (kind == "bool" or not isinstance(value, bool)):
            return value
        if kind == "other" and isinstance(value, (int, float, str)):
            return value
    except (ValueError, InvalidOperation) as exc:
        raise InvalidCursorError(f"the cursor's {kind} sort value {value!r:.40} is malformed") from exc
    raise InvalidCursorError(f"the cursor's sort value {value!r:.40} is not a {kind}")
