"""Embeddings and moderation of the OpenAI API, mixed into ``OpenAIClient`` (and so into its Azure and local kin).

One attempt per call through the same error seam and deadline cutoff as chat completions; the body
is checked (``embedding_body``) before it is believed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from modules.infrastructure.domain.config.values import LLMConfig
from modules.infrastructure.domain.llm.embedding_values import EmbeddingBatch, EmbeddingLimits, ModerationResult
from modules.infrastructure.infrastructure.http_transport.deadline_network import cutoff
from modules.infrastructure.infrastructure.llm_clients.embedding_body import embeddings_from, moderation_from

# OpenAI's documented limits of one embeddings request: 2048 inputs and 300,000 tokens in all. Each
# input's own limit (8192 tokens) is left to the API: the estimate here is deliberately generous.
OPENAI_EMBEDDING_LIMITS = EmbeddingLimits(max_inputs=2048, max_request_tokens=300_000)


class EmbeddingEndpoints:
    """``embed`` and ``moderate`` for a client with ``_sdk()`` (the openai client) and ``_errors()`` (``OpenAIClient``)."""

    provider: str
    config: LLMConfig
    embedding_limits: EmbeddingLimits = OPENAI_EMBEDDING_LIMITS

    @property
    def embedding_model(self) -> str | None:
        """The configured embedding model (an Azure deployment), ``None`` when there is none."""
        return self.config.embedding_model

    @property
    def moderation_model(self) -> str | None:
        """The configured moderation model; ``None`` where the API has no moderation endpoint."""
        return self.config.moderation_model

    def embed(self, texts: Sequence[str], timeout: float) -> EmbeddingBatch:
        """One attempt, body included, within ``timeout`` seconds; vectors in the order of ``texts``."""
        with self._errors(), cutoff(time.monotonic() + timeout):
            raw = self._embedding_api().embeddings.with_raw_response.create(
                model=self.embedding_model, input=list(texts), encoding_format="float", timeout=timeout
            )
        return embeddings_from(raw.content, raw.headers.get("content-type"), len(texts), self.provider)

    def moderate(self, text: str, timeout: float) -> ModerationResult:
        """One attempt, body included, within ``timeout`` seconds."""
        model = self.moderation_model or ""
        with self._errors(), cutoff(time.monotonic() + timeout):
            raw = self._sdk().moderations.with_raw_response.create(model=model, input=text, timeout=timeout)
        return moderation_from(raw.content, raw.headers.get("content-type"), self.provider, model)

    def _embedding_api(self) -> Any:
        """The openai client embeddings go through: the chat one, unless a subclass needs another (Azure)."""
        return self._sdk()

    def _errors(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _sdk(self) -> Any:
        raise NotImplementedError
