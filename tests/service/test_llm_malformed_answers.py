"""A success that is no completion, on the real openai client over an ``httpx2.MockTransport``: an
``LLMMalformedResponseError``, retried like a 5xx, recorded, counted by the breaker and never cached;
and cache entries that are not a completion are misses."""

from __future__ import annotations

import copy
import traceback
from typing import Any

import httpx2
import pytest

from modules.infrastructure.domain.policies.attempts import Attempts
from modules.infrastructure.domain.llm.cache_key import cache_key
from modules.infrastructure.domain.policies.deadline import Deadline
from modules.infrastructure.domain.llm.prompts import render_messages
from modules.infrastructure.domain.llm.values import CompletionRequest
from modules.infrastructure.module_api import LLMMalformedResponseError, LLMProviderError, Prompt, PromptContext
from tests.llm_support import API_KEY, Recorder, completion_body, config, gateway, sse_body

REQUEST = CompletionRequest([{"role": "user", "content": "Hi"}], {"max_tokens": 5})


def with_message(**message: Any) -> dict[str, Any]:
    body = completion_body()
    body["choices"][0]["message"] = {"role": "assistant", **message}
    return body


def with_usage(**usage: Any) -> dict[str, Any]:
    return {**completion_body(), "usage": usage}


MALFORMED: dict[str, httpx2.Response] = {
    "an HTML page": httpx2.Response(200, content=b"<html>502 from a proxy</html>", headers={"content-type": "text/html"}),
    "not JSON, labelled JSON": httpx2.Response(200, content=b"{'choices': ", headers={"content-type": "application/json"}),
    "an empty body": httpx2.Response(200, content=b"", headers={"content-type": "application/json"}),
    "a JSON list": httpx2.Response(200, json=[completion_body()]),
    "an empty object": httpx2.Response(200, json={}),
    "no choices": httpx2.Response(200, json={"choices": []}),
    "choices that are text": httpx2.Response(200, json={"choices": "Hello"}),
    "a message that is text": httpx2.Response(200, json={"choices": [{"message": "Hello"}]}),
    "null content without tool calls": httpx2.Response(200, json=with_message(content=None)),
    "content that is a number": httpx2.Response(200, json=with_message(content=5)),
    "token counts that are text": httpx2.Response(200, json=with_usage(prompt_tokens="5", completion_tokens=2)),
    "negative token counts": httpx2.Response(200, json=with_usage(prompt_tokens=-5, completion_tokens=2)),
}


def answering(*responses: httpx2.Response) -> Recorder:
    """Answers with the responses in turn, the last one repeated."""
    queue = list(responses)

    def handle(request: httpx2.Request) -> httpx2.Response:
        response = queue.pop(0) if len(queue) > 1 else queue[0]
        return httpx2.Response(response.status_code, content=response.content, headers=response.headers)

    return Recorder(handle)


@pytest.mark.parametrize("answer", list(MALFORMED), ids=list(MALFORMED))
def test_a_success_that_is_no_completion_is_a_malformed_response_error_retried_like_a_5xx(answer: str) -> None:
    recorder = answering(MALFORMED[answer])
    sent = Attempts()
    with pytest.raises(LLMMalformedResponseError) as raised:
        recorder.provider(config(max_retries=2)).complete(REQUEST, Deadline.after(30), sent)
    assert isinstance(raised.value, LLMProviderError) and raised.value.provider == "openai"
    assert "not with a completion" in str(raised.value)
    assert len(recorder.requests) == sent.count == 3
    assert API_KEY not in "".join(traceback.format_exception(raised.value))


def test_a_malformed_answer_then_a_good_one_succeeds_on_the_retry() -> None:
    recorder = answering(MALFORMED["an empty object"], httpx2.Response(200, json=completion_body("Fine")))
    completion, attempts = recorder.provider(config()).complete(REQUEST, Deadline.after(30))
    assert (completion.content, attempts) == ("Fine", 2)


def test_null_content_with_tool_calls_is_an_answer() -> None:
    tool_call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    recorder = answering(httpx2.Response(200, json=with_message(content=None, tool_calls=[tool_call])))
    completion, _ = recorder.provider(config()).complete(REQUEST, Deadline.after(30))
    assert completion.content == ""


