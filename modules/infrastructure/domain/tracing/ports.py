"""The tracing port: spans around the module's calls, with no tracing library in the domain.

The infrastructure implements it with OpenTelemetry; ``NO_TRACING`` records nothing and costs a call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Literal, Protocol

from modules.infrastructure.domain.lifecycle import Resource
from modules.infrastructure.domain.tracing.trace_context import TraceContext

SpanKind = Literal["internal", "client", "server", "producer", "consumer"]
AttributeValue = str | bool | int | float | Sequence[str] | Sequence[int] | Sequence[float]
Attributes = Mapping[str, AttributeValue]


class Span(Protocol):
    """The span of the block that is running: attributes learned while it runs (tokens used, rows claimed)."""

    def set_attributes(self, attributes: Attributes) -> None: ...

    def trace_context(self) -> TraceContext | None:
        """This span's W3C context, to store with an event or send with a request; ``None`` when not recorded."""
        ...


class Tracer(Protocol):
    """Opens spans; a span is current while its ``with`` block runs, so spans opened inside it are its children."""

    @property
    def captures_content(self) -> bool:
        """Whether prompt and answer texts may be recorded on spans (an operator's choice; off by default)."""
        ...

    def span(
        self, name: str, kind: SpanKind = "internal", attributes: Attributes | None = None, parent: TraceContext | None = None,
        current: bool = True,
    ) -> AbstractContextManager[Span]:
        """A span named ``name``; ``parent`` continues a trace from elsewhere (an event's), else the current span's.
        ``current=False``: the span is not made current (a generator's, which must not leak into its caller between items)."""
        ...

    def current(self) -> TraceContext | None:
        """The W3C context of the current span, if one is being recorded."""
        ...


class Tracing(Tracer, Resource, Protocol):
    """The tracing component: a tracer that is closed at shutdown (sending the spans still waiting)."""

    def export_counts(self) -> Mapping[str, int]:
        """Finished spans per export outcome (``ExportCounts``); empty when this process exports nothing."""
        ...


class _NoSpan:
    """The span of a tracer that records nothing: one shared object, entered and left for free."""

    def set_attributes(self, attributes: Attributes) -> None:
        return None

    def trace_context(self) -> TraceContext | None:
        return None

    def __enter__(self) -> _NoSpan:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        return None


NO_SPAN = _NoSpan()


class NoTracing:
    """A tracer that records nothing: tracing not installed."""

    captures_content = False

    def span(
        self, name: str, kind: SpanKind = "internal", attributes: Attributes | None = None, parent: TraceContext | None = None,
        current: bool = True,
    ) -> _NoSpan:
        return NO_SPAN

    def current(self) -> TraceContext | None:
        return None

    def export_counts(self) -> Mapping[str, int]:
        return {}

    def close(self) -> None:
        return None

    def after_fork(self) -> None:
        return None


NO_TRACING = NoTracing()
