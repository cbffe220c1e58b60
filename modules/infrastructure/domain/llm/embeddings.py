"""``LLMEmbeddings``: the call layer behind ``embed``: checks, cache, batching, the provider's retry loop, usage.

No fallback to another provider: vectors of different models are not comparable, so a list embedded
partly by one model and partly by another (or stored beside vectors of the first) would be wrong
without any error. A failure of the chosen provider is raised; the caller may retry or pick another.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from modules.infrastructure.domain.cache.ports import Cache
from modules.infrastructure.domain.errors import LLMBadRequestError, LLMMalformedResponseError, LLMProviderError
from modules.infrastructure.domain.llm.attempts import Attempts
from modules.infrastructure.domain.llm.call_records import record_call
from modules.infrastructure.domain.llm.deadline import Deadline
from modules.infrastructure.domain.llm.embedding_batches import batches, estimated_tokens
from modules.infrastructure.domain.llm.embedding_cache import cached_vectors, embedding_key, store_vectors
from modules.infrastructure.domain.llm.embedding_input import checked_module, checked_provider, checked_texts
from modules.infrastructure.domain.llm.embedding_values import EmbeddingResult, Vector
from modules.infrastructure.domain.llm.ports import EmbeddingClient
from modules.infrastructure.domain.llm.provider import LLMProvider
from modules.infrastructure.domain.llm.providers import LLMProviders
from modules.infrastructure.domain.llm.usage import UsageLedger
from modules.infrastructure.domain.llm.values import UsageStats


class LLMEmbeddings:
    """Embeds texts on one provider (the primary, or the named one) with the gateway's cache and ledger."""

    def __init__(self, providers: LLMProviders, cache: Cache | None, ledger: UsageLedger) -> None:
        self.providers = providers
        self.cache = cache
        self.ledger = ledger

    def embed(self, texts: object, *, module: object, provider: object = None) -> EmbeddingResult:
        """One vector per text, in order; raises ``LLMBadRequestError`` for bad input (before any request) and
        the provider's ``LLMProviderError`` subclasses (never falling back to another model)."""
        items, caller = checked_texts(texts), checked_module(module, "embed")
        chosen = self.providers.named(checked_provider(provider, "embed"))
        client, model = embedding_client(chosen)
        started, sent = time.perf_counter(), Attempts()
        keys = [embedding_key(chosen.config, model, text) for text in items] if self._caching(chosen) else []
        vectors: list[Vector | None] = cached_vectors(self.cache, keys) if keys and self.cache is not None else [None] * len(items)
        try:
            tokens, hits = self._fill(chosen, client, items, vectors, keys, sent)
        except LLMProviderError as exc:
            record_call(self.ledger, chosen.name, model, caller, 0, started, 0.0, outcome=type(exc).__name__, attempts=sent.count)
            raise
        cost = self.providers.prices.cost(model, tokens, 0) if sent.count else 0.0
        record_call(self.ledger, chosen.name, model, caller, tokens, started, cost, cached=not sent.count, attempts=sent.count)
        done = tuple(v for v in vectors if v is not None)
        return EmbeddingResult(done, model, chosen.name, UsageStats(tokens, 0, tokens, cost), hits)

    def _fill(
        self, chosen: LLMProvider, client: EmbeddingClient, items: Sequence[str], vectors: list[Vector | None],
        keys: Sequence[str], sent: Attempts,
    ) -> tuple[int, int]:
        """Embed the texts without a vector (all of them again if the cached ones' length differs): the tokens
        used and how many vectors came from the cache."""
        missing = [i for i, v in enumerate(vectors) if v is None]
        tokens = self._fetch(chosen, client, items, vectors, keys, sent, missing)
        hits = len(items) - len(missing)
        if _mixed(vectors):  # the cache held another length: those entries are stale
            tokens, hits = tokens + self._fetch(chosen, client, items, vectors, keys, sent, list(range(len(items)))), 0
        if _mixed(vectors):
            raise LLMMalformedResponseError(
                f"{chosen.name} answered vectors of different lengths to requests of one embed() call; retry, and check that "
                "the embedding model did not change", provider=chosen.name, status_code=200,
            )
        return tokens, hits

    def _fetch(
        self, chosen: LLMProvider, client: EmbeddingClient, items: Sequence[str], vectors: list[Vector | None],
        keys: Sequence[str], sent: Attempts, positions: list[int],
    ) -> int:
        deadline = Deadline.after(chosen.config.deadline, chosen.clock)
        tokens = 0
        for batch in batches(items, positions, client.embedding_limits, chosen.name):
            texts = [items[i] for i in batch]
            result, _ = chosen.run(lambda _client, timeout: client.embed(texts, timeout), estimated_tokens(texts), deadline, sent)
            for position, vector in zip(batch, result.vectors, strict=True):
                vectors[position] = vector
            if keys and self.cache is not None:
                store_vectors(self.cache, [keys[i] for i in batch], result.vectors, chosen.config.cache_ttl)
            tokens += result.prompt_tokens
        return tokens

    def _caching(self, chosen: LLMProvider) -> bool:
        return self.cache is not None and chosen.config.cache_ttl > 0


def _mixed(vectors: Sequence[Vector | None]) -> bool:
    return len({len(v) for v in vectors if v is not None}) > 1


def embedding_client(provider: LLMProvider) -> tuple[EmbeddingClient, str]:
    """The provider's client and embedding model; ``LLMBadRequestError`` when it has no embeddings configured."""
    client = provider.initialize_client()
    model = getattr(client, "embedding_model", None)
    if model is None or not callable(getattr(client, "embed", None)):
        raise LLMBadRequestError(
            f"LLM provider '{provider.name}' has no embedding model configured ({_advice(provider.name)}); "
            "embeddings never fall back to another provider, since vectors of different models are not comparable"
        )
    return client, model  # type: ignore[return-value]


def _advice(provider: str) -> str:
    if provider == "azure":
        return "set AZURE_OPENAI_EMBEDDING_DEPLOYMENT to an embeddings deployment"
    return "use an openai, azure or local provider: embed(..., provider=...)"
