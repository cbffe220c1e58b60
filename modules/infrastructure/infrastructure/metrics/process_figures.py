"""``ProcessFigures``: in multi-process mode, this worker's pool, cache and breaker figures copied into its metric files.

The outbox is one for the whole database, so the process answering a scrape reads it once; but a pool or
a cache's counts live in one worker, and the answering worker cannot read the others'. So each worker
copies its own every ``COPY_SECONDS``, before it answers a scrape, and at exit: pool figures as live
gauges (one series per ``pid``, removed by ``mark_process_dead``), cache counts as counters (an ended
worker's counts stay in the sums, as a counter's must), circuit breakers as ``livemax`` gauges (1 while
one fails calls fast in any live worker; a breaker no longer in use is set to 0).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

from prometheus_client import Counter, Gauge

from modules.infrastructure.domain.cache.ports import CacheStats
from modules.infrastructure.domain.database.values import PoolStats
from modules.infrastructure.infrastructure.metrics.collectors import (
    BREAKER_FAMILIES,
    CACHE_FIGURES,
    POOL_FIGURES,
    Breakers,
    breaker_help,
    breaker_openings,
    breaker_states,
    openings_help,
)
from modules.infrastructure.infrastructure.metrics.multiprocess import is_multiprocess
from modules.infrastructure.infrastructure.metrics.registry import PREFIX
from modules.infrastructure.infrastructure.metrics.trace_collector import TRACE_EXPORT_HELP
from modules.infrastructure.domain.tracing.export_counts import OUTCOMES

logger = logging.getLogger(__name__)
COPY_SECONDS = 1.0


class ProcessFigures:
    """The figures of the pools and the cache this process uses now (the last ones given), copied on a thread."""

    def __init__(self) -> None:
        # registry=None: the values go to this process's files only; the scrape reads them from there.
        self._pool_gauges = {
            figure: Gauge(f"{PREFIX}_db_pool_{figure}", text, ["engine"], registry=None, multiprocess_mode="liveall")
            for figure, text in POOL_FIGURES.items()
        }
        self._cache_counters = {figure: Counter(f"{PREFIX}_cache_{figure}", text, ["backend"], registry=None) for figure, text in CACHE_FIGURES.items()}
        self._pools: Callable[[], Sequence[PoolStats]] | None = None
        self._label: Callable[[str], str] = str
        self._cache: Callable[[], CacheStats] | None = None
        self._copied: dict[str, int] = {}  # cache counts already added to the counters, by figure
        self._breaker_gauges = {
            what: Gauge(f"{PREFIX}_{what}_breaker_open", breaker_help(what), list(labels), registry=None, multiprocess_mode="livemax")
            for what, (_, labels) in BREAKER_FAMILIES.items()
        }
        self._breakers: dict[str, tuple[Callable[[], Breakers], Callable[[str], str]]] = {}
        self._opening_counters = {
            what: Counter(f"{PREFIX}_{what}_breaker_openings", openings_help(what), list(labels), registry=None)
            for what, (_, labels) in BREAKER_FAMILIES.items()
        }
        self._openings_copied: dict[str, dict[tuple[str, ...], int]] = {}  # openings already added, by family and key
        self._shown: dict[str, set[tuple[str, ...]]] = {}  # breaker series written, by family: a gone one is set to 0
        self._lock = threading.Lock()
        self._failing = False
        self._thread: threading.Thread | None = None

    def watch_pools(self, stats: Callable[[], Sequence[PoolStats]], label: Callable[[str], str]) -> None:
        with self._lock:
            self._pools, self._label = stats, label
            self._start()

    def watch_cache(self, stats: Callable[[], CacheStats]) -> None:
        with self._lock:
            self._cache = stats
            self._copied = _counts(stats())  # a new cache starts from its own counts: add only what comes after
            self._start()

    def watch_breakers(self, what: str, breakers: Callable[[], Breakers], label: Callable[[str], str]) -> None:
        """Copy the ``BREAKER_FAMILIES[what]`` breakers ``breakers()`` answers (the ones in use at each copy)."""
        with self._lock:
            self._breakers[what] = (breakers, label)
            self._start()

    def copy(self) -> None:
        """Write the figures now; a figure that cannot be read is left as it was (logged once until it can)."""
        with self._lock:
            try:
                self._copy_pools()
                self._copy_cache()
                self._copy_breakers()
            except Exception as exc:  # the copying thread must go on; the scrape shows the last figures written
                if not self._failing:
                    logger.warning("Metrics: this process's pool or cache figures could not be read (%s: %s)", type(exc).__name__, exc)
                self._failing = True
            else:
                self._failing = False

    def _copy_pools(self) -> None:
        for pool in self._pools() if self._pools else ():
            engine = self._label(pool.label)
            for figure, gauge in self._pool_gauges.items():
                gauge.labels(engine=engine).set(getattr(pool, figure))

    def _copy_cache(self) -> None:
        if self._cache is None:
            return
        stats = self._cache()
        counts = _counts(stats)
        for figure, counter in self._cache_counters.items():
            added = counts[figure] - self._copied.get(figure, 0)
            if added > 0:
                counter.labels(backend=stats.backend).inc(added)
        self._copied = counts

    def _copy_breakers(self) -> None:
        for what, (breakers, label) in self._breakers.items():
            states = breaker_states(breakers(), label)
            gauge = self._breaker_gauges[what]
            for gone in self._shown.get(what, set()) - set(states):
                gauge.labels(*gone).set(0)  # a retired integration or a replaced provider: no longer failing here
            for key, value in states.items():
                gauge.labels(*key).set(value)
            self._shown[what] = set(states)
            self._copy_openings(what, breaker_openings(breakers(), label))

    def _copy_openings(self, what: str, counted: dict[tuple[str, ...], int]) -> None:
        """Add what each key's openings grew by; a count that went down is a new breaker (a reload): all of it is new."""
        copied = self._openings_copied.setdefault(what, {})
        for key, count in counted.items():
            before = copied.get(key, 0)
            added = count - before if count >= before else count
            if added > 0 or key not in copied:
                self._opening_counters[what].labels(*key).inc(added)
            copied[key] = count

    def _start(self) -> None:
        """The copying thread, once per process (called holding the lock)."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="metrics-process-figures", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(COPY_SECONDS)
            self.copy()

    def after_fork(self) -> None:
        """In a forked child: a lock and a copying thread of its own; the parent's cache counts are not the child's."""
        self._lock = threading.Lock()
        self._thread = None
        if self._cache is not None:
            self._copied = _counts(self._cache())
        if self._pools is not None or self._cache is not None or self._breakers:
            self._start()


def _counts(stats: CacheStats) -> dict[str, int]:
    return {figure: getattr(stats, figure) for figure in CACHE_FIGURES}


_instance: ProcessFigures | None = None
_instance_lock = threading.Lock()


def process_figures() -> ProcessFigures | None:
    """This process's copier in multi-process mode, made on first use; ``None`` in single-process mode."""
    global _instance
    if not is_multiprocess():
        return None
    with _instance_lock:
        if _instance is None:
            _instance = ProcessFigures()
            atexit.register(_instance.copy)  # the last counts of a worker that ends are in the sums
            os.register_at_fork(after_in_child=_instance.after_fork)
    return _instance


