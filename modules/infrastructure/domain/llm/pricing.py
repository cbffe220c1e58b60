"""Cost of a call from a versioned price table (USD per million tokens); unknown models cost ``None``."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modules.infrastructure.domain.llm.price_data import parse_aliases, parse_models, parse_version

logger = logging.getLogger(__name__)
# A snapshot date at the end of a model id: OpenAI's -2024-07-18 or Anthropic's -20250929 (a real
# month and day, so a build number or a size such as -32768 is never taken for one).
_DATED_SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|20\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))$")

PER_TOKENS = 1_000_000


@dataclass(frozen=True)
class ModelPrice:
    input: float
    output: float
    cached_input: float | None = None


@dataclass
class PriceTable:
    """Prices by model name; a dated model (``gpt-4o-mini-2024-07-18``, ``claude-sonnet-4-5-20250929``)
    falls back to its base name, and an alias (an Azure deployment name) to the model it names."""

    version: str
    prices: Mapping[str, ModelPrice]
    aliases: Mapping[str, str] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set, repr=False)

    @classmethod
    def from_data(cls, data: Any) -> PriceTable:
        """Build from ``{"version": ..., "models": {name: {"input": x, "output": y}}, "aliases": {name: model}}``.

        Raises ``ValueError`` naming the model and the problem (a price that is not a finite number
        from 0 to ``MAX_PRICE``, a missing field, an unknown one).
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"not a price table (a JSON {type(data).__name__}); expected an object with version and models")
        models = {name: ModelPrice(*fields) for name, fields in parse_models(data.get("models")).items()}
        aliases = parse_aliases(data.get("aliases"), models)
        return cls(parse_version(data.get("version")), models, aliases)

    def overlaid(self, other: PriceTable) -> PriceTable:
        """This table with ``other``'s models added or replacing its own; the version names both.

        Raises ``ValueError`` when an alias of ``other`` names a model neither table prices.
        """
        prices = {**self.prices, **other.prices}
        aliases = {**self.aliases, **other.aliases}
        for alias, model in aliases.items():
            if model not in prices:
                raise ValueError(f"alias {alias!r} names model {model!r}, which has no price; add it under models")
        return PriceTable(f"{self.version}+{other.version}", prices, aliases)

    def price(self, model: str) -> ModelPrice | None:
        """The price of ``model``, of the model it is an alias of, or of the model it is a dated snapshot of.

        Any other variant (``gpt-4o-audio-preview``) is unknown: a wrong price is worse than none.
        """
        model = self.aliases.get(model, model)
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
