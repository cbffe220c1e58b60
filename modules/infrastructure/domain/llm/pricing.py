"""Cost of a call from a versioned price table (USD per million tokens); unknown models cost ``None``."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)
_DATED_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")

PER_TOKENS = 1_000_000


@dataclass(frozen=True)
class ModelPrice:
    input: float
    output: float
    cached_input: float | None = None


@dataclass
class PriceTable:
    """Prices by model name; a dated model (``gpt-4o-mini-2024-07-18``) falls back to its base name."""

    version: str
    prices: Mapping[str, ModelPrice]
    _warned: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> PriceTable:
        """Build from ``{"version": ..., "models": {name: {"input": x, "output": y}}}``; raises ``ValueError``."""
        try:
            models = {
                name: ModelPrice(float(p["input"]), float(p["output"]), _optional(p.get("cached_input")))
                for name, p in data["models"].items()
            }
            return cls(str(data["version"]), models)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a price table ({exc!r}); expected version and models: {{name: {{input, output}}}}") from exc

    def price(self, model: str) -> ModelPrice | None:
        """The price of ``model``, or of the model it is a dated snapshot of (``gpt-4o-2024-08-06``).

        Any other variant (``gpt-4o-audio-preview``) is unknown: a wrong price is worse than none.
        """
        return self.prices.get(model) or self.prices.get(_DATED_SNAPSHOT.sub("", model))

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        """USD for the tokens, rounded to 1e-8; ``None`` (and one warning per model) when the model is unknown."""
        price = self.price(model)
        if price is None:
            if model not in self._warned:
                self._warned.add(model)
                logger.warning("No price for LLM model %r in price table %s: its cost is recorded as unknown", model, self.version)
            return None
        return round((prompt_tokens * price.input + completion_tokens * price.output) / PER_TOKENS, 8)


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)
