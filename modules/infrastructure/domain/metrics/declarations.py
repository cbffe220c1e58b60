"""What a sibling module may declare as a metric: a Prometheus name of its own, label names, and buckets.

The module's own families start with ``infrastructure_``; ``module`` is the label every sibling metric carries.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from modules.infrastructure.domain.errors import InvalidArgumentError

KINDS = ("counter", "gauge", "histogram")
# How a gauge's values of several worker processes (PROMETHEUS_MULTIPROC_DIR) become one: prometheus_client's live
# modes, which drop an ended worker's value (mark_process_dead). liveall: one series per worker, labelled pid.
GAUGE_MODES = ("liveall", "livesum", "livemax", "livemin", "livemostrecent")
SET_ONLY_MODES = ("livemostrecent",)  # the latest set() wins: inc() and dec() have no meaning across workers
RESERVED_PREFIX = "infrastructure_"
MODULE_LABEL = "module"
MAX_LABELS = 8
MAX_BUCKETS = 40
_METRIC_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")
_LABEL_NAME = re.compile(r"[a-z][a-z0-9_]{0,49}")
_RESERVED_LABELS = frozenset({MODULE_LABEL, "le", "quantile", "job", "instance"})
_PROMETHEUS_OWN = frozenset({"up"})
_RESERVED_SUFFIXES = ("_total", "_info")  # prometheus_client strips or adds them; other clashes are the registry's to find


@dataclass(frozen=True)
class MetricDeclaration:
    """One sibling metric: its kind, name, help text, label names (``module`` comes first, added) and buckets."""

    kind: str
    name: str
    documentation: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] | None = None
    multiprocess_mode: str | None = None  # a gauge's: one of GAUGE_MODES


def declaration(
    kind: str, name: object, documentation: object, labels: object = (), buckets: object = None, multiprocess_mode: object = None
) -> MetricDeclaration:
    """The checked declaration; ``InvalidArgumentError`` naming what is wrong and the form expected."""
    if not isinstance(name, str) or not _METRIC_NAME.fullmatch(name) or name.endswith(_RESERVED_SUFFIXES):
        raise InvalidArgumentError(
            f"A metric's name is lower-case letters, digits and _ (a letter first, at most 100), without a suffix Prometheus "
            f"adds ({', '.join(_RESERVED_SUFFIXES)}), e.g. 'invoices_sent'; not {name!r:.60}"
        )
    if name in _PROMETHEUS_OWN or name.startswith(("scrape_", "alerts")):
        raise InvalidArgumentError(f"The metric {name!r} is a name Prometheus gives its own series (up, scrape_*, ALERTS); choose another")
    if name.startswith(RESERVED_PREFIX):
        raise InvalidArgumentError(f"The metric {name!r} would collide with the infrastructure's own ({RESERVED_PREFIX}*); name it after your module")
    if not isinstance(documentation, str) or not documentation.strip() or len(documentation) > 300:
        raise InvalidArgumentError(f"The metric {name} needs a description of up to 300 characters: the scrape's # HELP line shows it")
    mode = _multiprocess_mode(name, kind, multiprocess_mode)
    return MetricDeclaration(kind, name, documentation.strip(), _labels(name, labels), _buckets(name, kind, buckets), mode)


def _multiprocess_mode(name: str, kind: str, mode: object) -> str | None:
    if kind != "gauge":
        if mode is not None:
            raise InvalidArgumentError(f"The metric {name} is a {kind}, whose workers' values are added up; only a gauge takes multiprocess_mode=")
        return None
    if mode is None:
        return GAUGE_MODES[0]
    if mode not in GAUGE_MODES:
        raise InvalidArgumentError(f"The gauge {name}'s multiprocess_mode= is one of {', '.join(GAUGE_MODES)}, not {mode!r:.40}")
    return str(mode)


def _labels(name: str, labels: object) -> tuple[str, ...]:
    given = (labels,) if isinstance(labels, str) else labels
    if not isinstance(given, list | tuple):
        raise InvalidArgumentError(f"The metric {name}'s labels= takes a tuple or list of label names, e.g. ('channel',), not {type(labels).__name__}")
    names = tuple(given)
    for label in names:
        if not isinstance(label, str) or not _LABEL_NAME.fullmatch(label) or label in _RESERVED_LABELS:
            raise InvalidArgumentError(
                f"The metric {name} has the label {label!r:.40}; a label is lower-case letters, digits and _ (a letter first), "
                f"and not one of {', '.join(sorted(_RESERVED_LABELS))}"
            )
    if len(set(names)) != len(names) or len(names) > MAX_LABELS:
        raise InvalidArgumentError(f"The metric {name} takes up to {MAX_LABELS} labels, each once; it got {names!r:.100}")
    return names


def _buckets(name: str, kind: str, buckets: object) -> tuple[float, ...] | None:
    if buckets is None:
        return None
    if kind != "histogram":
        raise InvalidArgumentError(f"The metric {name} is a {kind}; only a histogram takes buckets=")
    values = tuple(buckets) if isinstance(buckets, list | tuple) else None
    if (
        not values
        or len(values) > MAX_BUCKETS
        or not all(isinstance(v, int | float) and not isinstance(v, bool) and _finite(v) for v in values)
        or list(values) != sorted(set(values))
    ):
        raise InvalidArgumentError(f"The histogram {name}'s buckets= takes 1 to {MAX_BUCKETS} finite numbers in increasing order, not {buckets!r:.80}")
    return tuple(float(v) for v in values)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False
