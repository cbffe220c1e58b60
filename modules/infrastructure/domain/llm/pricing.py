"""Cost of a call from a versioned price table (USD per million tokens); unknown models cost ``None``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

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
        """The price of ``model``, or of the longest known name it starts with."""
        if model in self.prices:
            return self.prices[model]
        candidates = [name for name in self.prices if model.startswith(name + "-")]
        return self.prices[max(candidates, key=len)] if candidates else None

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
