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
from modules.infrastructure.domain.policies.attempts import Attempts
from modules.infrastructure.domain.llm.call_records import record_call
from modules.infrastructure.domain.policies.deadline import Deadline
from modules.infrastructure.domain.llm.embedding_batches import batches, estimated_tokens
from modules.infrastructure.domain.llm.embedding_cache import cached_vectors, embedding_key, store_vectors
from modules.infrastructure.domain.llm.embedding_input import checked_module, checked_provider, checked_texts
from modules.infrastructure.domain.llm.embedding_values import EmbeddingResult, Vector
from modules.infrastructure.domain.llm.ports import EmbeddingClient
from modules.infrastructure.domain.llm.provider import LLMProvider
from modules.infrastructure.domain.llm.providers import LLMProviders
from modules.infrastructure.domain.llm.usage import UsageLedger
from modules.infrastructure.domain.llm.call_span import embedding_attributes
from modules.infrastructure.domain.tracing.ports import NO_TRACING, Tracer
from modules.infrastructure.domain.llm.values import UsageStats


class LLMEmbeddings:
    """Embeds texts on one provider (the primary, or the named one) with the gateway's cache and ledger."""

    def __init__(self, providers: LLMProviders, cache: Cache | None, ledger: UsageLedger, tracer: Tracer = NO_TRACING) -> None:
        self.providers = providers
        self.cache = cache
        self.ledger = ledger
        self.tracer = tracer

    def embed(self, texts: object, *, module: object, provider: object = None) -> EmbeddingResult:
        """One vector per text, in order; raises ``LLMBadRequestError`` for bad input (before any request) and
        the provider's ``LLMProviderError`` subclasses (never falling back to another model)."""
        items, caller = checked_texts(texts), checked_module(module, "embed")
        chosen = self.providers.named(checked_provider(provider, "embed"))
        client, model = embedding_client(chosen)
        with self.tracer.span(f"embeddings {model}", "client", embedding_attributes(chosen, model, len(items), caller)) as span:
            result = self._embed(chosen, client, model, items, caller)
            span.set_attributes({"gen_ai.usage.input_tokens": result.usage_stats.prompt_tokens, "infrastructure.llm.cache_hits": result.cached})
            return result

    def _embed(self, chosen: LLMProvider, client: EmbeddingClient, model: str, items: Sequence[str], caller: str) -> EmbeddingResult:
        started = time.perf_counter()
        cache = self.cache if self.cache is not None and chosen.config.cache_ttl > 0 else None
        call = _EmbedCall(chosen, client, items, cache, [embedding_key(chosen.config, model, t) for t in items] if cache is not None else [])
        try:
            hits = call.fill()
        except LLMProviderError as exc:  # the requests that succeeded before it were used (and their vectors cached)
            cost = self.providers.prices.cost(model, call.tokens, 0) if call.tokens else 0.0
            record_call(self.ledger, chosen.name, model, caller, call.tokens, started, cost, outcome=type(exc).__name__, attempts=call.sent.count)
            raise
        cost = self.providers.prices.cost(model, call.tokens, 0) if call.sent.count else 0.0
        record_call(self.ledger, chosen.name, model, caller, call.tokens, started, cost, cached=not call.sent.count, attempts=call.sent.count)
        usage = UsageStats(call.tokens, 0, call.tokens, cost)
        return EmbeddingResult(tuple(v for v in call.vectors if v is not None), model, chosen.name, usage, hits)


class _EmbedCall:
    """One ``embed`` call's state: its texts, their keys and vectors so far, the requests sent and tokens used."""

    def __init__(self, provider: LLMProvider, client: EmbeddingClient, items: Sequence[str], cache: Cache | None, keys: list[str]) -> None:
        self.provider, self.client, self.items, self.cache, self.keys = provider, client, items, cache, keys
        self.vectors: list[Vector | None] = cached_vectors(cache, keys) if cache is not None else [None] * len(items)
        self.deadline = Deadline.after(provider.config.deadline, provider.clock)
        self.sent = Attempts()
        self.tokens = 0

    def fill(self) -> int:
        """Embed the texts without a vector (all of them again if the cached ones' length differs); how many
        vectors came from the cache."""
        missing = [i for i, v in enumerate(self.vectors) if v is None]
        self._fetch(missing)
        hits = len(self.items) - len(missing)
        if _mixed(self.vectors):  # the cache held another length: those entries are stale
            self._fetch(list(range(len(self.items))))
            hits = 0
        if _mixed(self.vectors):
            raise LLMMalformedResponseError(
                f"{self.provider.name} answered vectors of different lengths to requests of one embed() call; retry, "
                "and check that the embedding model did not change", provider=self.provider.name, status_code=200,
            )
        return hits

    def _fetch(self, positions: list[int]) -> None:
        for batch in batches(self.items, positions, self.client.embedding_limits, self.provider.name):
            texts = [self.items[i] for i in batch]
            result, _ = self.provider.run(lambda _client, timeout: self.client.embed(texts, timeout), estimated_tokens(texts), self.deadline, self.sent)
            for position, vector in zip(batch, result.vectors, strict=True):
                self.vectors[position] = vector
            if self.cache is not None:
                store_vectors(self.cache, [self.keys[i] for i in batch], result.vectors, self.provider.config.cache_ttl)
            self.tokens += result.prompt_tokens


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
