"""W3C trace context (``traceparent`` and ``tracestate``): what an event carries so its listener continues the trace."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
MAX_TRACESTATE = 512  # the W3C limit a vendor must propagate
# version-traceid-spanid-flags, lower-case hex; all-zero ids and version ff are invalid.
_TRACEPARENT = re.compile(r"(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")
MAX_TRACESTATE_MEMBERS = 32
# One list member, key=value, by the W3C grammar (the one OpenTelemetry parses with: it logs each member it refuses).
_MEMBER = re.compile(
    r"([a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})"
    r"=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
)


@dataclass(frozen=True)
class TraceContext:
    """Where a trace stands: the ``traceparent`` of the span to continue, and the vendors' ``tracestate``."""

    traceparent: str
    tracestate: str = ""

    @property
    def trace_id(self) -> str:
        return self.traceparent[3:35]

    @property
    def span_id(self) -> str:
        return self.traceparent[36:52]

    def headers(self) -> dict[str, str]:
        """As W3C headers (the AMQP message's, an HTTP request's)."""
        return {TRACEPARENT: self.traceparent, **({TRACESTATE: self.tracestate} if self.tracestate else {})}


def trace_context(traceparent: object, tracestate: object = "") -> TraceContext | None:
    """The context when ``traceparent`` is a valid W3C value, else ``None``: a malformed one starts no trace and fails nothing.

    A ``tracestate`` that is not a W3C list (at most 32 ``key=value`` members, no key twice) within 512 characters is
    dropped, as the W3C rules say: never handed to OpenTelemetry, which would log every malformed one it is sent.
    """
    if not isinstance(traceparent, str) or len(traceparent) != 55 or not _TRACEPARENT.fullmatch(traceparent):
        return None
    return TraceContext(traceparent, tracestate if isinstance(tracestate, str) and _valid_tracestate(tracestate) else "")


def _valid_tracestate(value: str) -> bool:
    if len(value) > MAX_TRACESTATE:
        return False
    members = [member.strip(" \t") for member in value.split(",")]
    keys = [member.partition("=")[0] for member in members if member]
    return len(keys) <= MAX_TRACESTATE_MEMBERS and len(set(keys)) == len(keys) and all(_MEMBER.fullmatch(m) for m in members if m)


def from_headers(headers: Mapping[str, object] | None) -> TraceContext | None:
    """The context in a message's or request's headers, if they carry a valid one."""
    if not headers:
        return None
    return trace_context(headers.get(TRACEPARENT), headers.get(TRACESTATE, ""))
