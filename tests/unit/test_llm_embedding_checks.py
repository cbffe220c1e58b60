"""What embed() and moderate() refuse before any request, and how texts are cut into requests."""

from __future__ import annotations

import pytest

from modules.infrastructure.domain.errors import LLMBadRequestError
from modules.infrastructure.domain.llm.embedding_batches import batches
from modules.infrastructure.domain.llm.embedding_input import (
    MAX_TEXT_CHARACTERS,
    MAX_TEXTS,
    checked_module,
    checked_provider,
    checked_text,
    checked_texts,
)
from modules.infrastructure.domain.llm.embedding_values import EmbeddingLimits


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ("one text", r"not one text: wrap it, embed\(\[text\]\)"),
        (None, "list or tuple of texts, not NoneType"),
        ({"a"}, "list or tuple of texts, not set"),
        ([], "no texts"),
        (["fine", 7], r"texts\[1\]\) must be text, not int"),
        (["fine", "  \n"], r"texts\[1\]\) is empty or only whitespace"),
        (["x" * (MAX_TEXT_CHARACTERS + 1)], "1,000,001 characters, over the 1,000,000 allowed"),
        (["x" * 10_000_000], "10,000,000 characters"),
        (["ok", "bad \udc80 text"], r"texts\[1\]\) holds a lone surrogate at character 4"),
        (["t"] * (MAX_TEXTS + 1), f"at most {MAX_TEXTS} texts"),
    ],
)
def test_bad_texts_are_refused_with_the_position(texts: object, message: str) -> None:
    with pytest.raises(LLMBadRequestError, match=message):
        checked_texts(texts)


def test_good_texts_come_back_as_a_tuple() -> None:
    assert checked_texts(["a", "b é"]) == ("a", "b é")
    assert checked_texts(("a",)) == ("a",)


def test_a_refusal_never_shows_the_text() -> None:
    with pytest.raises(LLMBadRequestError) as raised:
        checked_texts(["secret-value " * 100_000])
    assert "secret-value" not in str(raised.value)


@pytest.mark.parametrize("module", [None, 3, "", "  "])
def test_the_module_must_be_a_name(module: object) -> None:
    with pytest.raises(LLMBadRequestError, match=r"embed\(module=...\) takes the calling module's name"):
        checked_module(module, "embed")


def test_moderation_text_and_provider_are_checked() -> None:
    with pytest.raises(LLMBadRequestError, match=r"moderate\(text\) must be text, not bytes"):
        checked_text(b"hi", "moderate(text)")
    with pytest.raises(LLMBadRequestError, match="provider=...\\) takes a configured provider's name or None, not int"):
        checked_provider(1, "moderate")
    assert checked_provider(None, "embed") is None


def test_batches_keep_order_and_respect_the_count() -> None:
    texts = [f"text {i}" for i in range(7)]
    assert batches(texts, range(7), EmbeddingLimits(max_inputs=3, max_request_tokens=10_000), "p") == [[0, 1, 2], [3, 4, 5], [6]]


def test_batches_respect_the_token_budget_and_an_oversized_text_goes_alone() -> None:
    texts = ["a" * 35, "b" * 35, "c" * 350, "d" * 35]  # 10, 10, 100, 10 estimated tokens
    limits = EmbeddingLimits(max_inputs=100, max_request_tokens=25)
    assert batches(texts, [0, 1, 2, 3], limits, "p") == [[0, 1], [2], [3]]
    assert batches(texts, [3, 1], limits, "p") == [[3, 1]]


def test_a_text_over_the_models_input_is_refused_naming_its_position() -> None:
    limits = EmbeddingLimits(max_inputs=10, max_request_tokens=10_000, max_text_tokens=100)
    with pytest.raises(LLMBadRequestError, match=r"texts\[1\]\) needs about 286 tokens \(1,000 characters\) but local's .* takes 100"):
        batches(["short", "x" * 1000], [0, 1], limits, "local")