def test_a_malformed_answer_is_recorded_counted_by_the_breaker_and_never_cached() -> None:
    recorder = answering(MALFORMED["no choices"], MALFORMED["no choices"], httpx2.Response(200, json=completion_body("Fine")))
    llm = gateway(recorder.provider(config(max_retries=1, breaker_threshold=3, breaker_cooldown=60)))
    prompt = Prompt("Hi", parameters={"temperature": 0})  # deterministic: cached when it succeeds
    with pytest.raises(LLMMalformedResponseError):
        llm.execute(prompt, PromptContext(module="lessons"))
    [record] = llm.ledger.records()
    assert (record.outcome, record.attempts, record.module) == ("LLMMalformedResponseError", 2, "lessons")
    first = llm.execute(prompt, PromptContext())  # nothing was cached: the provider is asked again
    assert (first.content, first.metadata["cached"], len(recorder.requests)) == ("Fine", False, 3)
    assert llm.execute(prompt, PromptContext()).metadata["cached"] is True  # a good answer is


def test_the_breaker_opens_on_malformed_answers() -> None:
    recorder = answering(MALFORMED["an HTML page"])
    provider = recorder.provider(config(max_retries=0, breaker_threshold=2, breaker_cooldown=60))
    for _ in range(2):
        with pytest.raises(LLMMalformedResponseError):
            provider.complete(REQUEST, Deadline.after(5))
    with pytest.raises(LLMProviderError, match="fail fast"):
        provider.complete(REQUEST, Deadline.after(5))
    assert len(recorder.requests) == 2


def streaming(body: bytes) -> Recorder:
    return Recorder(lambda r: httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"}))


@pytest.mark.parametrize(
    "body",
    [b"data: <html>\n\n", b"data: 5\n\n", b'data: {"choices": "x"}\n\n', sse_body([]), sse_body(["Hel", "lo"], finish_reason=None)],
    ids=["an event that is not JSON", "an event that is no object", "choices that are text", "no text", "no finish reason (cut short)"],
)
def test_a_stream_that_is_no_completion_is_a_malformed_response_error(body: bytes) -> None:
    recorder = streaming(body)
    llm = gateway(recorder.provider(config(max_retries=1)))
    received = []
    with pytest.raises(LLMMalformedResponseError):
        for text in llm.stream(Prompt("Hi"), PromptContext()):
            received.append(text)
    [record] = llm.ledger.records()
    assert record.outcome == "LLMMalformedResponseError"
    # Before any text the stream is opened again; once text was passed on it is not.
    assert len(recorder.requests) == (1 if received else 2)


BAD_ENTRIES = [
    {"content": 5},
    {"content": None},
    {"content": "Hi", "prompt_tokens": "5"},
    {"content": "Hi", "prompt_tokens": -1},
    {"content": "Hi", "completion_tokens": True},
    {"content": "Hi", "finish_reason": ["stop"]},
    {"content": "Hi", "model": {"name": "m"}},
    {"content": "Hi", "unknown": 1},
    ["Hi"],
    "Hi",
    b"not json",  # stored as these bytes, not as JSON
    b"\xff\xfe",
]


def answer_with_planted(entry: object) -> tuple[Any, Recorder, Any]:
    """The response to a deterministic prompt whose cache entry is ``entry``, the recorder, and the gateway."""
    recorder = answering(httpx2.Response(200, json=completion_body("Fresh")))
    provider = recorder.provider(config())
    llm = gateway(provider)
    prompt = Prompt("Hi {name}", parameters={"temperature": 0})
    context = PromptContext({"name": "Ann"}, module="lessons")
    assert llm.cache is not None
    key = cache_key(provider.config, render_messages(prompt, context.variables), prompt.parameters, context.module)
    if isinstance(entry, bytes):
        llm.cache.set(key, entry)
    else:
        llm.cache.set_json(key, copy.deepcopy(entry))
    return llm.execute(prompt, context), recorder, lambda: llm.execute(prompt, context)


def test_a_planted_completion_is_a_hit() -> None:
    response, recorder, _ = answer_with_planted({"content": "Planted", "prompt_tokens": 1})
    assert (response.content, response.metadata["cached"], recorder.requests) == ("Planted", True, [])


@pytest.mark.parametrize("entry", BAD_ENTRIES, ids=[repr(e)[:40] for e in BAD_ENTRIES])
def test_a_cache_entry_that_is_no_completion_is_a_miss(entry: object) -> None:
    response, recorder, again = answer_with_planted(entry)
    assert (response.content, response.metadata["cached"], len(recorder.requests)) == ("Fresh", False, 1)
    assert again().metadata["cached"] is True  # the good answer replaced the planted one
