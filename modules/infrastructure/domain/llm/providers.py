"""``LLMProviders``: the models the call layer may use, in fallback order, and what their tokens cost."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.lifecycle import Closeable
from modules.infrastructure.domain.llm.pricing import PriceTable
from modules.infrastructure.domain.llm.provider import LLMProvider

logger = logging.getLogger(__name__)


class LLMProviders:
    """The primary provider first, then the fallbacks; ``resources`` (a shared limiter's client) close with them."""

    def __init__(self, providers: Sequence[LLMProvider], prices: PriceTable, resources: Sequence[Closeable] = ()) -> None:
        if not providers:
            raise ValueError("LLMProviders needs at least one provider")
        self.providers = list(providers)
        self.prices = prices
        self.resources = list(resources)

    @property
    def primary(self) -> LLMProvider:
        return self.providers[0]

    def named(self, name: str | None) -> LLMProvider:
        """The primary provider, or the configured one called ``name``; raises ``LLMBadRequestError``."""
        if name is None:
            return self.primary
        for provider in self.providers:
            if provider.name == name:
                return provider
        known = ", ".join(p.name for p in self.providers)
        raise LLMBadRequestError(f"LLM provider '{name}' is not configured (configured: {known}); set LLM_FALLBACK_PROVIDERS")

    def __iter__(self) -> Iterator[LLMProvider]:
        return iter(self.providers)

    def __len__(self) -> int:
        return len(self.providers)

    def close(self) -> None:
        """Close every provider's client (and stop the local model server), then ``resources``."""
        closables: list[Closeable] = [*self.providers, *self.resources]
        for closable in closables:
            try:
                closable.close()
            except Exception:  # closing goes on for the others
                logger.exception("Closing %r of the LLM layer failed", closable)

    def after_fork(self) -> None:
        """In a forked child: providers reconnect (and the local server restarts) on next use.

        ``resources`` stay: redis-py's pool notices the new process and opens its own connections.
        """
        for provider in self.providers:
            provider.after_fork()
