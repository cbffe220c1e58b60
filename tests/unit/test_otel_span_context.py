"""The OpenTelemetry tracer's own shortcuts give what the SDK's slower paths give: the trace context of a span as the
W3C propagator writes it, a session span's outcome attribute set at its start, an installed SDK seen from the API's global."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.domain.tracing.trace_context import TraceContext, from_headers
from modules.infrastructure.infrastructure.database.session import DatabaseSession
from modules.infrastructure.infrastructure.tracing.otel_tracer import OtelTracer, _context_of


def propagated(span: trace.Span) -> TraceContext | None:
    """What an event carried before the shortcut: the propagator's headers, parsed back."""
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier, trace.set_span_in_context(span))
    return from_headers(carrier)


def test_a_spans_context_is_what_the_propagator_writes() -> None:
    spans = [
        TracerProvider().get_tracer("test").start_span("recorded"),
        NonRecordingSpan(SpanContext(1, 2, False, TraceFlags(0), TraceState([("vendor", "v1"), ("other", "x")]))),
        NonRecordingSpan(SpanContext(2**128 - 1, 2**64 - 1, True, TraceFlags(1))),
        NonRecordingSpan(SpanContext(5, 6, False, TraceFlags(1), TraceState([("k", "v" * 250), ("l", "w" * 250), ("m", "x" * 20)]))),
    ]
    for span in spans:
        assert _context_of(span) == propagated(span) is not None
    assert _context_of(trace.INVALID_SPAN) is None


class FakeSession:
    """A SQLAlchemy session that commits and closes without a database."""

    def flush(self) -> None:
        return None

    def commit(self) -> None:
        return None

    def close(self) -> None:
        return None


def test_a_committed_session_span_carries_its_database_and_ends_ok() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = OtelTracer(Redactor(), provider)
    attributes = {"db.system.name": "sqlite", "infrastructure.db.read_only": False}
    with DatabaseSession(FakeSession(), "c1", None, span_attributes=attributes, tracer=tracer):  # type: ignore[arg-type]
        pass
    (span,) = exporter.get_finished_spans()
    assert span.name == "database session"
    assert dict(span.attributes or {}) == attributes and span.status.is_ok
    assert attributes == {"db.system.name": "sqlite", "infrastructure.db.read_only": False}  # the session's own, untouched


def test_with_export_off_spans_go_to_the_sdk_the_application_installs(monkeypatch: pytest.MonkeyPatch) -> None:
    exporter = InMemorySpanExporter()
    application = TracerProvider()
    application.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = OtelTracer(Redactor())
    with tracer.span("before"):
        pass
    # What trace.set_tracer_provider() sets, once a process; set here for this test only (the API refuses a second set).
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", application)
    with tracer.span("after"):
        pass
    assert [span.name for span in exporter.get_finished_spans()] == ["after"]
