"""``ModuleMetrics``: counters, gauges and histograms a sibling module adds to the scrape, labelled with its name.

``InfrastructureService.get_metrics("billing").counter("invoices_sent", "Invoices sent", labels=("channel",)).inc(channel="email")``.
A metric is looked up in the current registry at each use, so one kept in a module's global survives ``reset()``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, cast

from modules.infrastructure.domain.errors import InvalidArgumentError
from modules.infrastructure.domain.metrics.declarations import SET_ONLY_MODES, MetricDeclaration, declaration
from modules.infrastructure.infrastructure.metrics.sibling_families import Family, SiblingFamilies

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

_MODULE = re.compile(r"[a-z][a-z0-9_]{0,63}")


class ModuleMetrics:
    """The metrics of one sibling module; every value it records carries ``module=<its name>``."""

    def __init__(self, module: object, families: Callable[[], SiblingFamilies]) -> None:
        if not isinstance(module, str) or not _MODULE.fullmatch(module) or module == "infrastructure":
            raise InvalidArgumentError(f"get_metrics(module) takes your module's package name, e.g. 'billing', not {module!r:.60}")
        self.module = module
        self._families = families

    def counter(self, name: str, documentation: str, *, labels: Iterable[str] = ()) -> ModuleCounter:
        """A counter (``name_total`` in the scrape); ``.inc(amount=1, **labels)``."""
        return ModuleCounter(self.module, declaration("counter", name, documentation, labels), self._families)

    def gauge(self, name: str, documentation: str, *, labels: Iterable[str] = (), multiprocess_mode: str = "liveall") -> ModuleGauge:
        """A gauge; ``.set(value, **labels)``, ``.inc(amount=1, **labels)``, ``.dec(amount=1, **labels)``.

        ``multiprocess_mode``: how several workers' values become one (PROMETHEUS_MULTIPROC_DIR): ``liveall`` (one
        series per worker, labelled ``pid``), ``livesum``, ``livemax``, ``livemin`` or ``livemostrecent`` (set() only)."""
        return ModuleGauge(self.module, declaration("gauge", name, documentation, labels, multiprocess_mode=multiprocess_mode), self._families)

    def histogram(self, name: str, documentation: str, *, labels: Iterable[str] = (), buckets: Iterable[float] | None = None) -> ModuleHistogram:
        """A histogram (default buckets: prometheus_client's, for seconds); ``.observe(value, **labels)``."""
        return ModuleHistogram(self.module, declaration("histogram", name, documentation, labels, buckets), self._families)


class _ModuleMetric:
    def __init__(self, module: str, declared: MetricDeclaration, families: Callable[[], SiblingFamilies]) -> None:
        self.module, self.declared, self._families = module, declared, families
        families().family(declared)  # a clash with an earlier declaration is an error here, not at first use

    def _series(self, labels: Mapping[str, object]) -> Family:
        """The labelled series; a value that is not name-like becomes ``invalid``, one like an id or a secret ``redacted``."""
        if set(labels) != set(self.declared.labels):
            raise InvalidArgumentError(f"The metric {self.declared.name} takes the labels {self.declared.labels!r}, not {tuple(labels)!r:.100}")
        families = self._families()
        guard = families.values_of(self.module)
        values = {name: guard(_text(self.declared.name, name, value)) for name, value in labels.items()}
        return families.family(self.declared).labels(module=families.modules(self.module), **values)


class ModuleCounter(_ModuleMetric):
    def inc(self, amount: float = 1, /, **labels: object) -> None:
        checked = _amount(self.declared.name, amount, minimum=0)  # before the series: a refused call leaves none behind
        cast("Counter", self._series(labels)).inc(checked)


class ModuleGauge(_ModuleMetric):
    def set(self, value: float, /, **labels: object) -> None:
        checked = _amount(self.declared.name, value)
        cast("Gauge", self._series(labels)).set(checked)

    def inc(self, amount: float = 1, /, **labels: object) -> None:
        checked = self._change(amount)
        cast("Gauge", self._series(labels)).inc(checked)

    def dec(self, amount: float = 1, /, **labels: object) -> None:
        checked = self._change(amount)
        cast("Gauge", self._series(labels)).dec(checked)

    def _change(self, amount: object) -> float:
        if self.declared.multiprocess_mode in SET_ONLY_MODES:
            raise InvalidArgumentError(f"The gauge {self.declared.name} takes set() only: its multiprocess_mode {self.declared.multiprocess_mode} keeps the latest value set")
        return _amount(self.declared.name, amount)


class ModuleHistogram(_ModuleMetric):
    def observe(self, value: float, /, **labels: object) -> None:
        checked = _amount(self.declared.name, value)
        cast("Histogram", self._series(labels)).observe(checked)


def _text(metric: str, label: str, value: object) -> str:
    """A label value as text: a string, or a whole number or bool written out (``tries=1``); anything else is refused."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    raise InvalidArgumentError(f"The metric {metric}'s label {label} takes text, a whole number or a bool, not {type(value).__name__}")


def _amount(name: str, value: object, minimum: float | None = None) -> float:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:
            raise InvalidArgumentError(f"The metric {name} takes a finite number, not a whole number of {len(str(value))} digits") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or (minimum is not None and value < minimum):
        floor = f" of at least {minimum:g}" if minimum is not None else ""
        raise InvalidArgumentError(f"The metric {name} takes a finite number{floor}, not {value!r:.40}")
    return float(value)
