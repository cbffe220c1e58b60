"""The call layer on the real openai client over an ``httpx2.MockTransport``: mapping, retries, fallback, breaker."""

from __future__ import annotations

import json
import traceback

import httpx2
import pytest

from modules.infrastructure.domain.policies.attempts import Attempts
from modules.infrastructure.domain.policies.deadline import Deadline
from modules.infrastructure.domain.llm.values import CompletionRequest
from modules.infrastructure.module_api import (
    InfrastructureService,
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMProviderError,
    LLMRateLimitError,
    LLMResponseFormatError,
    LLMTimeoutError,
    Prompt,
    PromptContext,
)
from tests.fake_clock import FakeClock
from tests.llm_support import API_KEY, Recorder, completion_body, config, error_response, gateway, sse_body

REQUEST = CompletionRequest([{"role": "user", "content": "Hi"}], {"max_tokens": 5})


def ok(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, json=completion_body())


def statuses(*answers: int) -> Recorder:
    """Answers with the given statuses in turn (200 = a completion), the last one repeated."""
    queue = list(answers)

    def handle(request: httpx2.Request) -> httpx2.Response:
        status = queue.pop(0) if len(queue) > 1 else queue[0]
        return ok(request) if status == 200 else error_response(status, f"status {status} for key {API_KEY}")

    return Recorder(handle)


def complete(recorder: Recorder, attempts: Attempts | None = None, **changes) -> tuple:
    provider = recorder.provider(config(**changes))
    return provider.complete(REQUEST, Deadline.after(30), attempts)


@pytest.mark.parametrize(
    ("status", "error", "attempts"),
    [
        (400, LLMBadRequestError, 1),
        (401, LLMAuthenticationError, 1),
        (403, LLMAuthenticationError, 1),
        (404, LLMBadRequestError, 1),
        (422, LLMBadRequestError, 1),
        (408, LLMTimeoutError, 4),
        (409, LLMProviderError, 4),
        (429, LLMRateLimitError, 4),
        (500, LLMProviderError, 4),
        (503, LLMProviderError, 4),
    ],
)
def test_each_status_maps_to_its_error_and_is_retried_only_when_it_may_help(status: int, error: type, attempts: int) -> None:
    recorder = statuses(status)
    sent = Attempts()
    with pytest.raises(error) as raised:
        complete(recorder, sent)
    assert type(raised.value) is error
    assert raised.value.status_code == status and raised.value.provider == "openai"
    assert len(recorder.requests) == attempts == sent.count  # counted by the caller's counter ...
    assert "attempts" not in vars(raised.value)  # ... not on the exception
    assert isinstance(raised.value.__cause__, Exception)  # chained to the openai exception
    shown = "\n".join([str(raised.value), repr(raised.value), *traceback.format_exception(raised.value)])
    assert API_KEY not in shown


def test_a_retried_failure_then_success_counts_the_attempts_and_waits_with_backoff() -> None:
    recorder = statuses(500, 503, 200)
    completion, attempts = complete(recorder)
    assert (completion.content, attempts, len(recorder.requests)) == ("Hello", 3, 3)
    assert len(recorder.sleeps) == 2 and all(0 <= s <= 0.02 for s in recorder.sleeps)


def test_the_openai_client_itself_never_retries_and_sends_the_key_only_as_a_header() -> None:
    recorder = statuses(200)
    complete(recorder)
    request = recorder.requests[0]
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert str(request.url) == "http://llm.test/v1/chat/completions"
    assert json.loads(request.content)["model"] == "gpt-4o-mini"
    assert "x-stainless-retry-count" not in request.headers or request.headers["x-stainless-retry-count"] == "0"


