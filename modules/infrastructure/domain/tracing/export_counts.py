"""What became of the spans handed to an exporter, counted where the export happens and read by the metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

OUTCOMES = ("ok", "failed", "dropped")


class ExportCounts:
    """Thread-safe counts of finished spans per outcome: ``ok``, ``failed`` (the collector refused them or could not be
    reached) and ``dropped`` (the export queue was full)."""

    def __init__(self) -> None:
        self._counts = dict.fromkeys(OUTCOMES, 0)
        self._lock = threading.Lock()

    def add(self, outcome: str, spans: int) -> None:
        with self._lock:
            self._counts[outcome] = self._counts.get(outcome, 0) + spans

    def also(self, count: Callable[[str, int], None]) -> Callable[[str, int], None]:
        """``add`` that also hands each count to ``count`` (a worker's metric files)."""

        def both(outcome: str, spans: int) -> None:
            self.add(outcome, spans)
            count(outcome, spans)

        return both

    def snapshot(self) -> Mapping[str, int]:
        with self._lock:
            return dict(self._counts)
