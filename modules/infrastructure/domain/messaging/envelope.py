"""Building, encoding and decoding event envelopes (seed 000's message format)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.domain.messaging.values import Envelope

MAX_PRIORITY = 9
AMQP_SHORT_STRING = 255  # queue names, message type, app id and correlation id are AMQP short strings


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
) -> tuple[Envelope, bytes]:
    """A new envelope and its encoded body; raises ``MessagingError`` before anything is stored."""
    for name, value in (("destination", destination), ("event_type", event_type), ("source", source)):
        if not isinstance(value, str) or not value.strip():
            raise MessagingError(f"publish_event needs a non-empty {name}, got {value!r}")
    for name, short in (("destination", destination), ("event_type", event_type), ("source", source), ("correlation_id", correlation_id)):
        if short is not None and len(str(short).encode()) > AMQP_SHORT_STRING:
            raise MessagingError(
                f"publish_event's {name} is {len(str(short).encode())} bytes; AMQP carries at most "
                f"{AMQP_SHORT_STRING} bytes there: use a shorter name"
            )
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= MAX_PRIORITY:
        raise MessagingError(f"priority must be a whole number from 0 to {MAX_PRIORITY}, got {priority!r}")
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
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        raise MessagingError(
            f"Event '{envelope.type}' cannot be sent: its payload or headers are not JSON-serialisable ({exc}); "
            "pass dicts, lists, strings, numbers, booleans and None only"
        ) from exc


def decode(body: bytes | str) -> Envelope:
    """An envelope from an AMQP body; raises ``MessagingError`` for anything that is not one."""
    try:
        data = json.loads(body)
        return Envelope(
            id=data["id"],
            type=data["type"],
            source=data["source"],
            destination=data["destination"],
            payload=data.get("payload"),
            timestamp=data["timestamp"],
            priority=int(data.get("priority", 0)),
            correlation_id=data.get("correlation_id"),
            headers=data.get("headers") or {},
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise MessagingError(f"Not an event envelope ({type(exc).__name__}: {exc}); the message is malformed") from exc
