"""Ports of the LLM call layer: one provider's completions, embeddings and moderation, and the capacity limits it waits for."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from modules.infrastructure.domain.lifecycle import Resource
from modules.infrastructure.domain.llm.embedding_values import EmbeddingBatch, EmbeddingLimits, ModerationResult
from modules.infrastructure.domain.llm.values import Completion, CompletionRequest, StreamChunk


class CompletionClient(Resource, Protocol):
    """One LLM provider's chat completions, one attempt per call (the caller retries).

    Every failure is raised as an ``LLMProviderError`` subclass with ``status_code``, ``code`` and
    ``retry_after`` filled in where the provider said them.
    """

    provider: str
    model: str

    def complete(self, request: CompletionRequest, timeout: float) -> Completion:
        """The answer, all of it (body included) within ``timeout`` seconds."""
        ...

    def stream(self, request: CompletionRequest, timeout: float, total: float) -> Iterator[StreamChunk]:
        """Text chunks as they arrive, then one chunk carrying the usage: the first text within ``timeout``
        seconds, the whole stream within ``total`` (an ``LLMTimeoutError`` when it runs longer)."""
        ...

    def describe(self) -> str:
        """Provider, model and where it runs, for the start-up report; credentials masked."""
        ...

class EmbeddingClient(Protocol):
    """A provider's embeddings, one attempt per call (the caller retries), failures as ``LLMProviderError``.

    ``embedding_model`` is ``None`` when the provider is configured without one (embed then refuses).
    """

    provider: str
    embedding_model: str | None
    embedding_limits: EmbeddingLimits

    def embed(self, texts: Sequence[str], timeout: float) -> EmbeddingBatch:
        """One vector per text, in order, all of one length, within ``timeout`` seconds."""
        ...


class ModerationClient(Protocol):
    """A provider's moderation endpoint; ``moderation_model`` is ``None`` when it has none (moderate then refuses)."""

    provider: str
    moderation_model: str | None

    def moderate(self, text: str, timeout: float) -> ModerationResult:
        """The classification of ``text``, within ``timeout`` seconds."""
        ...
