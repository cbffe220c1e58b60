"""Spans a sibling module opens through the facade: name, kind and attributes checked before any span exists."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import get_args

from modules.infrastructure.domain.errors import InvalidArgumentError
from modules.infrastructure.domain.tracing.ports import Attributes, AttributeValue, Span, SpanKind
from modules.infrastructure.domain.tracing.trace_context import TraceContext

MAX_NAME = 200
MAX_ATTRIBUTES = 64
MAX_TEXT = 4096
_KINDS: tuple[str, ...] = get_args(SpanKind)
_SCALARS = (str, bool, int, float)


def span_kind(kind: object) -> SpanKind:
    if kind not in _KINDS:
        raise InvalidArgumentError(f"trace(kind=...) takes one of {', '.join(_KINDS)}, not {_shown(kind)}"[:200])
    return kind  # type: ignore[return-value]


def span_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise InvalidArgumentError(f"trace(name) takes text of 1 to {MAX_NAME} characters naming the work (\"POST /lessons\"), not {_shown(name)}"[:200])
    return name


def checked_attributes(attributes: object) -> dict[str, AttributeValue]:
    """Attributes as OpenTelemetry takes them: text keys; text, bool, finite numbers or lists of one of them."""
    if attributes is None:
        return {}
    if not isinstance(attributes, Mapping):
        raise InvalidArgumentError(f"A span's attributes are a mapping of names to values, not {type(attributes).__name__}")
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidArgumentError(f"A span takes at most {MAX_ATTRIBUTES} attributes, not {len(attributes):,}")
    return {_key(key): _value(key, value) for key, value in attributes.items()}


def _key(key: object) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_NAME:
        raise InvalidArgumentError(f"A span attribute's name is text of 1 to {MAX_NAME} characters (\"lesson.id\"), not {_shown(key)}"[:200])
    return key


def _value(key: str, value: object) -> AttributeValue:
    if isinstance(value, list | tuple):
        kinds = {type(item) for item in value}
        if len(kinds) > 1 or not all(_scalar(item) for item in value):
            raise InvalidArgumentError(f"Span attribute {key!r}: a list holds values of one kind (text, bool, int or float)")
        return [_text(item) if isinstance(item, str) else item for item in value]
    if not _scalar(value):
        raise InvalidArgumentError(
            f"Span attribute {key!r} takes text, a bool, a finite number or a list of one of them, not {type(value).__name__}"
        )
    return _text(value) if isinstance(value, str) else value  # type: ignore[return-value]


def _shown(value: object) -> str:
    """The wrong value as an error shows it: text and numbers as written, anything else by its type."""
    if isinstance(value, str | int | float | bool | None):
        try:
            return repr(value)[:80]
        except Exception:  # a 5,000-digit int, a str subclass of its own
            pass
    return type(value).__name__


def _scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63  # OTLP's int64
    return isinstance(value, _SCALARS)


def _text(value: str) -> str:
    return value[:MAX_TEXT]


class TraceSpan:
    """Your span while its ``with`` block runs: add what you learn with ``set_attributes``; ``trace_context`` to pass on."""

    def __init__(self, span: Span) -> None:
        self._span = span

    def set_attributes(self, attributes: Attributes) -> None:
        """Add attributes (checked like the ones given to ``trace``; ``InvalidArgumentError`` otherwise)."""
        self._span.set_attributes(checked_attributes(attributes))

    @property
    def trace_context(self) -> TraceContext | None:
        """The span's W3C ``traceparent``/``tracestate``; ``None`` when nothing records it."""
        return self._span.trace_context()
