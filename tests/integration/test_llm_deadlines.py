"""LLM_DEADLINE and LLM_TIMEOUT hold against a server on 127.0.0.1 that trickles its answer, through the facade.

The openai client's timeout applies to each socket read, so a byte every half second never trips
it; the module's own transport cuts every read at the call's cutoff. Each test puts the time it
measured in its assertion message; the bound is the deadline plus ``SLACK``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from modules.infrastructure.module_api import InfrastructureService, LLMProviderError, LLMTimeoutError, Prompt, PromptContext
from tests.integration.fault_server import FAULT_API_KEY, Answer, FaultServer

pytestmark = pytest.mark.usefixtures("clean_env")

SLACK = 0.5
PROMPT = Prompt("Say {word}", parameters={"max_tokens": 8})
CONTEXT = PromptContext({"word": "hi"})
WORDS = " ".join(f"word{n}" for n in range(30))



def failure_after(call: Callable[[], object]) -> tuple[float, BaseException]:
    """Seconds until ``call`` raised, and what it raised (an assertion error when it returned)."""
    started = time.monotonic()
    try:
        result = call()
    except LLMProviderError as exc:
        return time.monotonic() - started, exc
    raise AssertionError(f"returned {result!r} after {time.monotonic() - started:.2f} s instead of failing")


@pytest.mark.parametrize("trickle_headers", [False, True], ids=["body", "headers-and-body"])
def test_a_trickled_answer_ends_at_the_deadline(openai_at, trickle_headers: bool) -> None:
    with FaultServer([Answer(byte_interval=0.5, trickle_headers=trickle_headers)]) as server:
        openai_at(server, LLM_TIMEOUT="2", LLM_DEADLINE="5")
        elapsed, error = failure_after(lambda: InfrastructureService.execute_prompt(PROMPT, CONTEXT))
    measured = f"execute_prompt failed after {elapsed:.2f} s ({len(server.requests)} attempts) with LLM_TIMEOUT=2, LLM_DEADLINE=5"
    print(measured)  # the figures, for -rP
    assert isinstance(error, LLMTimeoutError), f"{measured}: {error!r}"
    assert 2 <= elapsed <= 5 + SLACK, measured  # each attempt ran its LLM_TIMEOUT, the whole call its deadline
    assert len(server.requests) >= 2, measured  # attempts cut at LLM_TIMEOUT were retried within the deadline
    assert InfrastructureService.get_llm_usage().failed_calls == 1


def test_llm_timeout_bounds_one_attempt_body_included(openai_at) -> None:
    with FaultServer([Answer(byte_interval=0.5)]) as server:
        openai_at(server, LLM_TIMEOUT="1", LLM_DEADLINE="30", LLM_MAX_RETRIES="0")
        elapsed, error = failure_after(lambda: InfrastructureService.execute_prompt(PROMPT, CONTEXT))
    measured = f"one attempt failed after {elapsed:.2f} s with LLM_TIMEOUT=1 against a body sent a byte every 0.5 s"
    print(measured)
    assert isinstance(error, LLMTimeoutError) and 1 <= elapsed <= 1 + SLACK, measured
    assert len(server.requests) == 1


def test_prompt_context_timeout_replaces_the_deadline(openai_at) -> None:
    with FaultServer([Answer(byte_interval=0.5)]) as server:
        openai_at(server, LLM_TIMEOUT="2", LLM_DEADLINE="60")
        context = PromptContext({"word": "hi"}, timeout=3)
        elapsed, error = failure_after(lambda: InfrastructureService.execute_prompt(PROMPT, context))
    measured = f"execute_prompt failed after {elapsed:.2f} s with PromptContext.timeout=3, LLM_TIMEOUT=2"
    print(measured)
    assert isinstance(error, LLMTimeoutError) and elapsed <= 3 + SLACK, measured
    assert len(server.requests) >= 2


# One chunk a second with LLM_TIMEOUT=2 (the figures of the issue), and one every 3 s with a read
# timeout longer than the deadline: the second chunk is due a second or more after the deadline
# (the first request's own set-up delays it further), so the stream must be cut at the deadline,
# not when that chunk comes.
@pytest.mark.parametrize(("llm_timeout", "interval"), [("2", 1.0), ("10", 3.0)])
def test_a_slow_stream_stops_at_the_deadline_and_records_what_it_used(openai_at, llm_timeout: str, interval: float) -> None:
    received: list[str] = []

    def read_all() -> None:
        for piece in InfrastructureService.stream_prompt(PROMPT, CONTEXT):
            received.append(piece)

    with FaultServer([Answer(content=WORDS, chunk_interval=interval)]) as server:
        openai_at(server, LLM_TIMEOUT=llm_timeout, LLM_DEADLINE="5")
        elapsed, error = failure_after(read_all)
    measured = (
        f"a stream of a chunk every {interval} s ended after {elapsed:.2f} s with {len(received)} of 30 chunks, "
        f"LLM_TIMEOUT={llm_timeout}, LLM_DEADLINE=5"
    )
    print(measured)
    assert isinstance(error, LLMTimeoutError) and "deadline" in str(error), f"{measured}: {error!r}"
    assert elapsed <= 5 + SLACK and 1 <= len(received) <= 5 / interval, measured
    usage = InfrastructureService.get_llm_usage()
    assert usage.failed_calls == 1 and usage.prompt_tokens > 0 and usage.completion_tokens > 0, usage  # estimated: no usage chunk came


def test_a_stream_that_keeps_its_deadline_is_whole(openai_at) -> None:
    with FaultServer([Answer(content="one two three four", chunk_interval=0.2)]) as server:
        openai_at(server, LLM_TIMEOUT="2", LLM_DEADLINE="5")
        text = "".join(InfrastructureService.stream_prompt(PROMPT, CONTEXT))
    assert text == "one two three four" and len(server.requests) == 1
    assert InfrastructureService.get_llm_usage().completion_tokens == 4  # the provider's own count


def test_the_proxy_the_environment_names_carries_the_calls_unless_no_proxy_exempts_the_host(openai_at, monkeypatch) -> None:
    with FaultServer([Answer(content="through the proxy")]) as proxy, FaultServer([Answer(content="direct")]) as target:
        monkeypatch.setenv("HTTP_PROXY", proxy.root_url)
        monkeypatch.setenv("NO_PROXY", "")
        openai_at(target)
        assert InfrastructureService.execute_prompt(PROMPT, CONTEXT).content == "through the proxy"
        assert proxy.requests[0].path == f"{target.base_url}/chat/completions"  # a proxy gets the absolute URL

        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        openai_at(target)
        assert InfrastructureService.execute_prompt(PROMPT, CONTEXT).content == "direct"
    assert len(proxy.requests) == 1 and len(target.requests) == 1
