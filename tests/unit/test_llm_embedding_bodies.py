"""Embeddings and moderation bodies are checked before they are believed; cached vectors too."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modules.infrastructure.domain.config.values import LLMConfig
from modules.infrastructure.domain.errors import LLMMalformedResponseError
from modules.infrastructure.domain.llm.embedding_cache import FORMAT, cached_vectors, decode_vector, embedding_key, encode_vector, store_vectors
from modules.infrastructure.infrastructure.cache.memory_cache import MemoryCache
from modules.infrastructure.infrastructure.fakes.llm_embeddings import hashed_vector
from modules.infrastructure.infrastructure.llm_clients.embedding_body import embeddings_from, moderation_from


def body(data: Any, **extra: Any) -> bytes:
    return json.dumps({"object": "list", "data": data, "model": "m", **extra}).encode()


def item(index: Any, embedding: Any) -> dict[str, Any]:
    return {"object": "embedding", "index": index, "embedding": embedding}


def test_vectors_come_back_in_input_order_whatever_the_order_sent() -> None:
    batch = embeddings_from(body([item(1, [0.5, 1]), item(0, [0.25, 2])], usage={"prompt_tokens": 6}), None, 2, "openai")
    assert batch.vectors == ((0.25, 2.0), (0.5, 1.0)) and batch.prompt_tokens == 6 and batch.model == "m"


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        (b"<html>", "not JSON"),
        (b"[1]", "not an object"),
        (body([item(0, [1.0])]), "1 items for 2 texts"),
        (body(None), "data that is a NoneType for 2 texts"),
        (body([item(0, [1.0]), item(0, [1.0])]), "index 0 twice"),
        (body([item(0, [1.0]), item(2, [1.0])]), "not a position from 0 to 1"),
        (body([item(0, [1.0]), item(True, [1.0])]), "not a position"),
        (body([item(0, [1.0]), item(1, ["1.0"])]), "not a number"),
        (body([item(0, [1.0]), item(1, [])]), "not a list of numbers"),
        (body([item(0, [1.0]), item(1, [True])]), "not a number"),
        (b'{"data": [{"index": 0, "embedding": [NaN]}, {"index": 1, "embedding": [1.0]}]}', "NaN or infinity"),
        (body([item(0, [1.0]), item(1, [1.0, 2.0])]), "different lengths"),
        (body([item(0, [1.0]), item(1, [2.0])], usage={"prompt_tokens": -1}), "token count"),
        (body(["x", item(1, [2.0])]), "not an object"),
    ],
)
def test_a_malformed_embeddings_body_is_an_error_never_a_crash(raw: bytes, what: str) -> None:
    with pytest.raises(LLMMalformedResponseError, match=what) as raised:
        embeddings_from(raw, "application/json", 2, "openai")
    assert raised.value.status_code == 200 and "not with embeddings" in str(raised.value)


def test_a_moderation_body_is_read_and_checked() -> None:
    result = {"flagged": True, "categories": {"violence": True}, "category_scores": {"violence": 0.9}}
    good = json.dumps({"model": "omni-moderation-2024-09-26", "results": [result]}).encode()
    moderation = moderation_from(good, None, "openai", "omni-moderation-latest")
    assert moderation.flagged and moderation.categories == {"violence": True} and moderation.scores == {"violence": 0.9}
    assert moderation.model == "omni-moderation-2024-09-26" and moderation.provider == "openai"
    for bad in ({"results": []}, {"results": [{**result, "flagged": "yes"}]}, {"results": [{**result, "category_scores": {"v": "high"}}]}):
        with pytest.raises(LLMMalformedResponseError, match="not with a moderation"):
            moderation_from(json.dumps(bad).encode(), None, "openai", "m")


def test_the_cache_key_covers_provider_place_model_and_text_only() -> None:
    config = LLMConfig(provider="openai", model="gpt-4o-mini", base_url="http://a/v1")
    key = embedding_key(config, "text-embedding-3-small", "hello")
    assert key.startswith("embedding:") and key == embedding_key(config, "text-embedding-3-small", "hello")
    assert key != embedding_key(config, "text-embedding-3-large", "hello")
    assert key != embedding_key(config, "text-embedding-3-small", "hello!")
    assert key != embedding_key(LLMConfig(provider="openai", model="x", base_url="http://b/v1"), "text-embedding-3-small", "hello")


def test_an_unreadable_or_odd_cache_entry_is_a_miss() -> None:
    cache = MemoryCache()
    store_vectors(cache, ["good", "nan", "cut"], [(0.5, 1.0), (float("nan"), 1.0), (1.0, 2.0)], ttl=60)
    cache.set("cut", cache.get_bytes("cut")[:-3])  # type: ignore[index]
    cache.set("not-utf8", b"\xff\xfe")
    cache.set_json("json-list", [0.5, 1.0])
    cache.set("empty", FORMAT)
    keys = ["good", "nan", "cut", "not-utf8", "json-list", "empty", "absent"]
    assert cached_vectors(cache, keys) == [(0.5, 1.0), None, None, None, None, None, None]
    store_vectors(cache, ["longer"], [(1.0, 2.0, 3.0)], ttl=60)
    assert cached_vectors(cache, ["good", "longer"]) == [None, None]  # lengths disagree: neither is believed


def test_a_vector_round_trips_exactly() -> None:
    vector = (0.1, -2.5e-10, 3.0, 1 / 3)
    assert decode_vector(encode_vector(vector)) == vector


def test_the_fakes_vectors_are_repeatable_unit_length_and_closer_for_shared_words() -> None:
    cat, kitten, stocks = hashed_vector("the cat sat on the mat"), hashed_vector("a cat sat on a rug"), hashed_vector("stocks fell sharply")
    assert cat == hashed_vector("the cat sat on the mat") and len(cat) == 64
    assert abs(sum(x * x for x in cat) - 1) < 1e-9 and abs(sum(x * x for x in hashed_vector("!!")) - 1) < 1e-9

    def cosine(a: tuple[float, ...], b: tuple[float, ...]) -> float:
        return sum(x * y for x, y in zip(a, b))

    assert cosine(cat, kitten) > cosine(cat, stocks)
