"""Embeddings of the embedded model (SmolLM2-135M-Instruct's own, llama.cpp's embedding mode), through the facade."""

from __future__ import annotations

import math

import pytest

from modules.infrastructure.module_api import InfrastructureService, LLMBadRequestError, Prompt

pytestmark = pytest.mark.usefixtures("clean_env")


def cosine(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_similar_sentences_are_closer_than_unrelated_ones() -> None:
    texts = ["The cat sits on the mat.", "A kitten is sitting on a rug.", "Stock markets fell sharply on Tuesday."]
    result = InfrastructureService.embed(texts, module="search")
    cat, kitten, stocks = result.vectors
    assert result.provider == "local" and result.dimensions == 576 and result.usage_stats.prompt_tokens > 0
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-3 for v in result.vectors)  # mean-pooled, L2-normalised
    print(f"cosine cat/kitten {cosine(cat, kitten):.3f}, cat/stocks {cosine(cat, stocks):.3f}, kitten/stocks {cosine(kitten, stocks):.3f}")
    assert cosine(cat, kitten) > cosine(cat, stocks) and cosine(cat, kitten) > cosine(kitten, stocks)


def test_chat_still_answers_on_the_same_server_and_embeddings_are_cached() -> None:
    first = InfrastructureService.embed(["hello world"], module="search")
    assert InfrastructureService.execute_prompt(Prompt("Say hi", parameters={"max_tokens": 4})).content.strip()
    again = InfrastructureService.embed(["hello world"], module="search")
    assert again.cached == 1 and again.vectors == first.vectors


def test_a_text_longer_than_the_context_is_refused_naming_it_and_a_long_one_fits() -> None:
    long_text = "word " * 1200  # about 1200 tokens: over llama.cpp's default physical batch (512), within the context
    assert InfrastructureService.embed([long_text], module="search").dimensions == 576
    with pytest.raises(LLMBadRequestError, match=r"texts\[1\]\) needs about .* takes 2048 per text"):
        InfrastructureService.embed(["short", "word " * 3000], module="search")


def test_the_local_model_has_no_moderation() -> None:
    with pytest.raises(LLMBadRequestError, match="'local' has no moderation endpoint; moderation needs OpenAI"):
        InfrastructureService.moderate("hello", module="forum")
