"""The span of one handler run: the event's ``process`` span, a child of the span that published it."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

from modules.infrastructure.domain.messaging.values import Envelope
from modules.infrastructure.domain.tracing.ports import Span, Tracer
from modules.infrastructure.domain.tracing.trace_context import from_headers


def process_span(tracer: Tracer, envelope: Envelope, handler: str, headers: Mapping[str, Any] | None = None) -> AbstractContextManager[Span]:
    """Continues the trace in the message's W3C headers (another producer's), else the one the event carries."""
    attributes = {
        "messaging.system": "rabbitmq",
        "messaging.operation.type": "process",
        "messaging.destination.name": envelope.destination,
        "messaging.message.id": envelope.id,
        "infrastructure.event.type": envelope.type,
        "infrastructure.event.handler": handler,
    }
    return tracer.span(f"process {envelope.type}", "consumer", attributes, parent=from_headers(headers) or envelope.trace)


def with_header_trace(envelope: Envelope, headers: Mapping[str, Any] | None) -> Envelope:
    """The event as a listener gets it: with the trace of the message's W3C headers (another producer's) when they
    carry a valid one, else its own; the precedence ``process_span`` gives a consumer's messages."""
    trace = from_headers(headers)
    return envelope if trace is None or trace == envelope.trace else replace(envelope, trace=trace)
