"""``embed`` and ``moderate`` through the facade on ``FakeLLM``: the real call path (checks, cache, batching,
retries, usage), only the model is fake."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager

import pytest

from modules.infrastructure.module_api import (
    EmbeddingResult,
    InfrastructureService,
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMMalformedResponseError,
    LLMRateLimitError,
    ModerationResult,
)
from modules.infrastructure.module_api.testing import FakeLLM, MemoryCache, fake_infrastructure, hashed_vector

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    llm = FakeLLM(embedding_batch=3)
    with InfrastructureService.override(llm=llm.gateway(MemoryCache())):
        yield llm


def test_vectors_come_back_in_order_batched_to_the_limit(fake: FakeLLM) -> None:
    texts = [f"text number {i}" for i in range(8)]
    result = InfrastructureService.embed(texts, module="search")
    assert isinstance(result, EmbeddingResult)
    assert result.vectors == tuple(hashed_vector(t) for t in texts) and result.dimensions == 64
    assert result.model == "fake-embedding" and result.provider == "fake" and result.cached == 0
    assert fake.embedded == [tuple(texts[0:3]), tuple(texts[3:6]), tuple(texts[6:8])]


def test_a_second_call_sends_only_the_new_texts(fake: FakeLLM) -> None:
    InfrastructureService.embed(["a cat", "a dog"], module="search")
    again = InfrastructureService.embed(("a dog", "a bird", "a cat"), module="search")
    assert again.cached == 2 and again.vectors == tuple(hashed_vector(t) for t in ("a dog", "a bird", "a cat"))
    assert fake.embedded[-1] == ("a bird",)
    hit = InfrastructureService.embed(["a cat"], module="other")  # the key is the text and model, not the module
    assert hit.cached == 1 and hit.usage_stats.prompt_tokens == 0 and len(fake.embedded) == 2


def test_usage_and_cost_are_recorded_per_module(fake: FakeLLM) -> None:
    result = InfrastructureService.embed(["one text", "another text"], module="search")
    InfrastructureService.embed(["one text"], module="search")
    usage = InfrastructureService.get_llm_usage(module="search")
    assert usage.calls == 2 and usage.cached_calls == 1 and usage.completion_tokens == 0
    assert usage.prompt_tokens == result.usage_stats.prompt_tokens > 0 and result.usage_stats.cost_usd == 0.0
    assert usage.by_model == {"fake/fake-embedding": 2} and InfrastructureService.get_llm_usage(module="other").calls == 0


def test_a_rate_limited_request_is_retried_and_a_refused_one_is_not(fake: FakeLLM) -> None:
    fake.fail_embeddings(LLMRateLimitError("slow down", provider="fake", status_code=429))
    assert InfrastructureService.embed(["retry me"], module="search").vectors == (hashed_vector("retry me"),)
    assert len(fake.embedded) == 2
    fake.fail_embeddings(LLMAuthenticationError("bad key", provider="fake", status_code=401))
    with pytest.raises(LLMAuthenticationError):
        InfrastructureService.embed(["refused"], module="search")
    assert len(fake.embedded) == 3
    usage = InfrastructureService.get_llm_usage(module="search")
    assert usage.calls == 2 and usage.failed_calls == 1


@pytest.mark.parametrize(
    ("texts", "message"),
    [("a text", "wrap it"), ([], "no texts"), (["ok", None], r"texts\[1\]"), (["x" * 10_000_000], "10,000,000 characters")],
)
def test_bad_input_is_refused_before_any_request(fake: FakeLLM, texts: object, message: str) -> None:
    with pytest.raises(LLMBadRequestError, match=message):
        InfrastructureService.embed(texts, module="search")  # type: ignore[arg-type]
    with pytest.raises(LLMBadRequestError, match="module's name"):
        InfrastructureService.embed(["fine"], module=None)  # type: ignore[arg-type]
    assert fake.embedded == [] and InfrastructureService.get_llm_usage().calls == 0


def test_an_unknown_provider_is_refused(fake: FakeLLM) -> None:
    with pytest.raises(LLMBadRequestError, match="'openai' is not configured"):
        InfrastructureService.embed(["x"], module="search", provider="openai")


def test_moderation_is_scripted_recorded_and_costs_nothing(fake: FakeLLM) -> None:
    scripted = ModerationResult(True, {"violence": True}, {"violence": 0.93}, "fake-moderation", "fake")
    fake.add_moderations(scripted, LLMRateLimitError("slow down", provider="fake", status_code=429))
    assert InfrastructureService.moderate("I will attack", module="forum") is scripted
    assert InfrastructureService.moderate("hello", module="forum").flagged is False  # the 429 was retried
    assert fake.moderated == ["I will attack", "hello", "hello"]
    usage = InfrastructureService.get_llm_usage(module="forum")
    assert usage.calls == 2 and usage.total_tokens == 0 and usage.cost_usd == 0.0 and usage.by_model == {"fake/fake-moderation": 2}


@pytest.mark.parametrize(("text", "message"), [(b"bytes", "must be text, not bytes"), ("", "empty"), ("x" * 1_000_001, "over the")])
def test_bad_moderation_input_is_refused_before_any_request(fake: FakeLLM, text: object, message: str) -> None:
    with pytest.raises(LLMBadRequestError, match=message):
        InfrastructureService.moderate(text, module="forum")  # type: ignore[arg-type]
    assert fake.moderated == []


def test_a_provider_without_moderation_or_embeddings_says_what_to_configure() -> None:
    fake = FakeLLM()
    fake.moderation_model = None
    fake.embedding_model = None
    with InfrastructureService.override(llm=fake.gateway()):
        with pytest.raises(LLMBadRequestError, match="'fake' has no moderation endpoint; moderation needs OpenAI: set OPENAI_API_KEY"):
            InfrastructureService.moderate("hello", module="forum")
        with pytest.raises(LLMBadRequestError, match="no embedding model configured .*never fall back"):
            InfrastructureService.embed(["hello"], module="search")
    assert fake.moderated == [] and fake.embedded == []


def test_fake_infrastructure_embeds_with_a_scripted_function() -> None:
    with fake_infrastructure() as fakes:
        fakes.llm.embedder = lambda text: [float(len(text)), 1.0]
        assert InfrastructureService.embed(["abc", "de"], module="search").vectors == ((3.0, 1.0), (2.0, 1.0))
        assert InfrastructureService.embed(["abc"], module="search").cached == 1


def test_stale_cached_vectors_of_another_length_are_embedded_again() -> None:
    fake = FakeLLM()
    cache = MemoryCache()
    with installed(fake, cache):
        InfrastructureService.embed(["kept"], module="search")
        fake.embedder = lambda text: [1.0, 2.0]  # the model now answers another length
        result = InfrastructureService.embed(["kept", "new"], module="search")
    assert result.vectors == ((1.0, 2.0), (1.0, 2.0)) and result.cached == 0
    assert fake.embedded == [("kept",), ("new",), ("kept", "new")]


def test_fresh_vectors_of_differing_lengths_are_a_malformed_answer() -> None:
    fake = FakeLLM(embedding_batch=1, embedder=lambda text: [1.0] * len(text))
    with installed(fake, MemoryCache()), pytest.raises(LLMMalformedResponseError, match="vectors of different lengths"):
        InfrastructureService.embed(["a", "bb"], module="search")


def installed(fake: FakeLLM, cache: MemoryCache) -> AbstractContextManager[None]:
    return InfrastructureService.override(llm=fake.gateway(cache))


def test_a_failure_after_some_requests_keeps_their_vectors_and_records_their_tokens() -> None:
    def embedder(text: str) -> list[float]:
        if text == "refused text":
            raise LLMAuthenticationError("scripted 401", provider="fake", status_code=401)
        return [1.0, 0.0]

    fake = FakeLLM(embedding_batch=1, embedder=embedder)
    with installed(fake, MemoryCache()):
        with pytest.raises(LLMAuthenticationError):
            InfrastructureService.embed(["accepted text", "refused text"], module="search")
        usage = InfrastructureService.get_llm_usage(module="search")
        assert usage.failed_calls == 1 and usage.prompt_tokens == 4  # "accepted text": 13 characters, about 4 tokens
        assert InfrastructureService.embed(["accepted text"], module="search").cached == 1
