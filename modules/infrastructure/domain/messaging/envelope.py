"""Building, encoding and decoding event envelopes (seed 000's message format)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.messaging.fields import (
    headers_problem,
    kind,
    name_problem,
    payload_problem,
    priority_problem,
    timestamp_problem,
)
from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.domain.tracing.trace_context import TRACEPARENT, TRACESTATE, TraceContext, trace_context

REQUIRED = ("id", "type", "source", "destination", "timestamp")


def new_envelope(
    destination: str,
    payload: Any,
    *,
    event_type: str,
    source: str,
    correlation_id: str | None = None,
    priority: int = 0,
    headers: Mapping[str, Any] | None = None,
    max_bytes: int = 1_048_576,
    trace: TraceContext | None = None,
) -> tuple[Envelope, bytes]:
    """A new envelope and its encoded body; raises ``MessagingError`` naming the field before anything is stored."""
    problem = (
        name_problem("destination", destination)
        or name_problem("event_type", event_type)
        or name_problem("source", source)
        or name_problem("correlation_id", correlation_id, optional=True)
        or priority_problem(priority)
    )
    if problem:
        raise MessagingError(f"publish_event's {problem}")
    problem = headers_problem({} if headers is None else headers, max_bytes) or payload_problem(payload, max_bytes)
    if problem:
        raise MessagingError(f"Event '{event_type}' cannot be stored: {problem}")
    envelope = Envelope(
        id=str(uuid.uuid4()),
        type=event_type,
        source=source,
        destination=destination,
        payload=payload,
        timestamp=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        priority=priority,
        correlation_id=correlation_id,
        headers=dict(headers or {}),
        trace=trace,
    )
    body = encode(envelope)
    if len(body) > max_bytes:
        raise MessagingError(
            f"Event '{event_type}' for '{destination}' is {len(body):,} bytes encoded, over the "
            f"{max_bytes:,}-byte limit (MESSAGING_MAX_PAYLOAD_BYTES); send a reference to the data instead"
        )
    return envelope, body


def encode(envelope: Envelope) -> bytes:
    """The envelope as UTF-8 JSON; a payload or header that JSON cannot hold is a ``MessagingError``."""
    data = {
        "id": envelope.id,
        "type": envelope.type,
        "source": envelope.source,
        "destination": envelope.destination,
        "priority": envelope.priority,
        "timestamp": envelope.timestamp,
        "correlation_id": envelope.correlation_id,
        "payload": envelope.payload,
        "headers": dict(envelope.headers),
    }
    if envelope.trace is not None:
        data[TRACEPARENT] = envelope.trace.traceparent
        if envelope.trace.tracestate:
            data[TRACESTATE] = envelope.trace.tracestate
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        raise MessagingError(
            f"Event '{envelope.type}' cannot be sent: its payload or headers are not JSON-serialisable ({exc}); "
            "pass dicts, lists, strings, numbers, booleans and None only, and text that is valid Unicode"
        ) from exc


def decode(body: bytes | str) -> Envelope:
    """An envelope from an AMQP body or an outbox row; ``MessagingError`` for anything that is not a valid one.

    A valid envelope follows the rules ``publish_event`` checks, so that whatever reaches the broker
    or a handler can be published and handled: no value is coerced.
    """
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, TypeError, RecursionError) as exc:
        raise MessagingError(f"Not an event envelope: the body is not JSON ({type(exc).__name__}: {exc}); the message is malformed") from exc
    if not isinstance(data, dict):
        raise MessagingError(f"Not an event envelope: the body is a JSON {kind(data)}, not an object; the message is malformed")
    missing = [name for name in REQUIRED if name not in data]
    if missing:
        raise MessagingError(f"Not an event envelope: it has no {', '.join(missing)}; the message is malformed")
    priority = data.get("priority", 0)
    correlation_id = data.get("correlation_id")
    headers = {} if data.get("headers") is None else data["headers"]
    problem = (
        name_problem("id", data["id"])
        or name_problem("type", data["type"])
        or name_problem("source", data["source"])
        or name_problem("destination", data["destination"])
        or timestamp_problem(data["timestamp"])
        or priority_problem(priority)
        or name_problem("correlation_id", correlation_id, optional=True)
        or headers_problem(headers)
        or payload_problem(data.get("payload"))
        or (None if not _may_hold_surrogates(body) or _is_unicode(data) else _LONE_SURROGATE)
    )
    if problem:
        raise MessagingError(f"Not an event envelope: {problem}; the message is malformed")
    return Envelope(
        id=data["id"],
        type=data["type"],
        source=data["source"],
        destination=data["destination"],
        payload=data.get("payload"),
        timestamp=data["timestamp"],
        priority=priority,
        correlation_id=correlation_id,
        headers=headers,
        trace=trace_context(data.get(TRACEPARENT), data.get(TRACESTATE, "")),  # a malformed one is dropped, never fatal
    )


_LONE_SURROGATE = "its payload or headers hold a lone surrogate (\\udXXX), which is not Unicode text"


def _may_hold_surrogates(body: bytes | str) -> bool:
    """Whether the JSON text has a \\ud800-\\udfff escape: the only way a lone surrogate gets into a decoded str."""
    if isinstance(body, bytes):
        return b"\\ud" in body or b"\\uD" in body
    return "\\ud" in body or "\\uD" in body


def _is_unicode(data: object) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")
