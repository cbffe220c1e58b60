"""Find the practice topics closest in meaning to a learner's words, by embeddings through the infrastructure."""

from __future__ import annotations

import math
from collections.abc import Sequence

from modules.infrastructure.module_api import InfrastructureService
from modules.learning.application.practice import MODULE


def closest(text: str, topics: Sequence[str], limit: int) -> list[tuple[str, float]]:
    """``topics`` ranked by cosine similarity to ``text``, best first, at most ``limit``; vectors come from the
    cache after the first time a topic is embedded, so only new words cost a request."""
    if not topics:
        return []
    query, *vectors = InfrastructureService.embed([text, *topics], module=MODULE).vectors
    ranked = sorted(((topic, _cosine(query, vector)) for topic, vector in zip(topics, vectors)), key=lambda pair: -pair[1])
    return ranked[:limit]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norms = math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b)) / norms if norms else 0.0
