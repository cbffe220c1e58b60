"""The tracing port on OpenTelemetry's API: spans of the module's own SDK provider, or of the application's.

Opening a span costs a call when nothing records it: with no provider of the module's and none installed by
the application, ``span()`` hands back the shared no-op span without touching OpenTelemetry's context.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import ProxyTracerProvider, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.domain.tracing.export_counts import ExportCounts
from modules.infrastructure.domain.tracing.ports import NO_SPAN, Attributes, _NoSpan
from modules.infrastructure.domain.tracing.ports import SpanKind as PortSpanKind
from modules.infrastructure.domain.tracing.trace_context import TraceContext, trace_context

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

INSTRUMENTATION = "modules.infrastructure"
_KINDS = {
    "internal": SpanKind.INTERNAL, "client": SpanKind.CLIENT, "server": SpanKind.SERVER,
    "producer": SpanKind.PRODUCER, "consumer": SpanKind.CONSUMER,
}
_PROPAGATOR = TraceContextTextMapPropagator()
_MAX_ERROR_TEXT = 300
_UNREAD = object()


class OtelTracer:
    """Spans through ``provider`` (the module's SDK provider), or, without one, through the application's global one."""

    def __init__(
        self, redactor: Redactor, provider: TracerProvider | None = None, captures_content: bool = False, counts: ExportCounts | None = None
    ) -> None:
        self._redactor = redactor
        self._counts = counts
        self._provider = provider
        self._tracer = (provider or trace).get_tracer(INSTRUMENTATION)
        self._captures_content = captures_content

    @property
    def captures_content(self) -> bool:
        return self._captures_content

    @property
    def provider(self) -> TracerProvider | None:
        return self._provider

    def span(
        self, name: str, kind: PortSpanKind = "internal", attributes: Attributes | None = None, parent: TraceContext | None = None,
        current: bool = True,
    ) -> _Scope | _NoSpan:
        if self._provider is None and not _application_traces():
            return NO_SPAN
        return _Scope(self, name, _KINDS[kind], attributes, parent, current)

    def current(self) -> TraceContext | None:
        return _context_of(trace.get_current_span())

    def error_text(self, exc: BaseException) -> str:
        """The failure reason a span shows, redacted; its type alone when the exception cannot be shown as text."""
        try:
            text = f"{type(exc).__name__}: {exc}"
        except Exception:
            text = type(exc).__name__
        return self._redactor.redact(text)[:_MAX_ERROR_TEXT]

    def start(self, name: str, kind: SpanKind, attributes: Attributes | None, parent: TraceContext | None) -> trace.Span:
        context = _PROPAGATOR.extract(parent.headers()) if parent is not None else None
        return self._tracer.start_span(name, context, kind, attributes, record_exception=False, set_status_on_exception=False)

    def export_counts(self) -> Mapping[str, int]:
        return {} if self._counts is None else self._counts.snapshot()

    def close(self) -> None:
        """Send the spans still waiting and stop the exporter (bounded by its timeout)."""
        if self._provider is not None:
            self._provider.shutdown()

    def after_fork(self) -> None:
        return None  # the SDK's batch processor starts a new export thread in a forked child itself


class _Scope:
    """One span, current while its ``with`` block runs; an exception leaving the block marks it failed, redacted."""

    __slots__ = ("_tracer", "_name", "_kind", "_attributes", "_parent", "_current", "_span", "_token")

    def __init__(
        self, tracer: OtelTracer, name: str, kind: SpanKind, attributes: Attributes | None, parent: TraceContext | None, current: bool
    ) -> None:
        self._tracer, self._name, self._kind, self._attributes, self._parent = tracer, name, kind, attributes, parent
        self._current = current

    def __enter__(self) -> _Scope:
        self._span = self._tracer.start(self._name, self._kind, self._attributes, self._parent)
        self._token = otel_context.attach(trace.set_span_in_context(self._span)) if self._current else None
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        span = self._span
        try:
            if exc is not None:
                span.set_attribute("error.type", type(exc).__qualname__)
                span.set_status(Status(StatusCode.ERROR, self._tracer.error_text(exc)))
        finally:  # the span ends and leaves the context whatever marking it failed did
            if self._token is not None:
                _detach(self._token)
            span.end()

    def set_attributes(self, attributes: Attributes) -> None:
        self._span.set_attributes(attributes)

    def trace_context(self) -> TraceContext | None:
        return _context_of(self._span)


def _detach(token: object) -> None:
    """Restore the context the scope was entered in. Left in another one (a web framework running a dependency's two
    halves in two copies of the request's context), there is nothing of it to take out there: OpenTelemetry's own
    detach would log an error each time."""
    if not isinstance(token, contextvars.Token):
        otel_context.detach(token)  # type: ignore[arg-type]  # another runtime context's token
        return
    try:
        token.var.reset(token)
    except (ValueError, RuntimeError):  # made in another Context, or already used
        pass


def _context_of(span: trace.Span) -> TraceContext | None:
    """The ``traceparent`` and ``tracestate`` the W3C propagator would write for ``span``, without a carrier and a context
    built for it (this runs in every ``publish_event``); checked by the same rules as a received one."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return trace_context(f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}", context.trace_state.to_header())


def _application_traces() -> bool:
    """Whether the application installed an OpenTelemetry SDK of its own (the global provider is no longer the proxy).

    Read from the API's global, set once, when it has it: ``get_tracer_provider()`` also looks up an environment variable
    (``OTEL_PYTHON_TRACER_PROVIDER``, a provider to load) on every call while none is set, a few microseconds a span with
    export off. The tracer asked the getter once when it was built (``trace.get_tracer``), which loads that provider.
    """
    provider = getattr(trace, "_TRACER_PROVIDER", _UNREAD)
    if provider is _UNREAD:  # an API version without the global: the public getter
        provider = trace.get_tracer_provider()
    return provider is not None and not isinstance(provider, ProxyTracerProvider)
