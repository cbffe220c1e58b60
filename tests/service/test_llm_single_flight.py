"""Identical prompts asked together make one provider call: the LLM response cache computes each key once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from modules.infrastructure.module_api import InfrastructureService, LLMRateLimitError, Prompt, PromptContext
from modules.infrastructure.module_api.testing import RecordedPrompt, fake_infrastructure

PROMPT = Prompt("Define {word} in one line.", name="glossary", parameters={"temperature": 0})


def slow_answer(prompt: RecordedPrompt) -> str:
    time.sleep(0.3)
    return f"answer to {prompt.user}"


def ask_together(count: int, word: str = "noun") -> list[tuple[str, bool]]:
    barrier = threading.Barrier(count)

    def ask(_: int) -> tuple[str, bool]:
        barrier.wait()
        response = InfrastructureService.execute_prompt(PROMPT, PromptContext({"word": word}))
        return response.content, bool(response.metadata["cached"])

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(ask, range(count)))


def test_twelve_identical_prompts_asked_together_make_one_call() -> None:
    with fake_infrastructure(respond=slow_answer) as fakes:
        results = ask_together(12)
        usage = InfrastructureService.get_llm_usage()
    assert fakes.llm.calls == 1
    assert {content for content, _ in results} == {"answer to Define noun in one line."}
    assert sorted(cached for _, cached in results) == [False] + [True] * 11  # one paid, the others shared it
    assert usage.calls == 12


def test_different_prompts_are_not_held_back_by_each_other() -> None:
    with fake_infrastructure(respond=slow_answer) as fakes:
        started = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda word: ask_together(3, word), ["noun", "verb"]))
        elapsed = time.perf_counter() - started
    assert fakes.llm.calls == 2 and elapsed < 0.6 + 0.25  # the two calls ran side by side


def test_a_failed_call_reaches_every_caller_and_is_not_cached() -> None:
    def refuse(prompt: RecordedPrompt) -> str:
        time.sleep(0.2)
        raise LLMRateLimitError("slow down", provider="fake", status_code=429)

    with fake_infrastructure(respond=refuse, environment={"LLM_MAX_RETRIES": "0"}) as fakes:
        barrier = threading.Barrier(6)

        def ask(_: int) -> str:
            barrier.wait()
            try:
                InfrastructureService.execute_prompt(PROMPT, PromptContext({"word": "noun"}))
            except LLMRateLimitError as exc:
                return type(exc).__name__
            return "answered"

        with ThreadPoolExecutor(6) as pool:
            outcomes = list(pool.map(ask, range(6)))
        assert outcomes == ["LLMRateLimitError"] * 6 and fakes.llm.calls == 1
        fakes.llm.respond = lambda prompt: "now it works"
        assert InfrastructureService.execute_prompt(PROMPT, PromptContext({"word": "noun"})).content == "now it works"
