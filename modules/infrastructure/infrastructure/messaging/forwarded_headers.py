"""The headers of a message the consumer sends back for a retry or to its dead-letter queue.

The attempt count and the reason are added to the message's own headers; when those would not fit
in one AMQP header frame (or pika cannot encode them), they are dropped and the fact is said in a
header of its own, so the message still reaches its dead-letter queue instead of the broker closing
the connection with a frame error and the consumer dying on the same message at every restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pika.data

from modules.infrastructure.domain.messaging.handler_failure import describe

__all__ = ["ATTEMPTS_HEADER", "DROPPED_HEADER", "ERROR_HEADER", "describe", "forwarded_headers"]

ATTEMPTS_HEADER = "x-attempts"
ERROR_HEADER = "x-last-error"
DROPPED_HEADER = "x-headers-dropped"
MAX_REASON = 500
# Well under RabbitMQ's smallest frame_max (the default 131,072 bytes) with the other properties added.
HEADERS_BUDGET = 64 * 1024


def forwarded_headers(original: Mapping[str, Any] | None, attempts: int, error: str) -> dict[str, Any]:
    """``original`` with the attempt count and the reason, or without ``original`` when it cannot travel."""
    return with_headers(original, {ATTEMPTS_HEADER: attempts, ERROR_HEADER: short_reason(error)})


def short_reason(error: str) -> str:
    """``error`` cut to a header's length, as valid UTF-8 (a handler's message may hold a lone surrogate)."""
    return error[:MAX_REASON].encode("utf-8", "replace").decode()


def with_headers(original: Mapping[str, Any] | None, added: Mapping[str, Any]) -> dict[str, Any]:
    """``original`` with ``added``, or only ``added`` (and why) when ``original`` would not fit a header frame."""
    size = _encoded_size(dict(original or {}))
    if size is not None and size <= HEADERS_BUDGET:
        return {**(original or {}), **added}
    why = "could not be encoded" if size is None else f"took {size:,} bytes, over {HEADERS_BUDGET:,}"
    return {DROPPED_HEADER: f"the message's own headers {why}; they were dropped", **added}


def _encoded_size(headers: dict[str, Any]) -> int | None:
    try:
        return int(pika.data.encode_table([], headers))
    except Exception:  # any value pika cannot encode
        return None
