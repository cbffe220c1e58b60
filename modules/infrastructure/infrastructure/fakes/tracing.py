"""``RecordingTracing``: the tracing component on OpenTelemetry's SDK with an in-memory exporter, spans kept as values.

    with fake_infrastructure() as fakes:
        with InfrastructureService.trace("POST /lessons", kind="server"):
            ...
        print(fakes.tracing.tree())          # every trace, each span under its parent
        fakes.tracing.named("create lessons.events")[0].attributes
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.tracing.otel_tracer import OtelTracer


@dataclass(frozen=True)
class RecordedSpan:
    """One finished span: ids in hex (``parent_id`` empty for a root), attributes, and whether it failed."""

    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: Mapping[str, Any]
    failed: bool
    start: int  # nanoseconds since the epoch
    end: int


class TreeSpan(Protocol):
    """What a tree needs of a span (a recorded one, or one a collector received)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def span_id(self) -> str: ...
    @property
    def parent_id(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def attributes(self) -> Mapping[str, Any]: ...


# The attributes a tree line shows after the span's name: who handled an event, tokens, the answer's status.
_SHOWN = {
    "infrastructure.event.handler": "handler", "gen_ai.usage.input_tokens": "tokens in", "gen_ai.usage.output_tokens": "out",
    "http.response.status_code": "status", "db.system.name": "db",
}


class RecordingTracing(OtelTracer):
    """Records every span of the block, synchronously: a span is in ``spans()`` as soon as its ``with`` block ends."""

    def __init__(self, captures_content: bool = False) -> None:
        self._exporter = InMemorySpanExporter()
        provider = TracerProvider(shutdown_on_exit=False)  # an atexit hook would keep every block's spans until the process ends
        provider.add_span_processor(SimpleSpanProcessor(self._exporter))
        super().__init__(Redactor(), provider, captures_content)

    def spans(self) -> list[RecordedSpan]:
        """The finished spans, oldest first."""
        return [_recorded(span) for span in self._exporter.get_finished_spans()]

    def named(self, name: str) -> list[RecordedSpan]:
        return [span for span in self.spans() if span.name == name]

    def tree(self, trace_id: str | None = None) -> str:
        """Every trace (or ``trace_id``'s) as an indented tree, children in start order."""
        spans = [span for span in self.spans() if trace_id is None or span.trace_id == trace_id]
        return "\n".join(span_tree([s for s in spans if s.trace_id == t]) for t in dict.fromkeys(s.trace_id for s in spans))

    def clear(self) -> None:
        self._exporter.clear()


def span_tree(spans: Sequence[TreeSpan]) -> str:
    """One trace's spans as lines ``- name [kind, ms, a few attributes]``, each child indented under its parent; orphans at the top."""
    ordered = sorted(spans, key=lambda span: span.start)
    ids = {span.span_id for span in ordered}
    lines: list[str] = []

    def draw(parent: str | None, depth: int) -> None:
        for span in ordered:
            if span.parent_id == parent or (parent is None and span.parent_id not in ids):
                shown = "".join(f", {label} {span.attributes[key]}" for key, label in _SHOWN.items() if key in span.attributes)
                lines.append(f"{'  ' * depth}- {span.name} [{span.kind}, {(span.end - span.start) / 1e6:.1f} ms{shown}]")
                draw(span.span_id, depth + 1)

    draw(None, 0)
    return "\n".join(lines)


def _recorded(span: ReadableSpan) -> RecordedSpan:
    context = span.get_span_context()
    assert context is not None
    return RecordedSpan(
        name=span.name,
        kind=span.kind.name.lower(),
        trace_id=format(context.trace_id, "032x"),
        span_id=format(context.span_id, "016x"),
        parent_id=format(span.parent.span_id, "016x") if span.parent is not None else "",
        attributes=dict(span.attributes or {}),
        failed=span.status.status_code is StatusCode.ERROR,
        start=span.start_time or 0,
        end=span.end_time or 0,
    )