def test_a_quota_429_is_not_retried() -> None:
    recorder = Recorder(lambda r: error_response(429, "You exceeded your current quota", code="insufficient_quota"))
    with pytest.raises(LLMRateLimitError, match="out of quota") as raised:
        complete(recorder)
    assert raised.value.code == "insufficient_quota" and len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("headers", "wait"),
    [({"retry-after-ms": "120"}, 0.12), ({"x-ms-retry-after-ms": "250"}, 0.25), ({"retry-after": "2"}, 2.0)],
)
def test_retry_after_is_honoured(headers: dict[str, str], wait: float) -> None:
    answers = [error_response(429, "slow down", headers=headers), httpx2.Response(200, json=completion_body())]
    recorder = Recorder(lambda r: answers.pop(0))
    _, attempts = complete(recorder)
    assert attempts == 2 and recorder.sleeps == [pytest.approx(wait)]


def test_a_retry_after_longer_than_the_time_left_fails_at_once() -> None:
    recorder = Recorder(lambda r: error_response(429, "slow down", headers={"retry-after": "120"}))
    provider = recorder.provider(config())
    with pytest.raises(LLMRateLimitError, match="asked to wait 120.0 s") as raised:
        provider.complete(REQUEST, Deadline.after(10))
    assert raised.value.retry_after == 120 and len(recorder.requests) == 1 and recorder.sleeps == []


