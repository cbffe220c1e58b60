"""Public results of ``embed`` and ``moderate``, and what an adapter hands back for one embeddings request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from modules.infrastructure.domain.llm.values import UsageStats

Vector = tuple[float, ...]


@dataclass(frozen=True)
class EmbeddingResult:
    """One vector per text, in the order the texts were given, all from ``model`` of ``provider``.

    ``cached`` says how many of them came from the cache; ``usage_stats`` counts the tokens sent
    (completion tokens are always 0) and their cost. Vectors of different models are not comparable.
    """

    vectors: tuple[Vector, ...]
    model: str
    provider: str
    usage_stats: UsageStats = field(default_factory=UsageStats)
    cached: int = 0

    @property
    def dimensions(self) -> int:
        """The length of every vector."""
        return len(self.vectors[0]) if self.vectors else 0


@dataclass(frozen=True)
class ModerationResult:
    """Whether ``model`` flagged the text, per category, with the category scores (0 to 1)."""

    flagged: bool
    categories: Mapping[str, bool]
    scores: Mapping[str, float]
    model: str
    provider: str


@dataclass(frozen=True)
class EmbeddingBatch:
    """The vectors of one request, in the order of its texts, and the tokens the provider counted."""

    vectors: tuple[Vector, ...]
    prompt_tokens: int = 0
    model: str | None = None


@dataclass(frozen=True)
class EmbeddingLimits:
    """What one embeddings request of a provider may carry: texts, estimated tokens in all, and per text
    (``None``: the provider checks it)."""

    max_inputs: int
    max_request_tokens: int
    max_text_tokens: int | None = None
