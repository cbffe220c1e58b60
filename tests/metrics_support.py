"""Reading ``InfrastructureService.metrics_text()`` back with prometheus_client's own text parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from modules.infrastructure.module_api import InfrastructureService


def samples(text: str | None = None) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition, keyed by (sample name, its labels)."""
    text = InfrastructureService.metrics_text() if text is None else text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(name: str, text: str | None = None, **labels: str) -> float | None:
    """The value of the sample ``name`` with exactly ``labels``; ``None`` when there is none."""
    return samples(text).get((name, frozenset(labels.items())))