def test_a_transport_timeout_is_an_llm_timeout_error() -> None:
    def hang(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("timed out", request=request)

    recorder = Recorder(hang)
    with pytest.raises(LLMTimeoutError):
        complete(recorder, max_retries=1)
    assert len(recorder.requests) == 2


def test_a_connection_error_is_retried_and_mapped_without_the_key() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError(f"refused for Authorization: Bearer {API_KEY}", request=request)

    recorder = Recorder(refuse)
    with pytest.raises(LLMProviderError, match="could not be reached") as raised:
        complete(recorder, max_retries=2)
    assert len(recorder.requests) == 3
    assert API_KEY not in "".join(traceback.format_exception(raised.value))


def test_the_breaker_opens_after_consecutive_failures_and_fails_fast() -> None:
    recorder = statuses(500)
    provider = recorder.provider(config(max_retries=0, breaker_threshold=2, breaker_cooldown=60))
    for _ in range(2):
        with pytest.raises(LLMProviderError):
            provider.complete(REQUEST, Deadline.after(5))
    with pytest.raises(LLMProviderError, match="fail fast") as raised:
        provider.complete(REQUEST, Deadline.after(5))
    assert raised.value.code == "circuit_open" and len(recorder.requests) == 2


# --- the gateway: fallback, cache, usage ----------------------------------------------------------


def test_fallback_after_retryable_failures_but_never_after_a_401() -> None:
    failing, backup = statuses(503), statuses(200)
    llm = gateway(failing.provider(config(max_retries=1)), backup.provider(config("azure")))
    response = llm.execute(Prompt("Hi"), PromptContext())
    assert response.metadata["provider"] == "azure" and response.metadata["fallback_from"] == ["openai"]
    assert len(failing.requests) == 2 and len(backup.requests) == 1

    refused, unused = statuses(401), statuses(200)
    llm = gateway(refused.provider(config()), unused.provider(config("azure")))
    with pytest.raises(LLMAuthenticationError):
        llm.execute(Prompt("Hi"), PromptContext())
    assert unused.requests == []
    assert [r.outcome for r in llm.ledger.records()] == ["LLMAuthenticationError"]


def test_the_azure_request_shape() -> None:
    recorder = statuses(200)
    recorder.provider(config("azure")).complete(REQUEST, Deadline.after(5))
    request = recorder.requests[0]
    assert request.url.path == "/openai/deployments/chat/chat/completions"
    assert request.url.params["api-version"] == "2024-10-21"
    assert request.headers["api-key"] == API_KEY


def test_a_deterministic_call_is_cached_and_a_hit_costs_nothing() -> None:
    recorder = statuses(200)
    llm = gateway(recorder.provider(config()))
    prompt = Prompt("Hi {name}", parameters={"temperature": 0}, name="greet", version="2")
    first = llm.execute(prompt, PromptContext({"name": "Ann"}, module="lessons", request_id="r1"))
    second = llm.execute(prompt, PromptContext({"name": "Ann"}, module="lessons"))
    assert len(recorder.requests) == 1
    assert first.metadata["cached"] is False and second.metadata["cached"] is True
    assert first.usage_stats.cost_usd == pytest.approx((5 * 0.15 + 2 * 0.6) / 1e6)
    assert second.usage_stats.cost_usd == 0 and second.content == "Hello"
    assert first.metadata["request_id"] == "r1" and first.metadata["prompt_name"] == "greet" and first.metadata["prompt_version"] == "2"
    llm.execute(prompt, PromptContext({"name": "Bob"}, module="lessons"))
    llm.execute(Prompt("Hi {name}", parameters={"temperature": 0.7}), PromptContext({"name": "Ann"}))
    assert len(recorder.requests) == 3
    usage = llm.ledger.summary(module="lessons")
    assert (usage.calls, usage.cached_calls, usage.prompt_tokens) == (3, 1, 15)


def test_errors_are_not_cached() -> None:
    recorder = statuses(400, 200)
    llm = gateway(recorder.provider(config()))
    with pytest.raises(LLMBadRequestError):
        llm.execute(Prompt("Hi", parameters={"temperature": 0}), PromptContext())
    assert llm.execute(Prompt("Hi", parameters={"temperature": 0}), PromptContext()).metadata["cached"] is False


def test_an_unknown_model_has_no_cost() -> None:
    llm = gateway(statuses(200).provider(config(model="my-finetune")))
    response = llm.execute(Prompt("Hi"), PromptContext())
    assert response.usage_stats.cost_usd is None
    assert llm.ledger.summary().unpriced_calls == 1


def test_streaming_yields_text_and_records_usage() -> None:
    recorder = Recorder(lambda r: httpx2.Response(200, content=sse_body(["Hel", "lo"]), headers={"content-type": "text/event-stream"}))
    llm = gateway(recorder.provider(config()))
    assert list(llm.stream(Prompt("Hi"), PromptContext(module="chat"))) == ["Hel", "lo"]
    body = json.loads(recorder.requests[0].content)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    usage = llm.ledger.summary(module="chat")
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (1, 5, 2)


def test_the_facade_uses_the_call_layer_and_parses_json(clean_env) -> None:
    answers = ['{"colors": ["red"]}', "not json"]
    recorder = Recorder(lambda r: httpx2.Response(200, json=completion_body(answers.pop(0))))
    with InfrastructureService.override(llm=gateway(recorder.provider(config()))):
        assert InfrastructureService.execute_prompt_json(Prompt("Colors as JSON")) == {"colors": ["red"]}
        assert json.loads(recorder.requests[0].content)["response_format"] == {"type": "json_object"}
        with pytest.raises(LLMResponseFormatError, match="not valid JSON") as raised:
            InfrastructureService.execute_prompt_json(Prompt("Colors as JSON"))
        assert raised.value.content == "not json"
        assert InfrastructureService.get_llm_usage().calls == 2


def test_the_rpm_limit_makes_a_call_wait_then_fails_when_the_wait_exceeds_the_deadline() -> None:
    clock = FakeClock()
    recorder = statuses(200)
    provider = recorder.provider(config(rpm_limit=2), clock=clock)
    for _ in range(2):
        provider.complete(REQUEST, Deadline.after(30, clock))
    assert recorder.sleeps == []
    provider.complete(REQUEST, Deadline.after(60, clock))  # a third within the minute waits its turn
    assert recorder.sleeps == [pytest.approx(30.0)]
    with pytest.raises(LLMRateLimitError, match="LLM_RPM_LIMIT") as raised:
        provider.complete(REQUEST, Deadline.after(5, clock))
    assert raised.value.retry_after == pytest.approx(30.0) and len(recorder.requests) == 3


def test_the_tpm_limit_counts_prompt_and_max_tokens() -> None:
    clock = FakeClock()
    recorder = statuses(200)
    provider = recorder.provider(config(tpm_limit=100), clock=clock)
    big = CompletionRequest([{"role": "user", "content": "x" * 140}], {"max_tokens": 50})  # about 44 + 50 tokens
    provider.complete(big, Deadline.after(30, clock))
    with pytest.raises(LLMRateLimitError, match="LLM_TPM_LIMIT"):
        provider.complete(big, Deadline.after(10, clock))


def test_the_provider_entity_runs_a_prompt_as_written() -> None:
    recorder = statuses(503, 200)
    response = recorder.provider(config()).execute_prompt(Prompt("Hi {not_a_variable}", system="Be brief."), {"max_tokens": 3})
    sent = json.loads(recorder.requests[-1].content)
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi {not_a_variable}"}]
    assert sent["max_tokens"] == 3
    assert (response.content, response.metadata["attempts"], response.usage_stats.total_tokens) == ("Hello", 2, 7)


def test_every_retry_counts_against_the_rate_limit() -> None:
    clock = FakeClock()
    recorder = statuses(503, 503, 200)
    provider = recorder.provider(config(rpm_limit=2, max_retries=3), clock=clock)
    provider.complete(REQUEST, Deadline.after(120, clock))
    assert len(recorder.requests) == 3
    assert any(wait >= 29 for wait in recorder.sleeps), "the third request of the minute must wait for capacity"


def test_a_call_that_runs_out_of_deadline_records_every_attempt_it_made() -> None:
    clock = FakeClock()
    recorder = statuses(408)
    llm = gateway(recorder.provider(config(max_retries=50), clock=clock))  # the deadline, not the retries, ends it
    with pytest.raises(LLMTimeoutError, match="deadline"):
        llm.execute(Prompt("Hi"), PromptContext(timeout=5))
    [record] = llm.ledger.records()
    assert record.attempts == len(recorder.requests) > 1


@pytest.mark.parametrize(
    "response_format",
    [{"type": "json_object"}, {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}],
)
def test_a_json_mode_answer_that_is_not_json_is_not_cached(response_format: dict) -> None:
    answers = ["not json", '{"ok": true}']
    recorder = Recorder(lambda r: httpx2.Response(200, json=completion_body(answers.pop(0))))
    llm = gateway(recorder.provider(config()))
    prompt = Prompt("Answer in JSON", parameters={"temperature": 0, "response_format": response_format})
    assert llm.execute(prompt, PromptContext()).content == "not json"
    second = llm.execute(prompt, PromptContext())
    assert second.content == '{"ok": true}' and second.metadata["cached"] is False
    assert llm.execute(prompt, PromptContext()).metadata["cached"] is True


def test_a_stream_abandoned_early_is_still_recorded() -> None:
    recorder = Recorder(lambda r: httpx2.Response(200, content=sse_body(["a", "b", "c"]), headers={"content-type": "text/event-stream"}))
    llm = gateway(recorder.provider(config()))
    chunks = llm.stream(Prompt("Count"), PromptContext(module="lessons"))
    assert next(chunks) == "a"
    chunks.close()
    [record] = llm.ledger.records()
    assert (record.module, record.outcome) == ("lessons", "abandoned")


class CutStream(httpx2.SyncByteStream):
    """A streamed answer whose connection drops after the first event."""

    def __iter__(self):
        yield sse_body(["a"]).split(b"\n\n")[0] + b"\n\n"
        raise httpx2.RemoteProtocolError("peer closed connection without sending complete message body")


def test_a_stream_cut_mid_way_is_a_provider_error_that_records_the_request_it_sent() -> None:
    recorder = Recorder(lambda r: httpx2.Response(200, stream=CutStream(), headers={"content-type": "text/event-stream"}))
    llm = gateway(recorder.provider(config()))
    chunks = llm.stream(Prompt("Count"), PromptContext(module="lessons"))
    assert next(chunks) == "a"
    with pytest.raises(LLMProviderError, match="RemoteProtocolError"):
        next(chunks)
    [record] = llm.ledger.records()
    assert (record.outcome, record.attempts) == ("LLMProviderError", 1)
