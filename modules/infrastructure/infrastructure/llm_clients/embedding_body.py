"""What an embeddings or moderation answer must hold, checked before it is believed (and before it is cached).

Wrong count, missing or repeated index, a value that is not a finite number, vectors of differing
lengths: each an ``LLMMalformedResponseError`` saying what is wrong, never a crash.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from modules.infrastructure.domain.errors import LLMMalformedResponseError
from modules.infrastructure.domain.llm.embedding_values import EmbeddingBatch, ModerationResult, Vector
from modules.infrastructure.domain.llm.token_counts import is_token_count

NUMBERS = frozenset({float, int})
FLOATS = frozenset({float})
ADVICE = "retrying; if it persists, check that the base URL points at an OpenAI-compatible API"


def embeddings_from(body: bytes, content_type: str | None, count: int, provider: str) -> EmbeddingBatch:
    """The ``count`` vectors of an embeddings body, in input order; raises ``LLMMalformedResponseError``."""
    data = json_object(body, content_type, provider, "embeddings")
    items = data.get("data")
    if not isinstance(items, list) or len(items) != count:
        found = f"{len(items)} items" if isinstance(items, list) else f"data that is a {type(items).__name__}"
        raise malformed(provider, "embeddings", f"{found} for {count} texts")
    vectors: dict[int, Vector] = {}
    for item in items:
        try:
            index, vector = _item(item, count, provider)
        except OverflowError:
            raise malformed(provider, "embeddings", "a number too large for a float") from None
        if index in vectors:
            raise malformed(provider, "embeddings", f"index {index} twice")
        vectors[index] = vector
    if len({len(v) for v in vectors.values()}) > 1:
        raise malformed(provider, "embeddings", "vectors of different lengths")
    usage = data.get("usage")
    tokens = usage.get("prompt_tokens", 0) if isinstance(usage, Mapping) else 0
    if not is_token_count(tokens):
        raise malformed(provider, "embeddings", f"a token count that is not a whole number ({tokens!r})")
    model = data.get("model")
    return EmbeddingBatch(tuple(vectors[i] for i in range(count)), tokens, model if isinstance(model, str) else None)


def moderation_from(body: bytes, content_type: str | None, provider: str, model: str) -> ModerationResult:
    """The classification in a moderation body of one text; raises ``LLMMalformedResponseError``."""
    data = json_object(body, content_type, provider, "a moderation")
    results = data.get("results")
    if not isinstance(results, list) or len(results) != 1 or not isinstance(results[0], Mapping):
        raise malformed(provider, "a moderation", "results that are not a list of one object")
    result = results[0]
    flagged, categories, scores = result.get("flagged"), result.get("categories"), result.get("category_scores")
    if not (isinstance(flagged, bool) and _mapping_of(categories, _is_bool) and _mapping_of(scores, _is_score)):
        raise malformed(provider, "a moderation", "flagged, categories or category_scores missing or of the wrong type")
    assert isinstance(categories, Mapping) and isinstance(scores, Mapping)
    answered = data.get("model")
    return ModerationResult(
        flagged, dict(categories), {k: float(v) for k, v in scores.items()}, answered if isinstance(answered, str) else model, provider
    )


def json_object(body: bytes, content_type: str | None, provider: str, what: str) -> Mapping[str, Any]:
    """``body`` read as a JSON object; raises ``LLMMalformedResponseError`` otherwise."""
    try:
        data = json.loads(body)
    except ValueError:  # not JSON, or not UTF-8
        raise malformed(provider, what, f"a body that is not JSON ({content_type or 'no content-type'}, {len(body)} bytes)") from None
    except RecursionError:
        raise malformed(provider, what, "JSON nested too deeply to read") from None
    if not isinstance(data, Mapping):
        raise malformed(provider, what, f"JSON that is not an object (a {type(data).__name__})")
    return data


def malformed(provider: str, expected: str, what: str) -> LLMMalformedResponseError:
    """The error for an answer that is ``what`` instead of ``expected``."""
    return LLMMalformedResponseError(f"{provider} answered with success but not with {expected}: {what}; {ADVICE}", provider=provider, status_code=200)


def _item(item: object, count: int, provider: str) -> tuple[int, Vector]:
    if not isinstance(item, Mapping):
        raise malformed(provider, "embeddings", f"an item that is not an object (a {type(item).__name__})")
    index, embedding = item.get("index"), item.get("embedding")
    if type(index) is not int or not 0 <= index < count:
        raise malformed(provider, "embeddings", f"an index that is not a position from 0 to {count - 1} ({index!r})")
    if not isinstance(embedding, list) or not embedding:
        raise malformed(provider, "embeddings", f"item {index}'s embedding is not a list of numbers")
    kinds = set(map(type, embedding))  # checked in C: a vector has thousands of numbers
    if not kinds <= NUMBERS:
        raise malformed(provider, "embeddings", f"item {index}'s embedding holds a value that is not a number")
    # An int too large for a float raises OverflowError, caught by the caller.
    vector = tuple(embedding) if kinds == FLOATS else tuple(map(float, embedding))
    if not math.isfinite(sum(vector)):  # NaN or infinity anywhere makes the sum so
        raise malformed(provider, "embeddings", f"item {index}'s embedding holds NaN or infinity")
    return index, vector


def _mapping_of(value: object, check: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) and check(v) for k, v in value.items())


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_score(value: object) -> bool:
    return (type(value) is float or type(value) is int) and math.isfinite(value)
