"""How long a server asked the caller to wait before trying again: ``Retry-After`` and its millisecond variants."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER = 2_147_483.0  # seconds (24.8 days): a longer wait is no wait a call can make, and the figure stays printable


def parse_retry_after(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``x-ms-retry-after-ms`` or ``retry-after`` (seconds or HTTP date).

    ``headers`` must look names up case-insensitively (as HTTP header objects do) or be lower-case.
    """
    seconds = _asked(headers, now)
    return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


def _asked(headers: Mapping[str, str], now: Callable[[], float]) -> float | None:
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        millis = _number(headers.get(name))
        if millis is not None:
            return millis / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= 0 and number == number and number != float("inf") else None
