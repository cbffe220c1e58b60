"""Cache namespaces: each module's keys live under ``<namespace>:``, so modules cannot collide."""

from __future__ import annotations

import math
import re

from modules.infrastructure.domain.errors import InvalidArgumentError

SEPARATOR = ":"
# Ten years. Redis takes a TTL up to (2**63 - 1 - now) milliseconds and the in-memory cache any
# float; past this a TTL is a mistake (milliseconds given as seconds), not a wish.
MAX_TTL_SECONDS = 315_360_000
_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")
# The module's own keys (cached LLM answers, the shared rate-limit buckets): no sibling may read or clear them.
RESERVED_NAMESPACES = frozenset({"llm"})


def check_namespace(namespace: object) -> str:
    """``namespace`` when it is a module-like name (``lessons``, ``content_creation``); else ``InvalidArgumentError`` (a ``ValueError``)."""
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise InvalidArgumentError(
            f"Cache namespace {namespace!r} is not valid; use your module's name: a letter, then up to 63 "
            "letters, digits, '_', '.' or '-' (no ':' and no glob characters)"
        )
    return namespace


def check_module_namespace(namespace: object) -> str:
    """``check_namespace``, and not one the infrastructure keeps for itself (``llm``)."""
    checked = check_namespace(namespace)  # first: an unhashable namespace cannot be looked up in the set
    if checked in RESERVED_NAMESPACES:
        raise InvalidArgumentError(f"Cache namespace {checked!r} is the infrastructure's own; use your module's name")
    return checked


def check_key(key: object) -> str:
    """``key`` when it is a ``str``; else ``ValueError`` naming it (bytes are decoded by the caller, ``None`` is no key)."""
    if not isinstance(key, str):
        shown = repr(key) if len(repr(key)) <= 80 else repr(key)[:80] + "..."
        raise InvalidArgumentError(f"A cache key is a str, not {type(key).__name__} ({shown}); decode bytes first, e.g. key.decode()")
    if not key.isascii():
        try:
            key.encode()
        except UnicodeEncodeError:
            raise InvalidArgumentError(f"A cache key must be valid Unicode text; {key!r} holds a lone surrogate") from None
    return key


def check_ttl(ttl: float | None) -> float | None:
    """``ttl`` when it is ``None`` or a number of seconds above 0 and at most ``MAX_TTL_SECONDS``; else ``InvalidArgumentError`` (a ``ValueError``)."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not (0 < ttl <= MAX_TTL_SECONDS and math.isfinite(ttl)):
        raise InvalidArgumentError(
            f"ttl must be a positive number of seconds, at most {MAX_TTL_SECONDS} (10 years), or None for the default; "
            f"got {ttl!r}"
        )
    return float(ttl)
