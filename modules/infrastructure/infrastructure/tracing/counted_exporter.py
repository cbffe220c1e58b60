"""An exporter wrapper that counts what became of each finished span and keeps a collector outage to two log lines."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

logger = logging.getLogger(__name__)
Count = Callable[[str, int], None]  # (outcome, spans): ok, failed


class CountedExporter(SpanExporter):
    """Exports through ``exporter``; a failure (or an exception) is counted and logged once until an export succeeds."""

    def __init__(self, exporter: SpanExporter, count: Count, endpoint: str) -> None:
        self._exporter = exporter
        self._count = count
        self._endpoint = endpoint
        self._failing = False
        self._stopped = False
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._exporter.export(spans)
        except Exception as exc:  # an exporter's bug must not end the export thread
            logger.debug("Span export raised", exc_info=True)
            result, reason = SpanExportResult.FAILURE, f"{type(exc).__name__}"
        else:
            reason = "the collector could not be reached, did not answer in time, or refused them"  # the exporter says no more
        ok = result is SpanExportResult.SUCCESS
        self._count("ok" if ok else "failed", len(spans))
        self._note(ok, len(spans), reason)
        return result

    def _note(self, ok: bool, spans: int, reason: str) -> None:
        with self._lock:
            changed, self._failing = self._failing == ok, not ok
        if changed and not ok:
            logger.warning(
                "Spans could not be exported to %s (%s); %d dropped, and later failures are only counted "
                "(infrastructure_trace_spans_exported_total{outcome=\"failed\"}) until an export succeeds",
                self._endpoint, reason, spans,
            )
        elif changed:
            logger.info("Spans are exported to %s again", self._endpoint)

    @property
    def failing(self) -> bool:
        """Whether the last export failed: the collector is down or refusing."""
        return self._failing

    def shutdown(self) -> None:
        """Stop the exporter, once: an export under way makes no more retries, the later ones fail at once (counted)."""
        with self._lock:
            first, self._stopped = not self._stopped, True
        if first:
            self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


class QueueFullFilter(logging.Filter):
    """Counts the spans the SDK's batch processor drops on a full queue, from the one line it logs per span, and
    keeps those lines out of the application's log: an outage would otherwise write one per span."""

    def __init__(self, count: Count) -> None:
        super().__init__()
        self._count = count

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Queue full"):
            self._count("dropped", 1)
            return False
        return True
