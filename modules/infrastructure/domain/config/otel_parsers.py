"""Parsers of the OpenTelemetry settings' own forms: ``key=value`` lists (headers, resource attributes)."""

from __future__ import annotations

import re
from urllib.parse import unquote

from modules.infrastructure.domain.config.parsers import InvalidValue

_KEY = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")  # an HTTP header name's characters, which resource keys also use
_EXPECTED = "comma-separated key=value pairs, values percent-encoded (key1=value1,key2=value%20two)"

KeyValues = tuple[tuple[str, str], ...]


def key_values(raw: str) -> KeyValues:
    """The pairs of an ``OTEL_*`` list (W3C baggage form); the value is never shown in an error: it may be a credential."""
    pairs = []
    items = [item for item in raw.split(",") if item.strip()]
    for number, item in enumerate(items, start=1):
        key, sign, value = item.partition("=")
        key = key.strip()
        if not sign or not _KEY.fullmatch(key):
            raise InvalidValue(f"has an item {number} of {len(items)} that is not key=value with a plain key", _EXPECTED)
        pairs.append((key, unquote(value.strip())))
    return tuple(pairs)


_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")  # what an HTTP header's value may hold, once percent-decoded


def header_values(raw: str) -> KeyValues:
    """``key_values`` sent as HTTP headers: a value with a line break or a character outside printable ASCII would make
    every export fail in the export thread, so it is refused here (never shown: it may be a credential)."""
    pairs = key_values(raw)
    for number, (key, value) in enumerate(pairs, start=1):
        if not _HEADER_VALUE.fullmatch(value):
            raise InvalidValue(f"has a value for {key!r} (item {number}) that is not printable ASCII once decoded", _EXPECTED)
    return pairs
