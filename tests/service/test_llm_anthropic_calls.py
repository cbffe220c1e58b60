"""The call layer on the real anthropic client over an ``httpx2.MockTransport``: retries by status and error type,
the deadline transport left out, the key kept out of every message, fork and close."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from modules.infrastructure.domain.policies.deadline import Deadline
from modules.infrastructure.domain.llm.values import CompletionRequest
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.llm_clients.factory import completion_client
from modules.infrastructure.module_api import LLMAuthenticationError, LLMMalformedResponseError, LLMProviderError, Prompt
from tests.llm_support import API_KEY, Recorder, config, gateway

REQUEST = CompletionRequest([{"role": "user", "content": "Hi"}], {"max_tokens": 5})


def message(text: str = "Hello") -> httpx2.Response:
    body = {"id": "msg_1", "type": "message", "model": "claude-sonnet-4-5", "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 4, "output_tokens": 2}}
    return httpx2.Response(200, json=body, headers={"request-id": "req_abc"})


def refusal(status: int, kind: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(status, json={"type": "error", "error": {"type": kind, "message": f"{kind} for key {API_KEY}"}}, headers=headers or {})


def script(*answers: httpx2.Response) -> Recorder:
    queue = list(answers)
    return Recorder(lambda request: queue.pop(0) if len(queue) > 1 else queue[0])


def test_an_answer_with_the_request_id_the_client_saw_and_the_key_in_the_header() -> None:
    recorder = script(message())
    completion, attempts = recorder.provider(config("anthropic")).complete(REQUEST, Deadline.after(30))
    assert (completion.content, completion.request_id, attempts) == ("Hello", "req_abc", 1)
    sent = recorder.requests[0]
    assert sent.url == "http://claude.test/v1/messages" and sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert json.loads(sent.content)["max_tokens"] == 5


@pytest.mark.parametrize(
    ("failure", "attempts"),
    [
        (refusal(529, "overloaded_error"), 3), (refusal(500, "api_error"), 3), (refusal(429, "rate_limit_error", {"retry-after": "0"}), 3),
        (refusal(401, "authentication_error"), 1), (refusal(403, "permission_error"), 1), (refusal(404, "not_found_error"), 1),
        (refusal(400, "invalid_request_error"), 1), (refusal(529, "overloaded_error", {"x-should-retry": "false"}), 1),
    ],
)
def test_failures_are_retried_by_status_and_error_type(failure: httpx2.Response, attempts: int) -> None:
    recorder = script(failure)
    with pytest.raises(LLMProviderError) as raised:
        recorder.provider(config("anthropic", max_retries=2)).complete(REQUEST, Deadline.after(30))
    assert len(recorder.requests) == attempts and raised.value.status_code == failure.status_code
    assert API_KEY not in str(raised.value) and API_KEY not in str(raised.value.__cause__)


def test_a_malformed_answer_is_retried_and_then_succeeds() -> None:
    recorder = script(httpx2.Response(200, json={"content": None}), message("Fine"))
    completion, attempts = recorder.provider(config("anthropic", max_retries=1)).complete(REQUEST, Deadline.after(30))
    assert completion.content == "Fine" and attempts == 2


def test_a_stream_through_the_gateway_records_its_usage_and_cost() -> None:
    events = [
        {"type": "message_start", "message": {"id": "m", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 1000, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1000}},
        {"type": "message_stop"},
    ]
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
    recorder = script(httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"}))
    llm = gateway(recorder.provider(config("anthropic")))
    assert list(llm.stream(Prompt("Hi"))) == ["Hi"]
    usage = llm.usage()
    assert (usage.prompt_tokens, usage.completion_tokens) == (1000, 1000) and usage.cost_usd == pytest.approx(0.018)


def test_a_json_answer_from_the_forced_tool_through_the_gateway() -> None:
    body = {"content": [{"type": "tool_use", "id": "t", "name": "json_answer", "input": {"ok": True}}], "stop_reason": "tool_use",
            "usage": {"input_tokens": 1, "output_tokens": 1}}
    llm = gateway(script(httpx2.Response(200, json=body)).provider(config("anthropic")))
    assert llm.execute_json(Prompt("Answer in JSON")) == {"ok": True}


def test_the_client_is_built_once_closed_and_rebuilt_after_a_fork() -> None:
    client: Any = completion_client(config("anthropic"), Redactor(), httpx2.Client(transport=httpx2.MockTransport(lambda r: message())))
    assert client.complete(REQUEST, 5).content == "Hello"
    built = client._client
    client.after_fork()
    assert client._client is None and client.complete(REQUEST, 5).content == "Hello" and client._client is not built
    client.close()
    assert client._client is None


def test_describe_masks_the_key_and_url_passwords() -> None:
    client = completion_client(config("anthropic", base_url=f"https://user:{API_KEY}@proxy.test", api_version="2023-06-01"), Redactor())
    described = client.describe()
    assert API_KEY not in described and described.startswith("anthropic, model claude-sonnet-4-5 at https://user:") and "2023-06-01" in described


def test_an_unreachable_server_is_a_provider_error_without_a_status() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    with pytest.raises(LLMProviderError, match="could not be reached") as raised:
        Recorder(refuse).provider(config("anthropic", max_retries=0)).complete(REQUEST, Deadline.after(30))
    assert raised.value.status_code is None and not isinstance(raised.value, LLMAuthenticationError | LLMMalformedResponseError)
