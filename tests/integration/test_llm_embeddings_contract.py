"""One contract, two backends: ``FakeLLM`` (what sibling tests use) and the real OpenAI adapter against the
fault server behave the same through ``embed`` and ``moderate``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Protocol

import pytest

from modules.infrastructure.module_api import InfrastructureService, LLMRateLimitError, ModerationResult
from modules.infrastructure.module_api.testing import FakeLLM, MemoryCache
from tests.integration.fault_server import Answer, FaultServer

pytestmark = pytest.mark.usefixtures("clean_env")


class Backend(Protocol):
    name: str

    def requests(self) -> int: ...

    def rate_limit_next(self) -> None: ...


class FakeBackend:
    name = "fake"

    def __init__(self, stack: ExitStack) -> None:
        self.llm = FakeLLM()
        stack.enter_context(InfrastructureService.override(llm=self.llm.gateway(MemoryCache())))

    def requests(self) -> int:
        return len(self.llm.embedded) + len(self.llm.moderated)

    def rate_limit_next(self) -> None:
        self.llm.fail_embeddings(LLMRateLimitError("scripted 429", provider="fake", status_code=429, retry_after=0.1))


class ServerBackend:
    name = "openai"

    def __init__(self, stack: ExitStack, openai_at: Callable[..., None]) -> None:
        self.server = stack.enter_context(FaultServer([Answer()]))
        openai_at(self.server)

    def requests(self) -> int:
        return len(self.server.requests)

    def rate_limit_next(self) -> None:
        self.server.answers[:0] = [Answer(429, {"retry-after": "0.1"})]


@pytest.fixture(params=["fake", "openai"])
def backend(request: pytest.FixtureRequest, openai_at: Callable[..., None]) -> Iterator[Backend]:
    with ExitStack() as stack:
        yield FakeBackend(stack) if request.param == "fake" else ServerBackend(stack, openai_at)


def test_one_vector_per_text_in_order_of_one_length(backend: Backend) -> None:
    texts = ["first text", "second text", "third text"]
    together = InfrastructureService.embed(texts, module="search", provider=None).vectors
    alone = [InfrastructureService.embed([t], module="other").vectors[0] for t in reversed(texts)]
    assert together == tuple(reversed(alone))
    assert len({len(v) for v in together}) == 1 and all(isinstance(x, float) for v in together for x in v)


def test_repeated_texts_come_from_the_cache_and_usage_is_recorded(backend: Backend) -> None:
    first = InfrastructureService.embed(["cached text", "other text"], module="search")
    before = backend.requests()
    again = InfrastructureService.embed(["other text", "cached text"], module="search")
    assert backend.requests() == before and again.cached == 2 and again.vectors == first.vectors[::-1]
    usage = InfrastructureService.get_llm_usage(module="search")
    assert usage.calls == 2 and usage.cached_calls == 1 and usage.prompt_tokens > 0 and usage.completion_tokens == 0
    assert usage.by_model == {f"{backend.name}/{first.model}": 2} and first.provider == backend.name


def test_a_rate_limited_request_is_retried(backend: Backend) -> None:
    backend.rate_limit_next()
    result = InfrastructureService.embed(["after a 429"], module="search")
    assert len(result.vectors) == 1 and backend.requests() == 2


def test_moderation_answers_a_classification(backend: Backend) -> None:
    result = InfrastructureService.moderate("A friendly message", module="forum")
    assert isinstance(result, ModerationResult) and result.flagged is False and result.provider == backend.name
    assert all(isinstance(k, str) and isinstance(v, bool) for k, v in result.categories.items())
    assert all(isinstance(v, float) and 0 <= v <= 1 for v in result.scores.values()) and result.model
    assert InfrastructureService.get_llm_usage(module="forum").calls == 1
