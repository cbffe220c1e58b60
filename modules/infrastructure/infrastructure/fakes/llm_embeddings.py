"""Embeddings and moderation of ``FakeLLM``: scripted, recorded, and on the real call path (cache, batching, usage)."""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Union

from modules.infrastructure.domain.llm.embedding_values import EmbeddingBatch, EmbeddingLimits, ModerationResult, Vector
from modules.infrastructure.domain.llm.prompts import estimate_text_tokens

Embedder = Callable[[str], Sequence[float]]
ModerationReply = Union[ModerationResult, BaseException, Callable[[str], ModerationResult]]
FAKE_DIMENSIONS = 64
FAKE_CATEGORIES = ("harassment", "hate", "self-harm", "sexual", "violence")


def hashed_vector(text: str, dimensions: int = FAKE_DIMENSIONS) -> Vector:
    """A unit vector from the text's words (each word adds ±1 in a dimension its sha256 picks): the same text
    gives the same vector in every process, and texts sharing words are closer (cosine) than texts that share none."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()) or [text]:
        digest = hashlib.sha256(word.encode("utf-8", "replace")).digest()
        vector[int.from_bytes(digest[:4], "big") % dimensions] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return tuple(x / norm for x in vector) if any(vector) else (1.0,) + (0.0,) * (dimensions - 1)


def not_flagged(text: str) -> ModerationResult:
    """The default moderation of the fake: nothing flagged, every score 0."""
    return ModerationResult(False, dict.fromkeys(FAKE_CATEGORIES, False), dict.fromkeys(FAKE_CATEGORIES, 0.0), "fake-moderation", "fake")


class FakeEmbeddings:
    """Vectors from ``embedder`` (default ``hashed_vector``), moderations from the scripted replies, else
    ``not_flagged``. ``embedded`` keeps the texts of each request that reached the fake, ``moderated`` each text."""

    provider: str
    embedding_model: str | None = "fake-embedding"
    moderation_model: str | None = "fake-moderation"

    def _start_embeddings(self, embedder: Embedder | None, moderations: Iterable[ModerationReply], batch: int) -> None:
        self.embedder: Embedder = embedder or hashed_vector
        self.embedding_limits = EmbeddingLimits(max_inputs=batch, max_request_tokens=300_000)
        self.embedded: list[tuple[str, ...]] = []
        self.moderated: list[str] = []
        self._moderations: deque[ModerationReply] = deque(moderations)
        self._embedding_failures: deque[BaseException] = deque()
        self._embedding_lock = threading.Lock()

    def fail_embeddings(self, *errors: BaseException) -> None:
        """The next embeddings requests raise these, one each, in order (an ``LLMRateLimitError`` is retried)."""
        with self._embedding_lock:
            self._embedding_failures.extend(errors)

    def add_moderations(self, *replies: ModerationReply) -> None:
        """The next moderations answer these: a ``ModerationResult``, an exception to raise, or a function of the text."""
        with self._embedding_lock:
            self._moderations.extend(replies)

    def embed(self, texts: Sequence[str], timeout: float) -> EmbeddingBatch:
        with self._embedding_lock:
            self.embedded.append(tuple(texts))
            failure = self._embedding_failures.popleft() if self._embedding_failures else None
        if failure is not None:
            raise failure
        vectors = tuple(tuple(float(x) for x in self.embedder(text)) for text in texts)
        tokens = sum(estimate_text_tokens(len(text)) for text in texts)
        return EmbeddingBatch(vectors, tokens, self.embedding_model)

    def moderate(self, text: str, timeout: float) -> ModerationResult:
        with self._embedding_lock:
            self.moderated.append(text)
            reply: ModerationReply = self._moderations.popleft() if self._moderations else not_flagged
        if isinstance(reply, BaseException):
            raise reply
        return reply(text) if callable(reply) else reply
