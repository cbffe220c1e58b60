"""``infrastructure_trace_spans_exported_total{outcome}``: what became of the finished spans, read at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, Metric

from modules.infrastructure.domain.tracing.export_counts import OUTCOMES
from modules.infrastructure.infrastructure.metrics.registry import PREFIX


TRACE_EXPORT_HELP = "Finished spans by export outcome: ok, failed (collector unreachable or refusing), dropped (queue full)"


class TraceExportCollector:
    """Spans exported (ok), refused or unsent (failed), or dropped on a full queue; no series while nothing is exported."""

    def __init__(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        counts = self._counts()
        if not counts:
            return
        family = CounterMetricFamily(f"{PREFIX}_trace_spans_exported", TRACE_EXPORT_HELP, labels=["outcome"])
        for outcome in OUTCOMES:
            family.add_metric([outcome], counts.get(outcome, 0))
        yield family
