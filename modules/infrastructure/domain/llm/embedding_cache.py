"""Embeddings in the LLM response cache: one entry per text, keyed by its content, provider and model.

A vector is kept as little-endian float64 bytes behind a format tag (exact, and about 40 times quicker to read
back than JSON). An entry that is missing, unreadable or not a vector is a miss, never an error: the fresh
vector replaces it.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from array import array
from collections.abc import Sequence

from modules.infrastructure.domain.cache.ports import Cache
from modules.infrastructure.domain.config.values import LLMConfig
from modules.infrastructure.domain.errors import CacheError
from modules.infrastructure.domain.llm.embedding_values import Vector

KEY_VERSION = 1
FORMAT = b"f64le:"


def embedding_key(config: LLMConfig, model: str, text: str) -> str:
    """sha256 over what decides the vector: where the provider is, the model and the text (never the API key).

    Not the module: the same text gives the same vector whoever asks.
    """
    material = {
        "v": KEY_VERSION,
        "provider": config.provider,
        "base_url": config.base_url,
        "endpoint": config.endpoint,
        "api_version": config.api_version,
        "local_model_path": config.local_model_path,
        "model": model,
        "text": text,
    }
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "embedding:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def cached_vectors(cache: Cache, keys: Sequence[str]) -> list[Vector | None]:
    """The vector under each key, or ``None`` for a miss; hits of differing lengths are all misses."""
    found = [_vector(cache, key) for key in keys]
    if len({len(v) for v in found if v is not None}) > 1:
        return [None] * len(keys)
    return found


def store_vectors(cache: Cache, keys: Sequence[str], vectors: Sequence[Vector], ttl: int) -> None:
    """Keep each vector under its key for ``ttl`` seconds."""
    for key, vector in zip(keys, vectors, strict=True):
        cache.set(key, encode_vector(vector), ttl=ttl)


def encode_vector(vector: Vector) -> bytes:
    """``FORMAT`` then the numbers as little-endian float64."""
    numbers = array("d", vector)
    if sys.byteorder == "big":
        numbers.byteswap()
    return FORMAT + numbers.tobytes()


def decode_vector(data: bytes | None) -> Vector | None:
    """The vector ``encode_vector`` wrote, or ``None`` for anything else (another format, a cut entry, NaN)."""
    if data is None or not data.startswith(FORMAT) or len(data) == len(FORMAT) or (len(data) - len(FORMAT)) % 8:
        return None
    numbers = array("d")
    numbers.frombytes(data[len(FORMAT) :])
    if sys.byteorder == "big":
        numbers.byteswap()
    return tuple(numbers) if math.isfinite(sum(numbers)) else None  # NaN or infinity anywhere makes the sum so


def _vector(cache: Cache, key: str) -> Vector | None:
    try:
        return decode_vector(cache.get_bytes(key))
    except CacheError:  # a backend that cannot read it: a miss, and the fresh vector overwrites it
        return None
