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
_TRACESTATE = re.compile(r"[\x20-\x7e]*")


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

    A ``tracestate`` that is not printable ASCII within 512 characters is dropped, as the W3C rules say.
    """
    if not isinstance(traceparent, str) or len(traceparent) != 55 or not _TRACEPARENT.fullmatch(traceparent):
        return None
    state = tracestate if isinstance(tracestate, str) and len(tracestate) <= MAX_TRACESTATE and _TRACESTATE.fullmatch(tracestate) else ""
    return TraceContext(traceparent, state)


def from_headers(headers: Mapping[str, object] | None) -> TraceContext | None:
    """The context in a message's or request's headers, if they carry a valid one."""
    if not headers:
        return None
    return trace_context(headers.get(TRACEPARENT), headers.get(TRACESTATE, ""))