def copy_pools(stats: Callable[[], Sequence[PoolStats]], label: Callable[[str], str]) -> None:
    """In multi-process mode, copy these pools' figures into this process's files from now on; nothing otherwise."""
    figures = process_figures()
    if figures is not None:
        figures.watch_pools(stats, label)


def copy_cache(stats: Callable[[], CacheStats]) -> None:
    """In multi-process mode, copy this cache's counts into this process's files from now on; nothing otherwise."""
    figures = process_figures()
    if figures is not None:
        figures.watch_cache(stats)


def copy_breakers(what: str, breakers: Callable[[], Breakers], label: Callable[[str], str]) -> None:
    """In multi-process mode, copy these breakers' states into this process's files from now on; nothing otherwise."""
    figures = process_figures()
    if figures is not None:
        figures.watch_breakers(what, breakers, label)


_trace_counter: Counter | None = None


def trace_export_counter() -> Callable[[str, int], None] | None:
    """In multi-process mode, a count of span export outcomes in this process's files (summed over the workers at a
    scrape, an ended worker's included); ``None`` otherwise, where the scrape reads the tracing component's counts."""
    global _trace_counter
    if not is_multiprocess():
        return None
    with _instance_lock:
        if _trace_counter is None:
            _trace_counter = Counter(f"{PREFIX}_trace_spans_exported", TRACE_EXPORT_HELP, ["outcome"], registry=None)
            for outcome in OUTCOMES:
                _trace_counter.labels(outcome=outcome)
    counter = _trace_counter
    return lambda outcome, spans: counter.labels(outcome=outcome).inc(spans)
