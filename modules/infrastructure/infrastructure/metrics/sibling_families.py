"""``SiblingFamilies``: the metric families sibling modules declare, in the module's registry, each declared once."""

from __future__ import annotations

import threading
from typing import Literal, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from modules.infrastructure.domain.errors import InvalidArgumentError
from modules.infrastructure.domain.metrics.declarations import MODULE_LABEL, MetricDeclaration
from modules.infrastructure.infrastructure.metrics.labels import LabelGuard

Family = Counter | Gauge | Histogram


class SiblingFamilies:
    """One family per name: a second declaration alike gets the same family (another module shares it under its own
    ``module`` label); one of another kind, labels or buckets is an ``InvalidArgumentError``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        self._families: dict[str, tuple[MetricDeclaration, Family]] = {}
        self._lock = threading.Lock()
        self.modules = LabelGuard(limit=100)
        self._values: dict[str, LabelGuard] = {}  # per module: one module's many values cannot use up another's budget

    def values_of(self, module: str) -> LabelGuard:
        """The guard of ``module``'s label values: up to 1,000 distinct ones across its metrics, ids and secrets redacted."""
        guard = self._values.get(module)
        if guard is None:
            with self._lock:
                guard = self._values.setdefault(module, LabelGuard(limit=1000, refuse_ids=True))
        return guard

    def family(self, declared: MetricDeclaration) -> Family:
        with self._lock:
            known = self._families.get(declared.name)
            if known is None:
                try:
                    known = (declared, _created(declared, self._registry))
                except ValueError as exc:  # prometheus_client: a series of that name is in the registry already
                    raise InvalidArgumentError(f"The metric {declared.name} clashes with one in the scrape already ({exc}); choose another name") from None
                self._families[declared.name] = known
        if _shape(known[0]) != _shape(declared):
            raise InvalidArgumentError(
                f"The metric {declared.name} is already declared as a {known[0].kind} with labels {known[0].labels!r}; "
                f"a {declared.kind} with labels {declared.labels!r} (or other buckets or multiprocess_mode) needs another name"
            )
        return known[1]


def _shape(declared: MetricDeclaration) -> tuple[object, ...]:
    return declared.kind, declared.labels, declared.buckets, declared.multiprocess_mode


def _created(declared: MetricDeclaration, registry: CollectorRegistry) -> Family:
    labels = (MODULE_LABEL, *declared.labels)
    if declared.kind == "counter":
        return Counter(declared.name, declared.documentation, labels, registry=registry)
    if declared.kind == "gauge":
        mode = cast("Literal['liveall', 'livesum', 'livemax', 'livemin', 'livemostrecent']", declared.multiprocess_mode)
        return Gauge(declared.name, declared.documentation, labels, registry=registry, multiprocess_mode=mode)
    if declared.buckets is not None:
        return Histogram(declared.name, declared.documentation, labels, registry=registry, buckets=declared.buckets)
    return Histogram(declared.name, declared.documentation, labels, registry=registry)
