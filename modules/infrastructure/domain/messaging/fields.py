"""The rules every envelope field follows, checked when ``publish_event`` builds an event and when one is read back.

Each check returns the first problem found, as text that names the field (``payload['tags'][2]``)
and the kind of value. It shows no text value, only keys (cut short) and numbers: a reason ends
up in the outbox and in logs.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone

MAX_PRIORITY = 9
AMQP_SHORT_STRING = 255  # queue names, message type, app id, correlation id and header keys are AMQP short strings
MAX_NESTING = 100  # levels of lists and objects in a payload or a header value; JSON parsers recurse per level
AMQP_LONG = (-(2**63), 2**63 - 1)  # an AMQP field table holds signed 64-bit integers at most
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

Leaf = Callable[[object], str | None]  # the problem with a scalar (not a list or object), or None


def kind(value: object) -> str:
    """The name of a value's type, as a message shows it (never the value)."""
    return "None" if value is None else type(value).__name__


def name_problem(field: str, value: object, *, optional: bool = False) -> str | None:
    """A name AMQP carries as a short string: non-empty text, at most 255 bytes of UTF-8, no control characters."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        return f"{field} must be a string{' or None' if optional else ''}, not {kind(value)}"
    if not value.strip():
        return f"{field} must be non-empty (it is {'blank' if value else 'empty'})"
    try:
        size = len(value.encode())
    except UnicodeEncodeError:
        return f"{field} is not valid Unicode text (it holds a lone surrogate)"
    if size > AMQP_SHORT_STRING:
        return f"{field} is {size} bytes; AMQP carries at most {AMQP_SHORT_STRING} bytes there: use a shorter name"
    if _CONTROL.search(value):
        return f"{field} contains a control character (a newline, tab, NUL, ...): names are plain text"
    return None


def priority_problem(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"priority must be a whole number from 0 to {MAX_PRIORITY}, not {kind(value)}"
    if not 0 <= value <= MAX_PRIORITY:
        return f"priority must be a whole number from 0 to {MAX_PRIORITY}, got {value}"
    return None


def payload_problem(value: object, max_bytes: int | None = None) -> str | None:
    """JSON only: objects with string keys, arrays (lists, tuples), strings, numbers, booleans, None.

    ``max_bytes`` stops the walk early: every value takes at least a byte encoded, so a payload with
    more values than that cannot fit (one list shared a million times is small in memory, not in JSON).
    """
    return _walk(value, "payload", _json_leaf, max_bytes=max_bytes)


def headers_problem(value: object, max_bytes: int | None = None) -> str | None:
    """A mapping of names to values both JSON and an AMQP field table can hold (64-bit integers at most)."""
    if not isinstance(value, Mapping):
        return f"headers must be a mapping of string keys to values, not {kind(value)}"
    for key, item in value.items():
        problem = (
            _key_problem("headers", key)
            or name_problem(f"headers key {_shown(key)}", key)
            or _walk(item, f"headers[{_shown(key)}]", _header_leaf, depth=1, max_bytes=max_bytes)
        )
        if problem:
            return problem
    return None


def timestamp_problem(value: object) -> str | None:
    """ISO 8601, from 1970 on: AMQP's timestamp property is an unsigned count of seconds since then."""
    if not isinstance(value, str):
        return f"timestamp must be an ISO 8601 string, not {kind(value)}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return "timestamp is not an ISO 8601 date and time"
    if (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)) < _EPOCH:
        return "timestamp is before 1970-01-01, which AMQP cannot carry"
    return None


def _walk(root: object, where: str, leaf: Leaf, depth: int = 0, max_bytes: int | None = None) -> str | None:
    """The first problem in ``root``, walked without recursion so that no nesting can exhaust the stack."""
    stack: list[tuple[object, str, int]] = [(root, where, depth)]
    seen = 0
    while stack:
        value, path, level = stack.pop()
        seen += 1
        if max_bytes is not None and seen > max_bytes:
            return f"{where} holds over {max_bytes:,} values: it cannot fit in the {max_bytes:,}-byte limit (MESSAGING_MAX_PAYLOAD_BYTES)"
        if isinstance(value, (dict, list, tuple)):
            if level >= MAX_NESTING:
                return f"{path} is nested more than {MAX_NESTING} levels deep"
            if isinstance(value, dict):
                for key, item in value.items():
                    problem = _key_problem(path, key)
                    if problem:
                        return problem
                    stack.append((item, f"{path}[{_shown(key)}]", level + 1))
            else:
                stack.extend((item, f"{path}[{index}]", level + 1) for index, item in enumerate(value))
            continue
        problem = leaf(value)
        if problem:
            return f"{path} {problem}"
    return None


def _key_problem(path: str, key: object) -> str | None:
    if isinstance(key, str):
        return None
    silently = ""
    if key is None or isinstance(key, (int, float)):
        silently = f" (JSON would silently turn it into the key \"{json.dumps(key)}\")"
    return f"{path} has a key of type {kind(key)}{silently}: object keys must be strings"


def _json_leaf(value: object) -> str | None:
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "is a float that is not finite (NaN or infinity), which JSON cannot hold"
    return f"is of type {kind(value)}, which JSON cannot hold: use dicts, lists, strings, numbers, booleans and None"


def _header_leaf(value: object) -> str | None:
    """What JSON holds, with integers in AMQP's signed 64-bit range and text that is valid UTF-8."""
    if isinstance(value, int) and not isinstance(value, bool) and not AMQP_LONG[0] <= value <= AMQP_LONG[1]:
        return "is an integer outside the signed 64-bit range an AMQP header can carry"
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return "is not valid Unicode text (it holds a lone surrogate)"
    return _json_leaf(value)


def _shown(key: object) -> str:
    """A key as a path shows it: its repr, cut short."""
    text = repr(key)
    return text if len(text) <= 40 else text[:37] + "..."
