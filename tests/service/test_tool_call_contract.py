"""The tool-call contract on the shipped ``FakeLLM`` and on the real OpenAI adapter over scripted HTTP answers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
import pytest

from modules.infrastructure.module_api import InfrastructureService, Message
from modules.infrastructure.module_api.testing import FakeLLM
from tests.contracts.tool_call_contract import Scripted, ToolCallContract
from tests.llm_support import Recorder, completion_body, config, gateway


class TestFakeLLM(ToolCallContract):
    @pytest.fixture
    def scripted(self) -> Iterator[Scripted]:
        fake = FakeLLM()
        with InfrastructureService.override(llm=fake.gateway()):
            yield lambda replies: fake.add_replies(*replies)


class TestOpenAIAdapter(ToolCallContract):
    @pytest.fixture
    def scripted(self) -> Iterator[Scripted]:
        answers: list[Message] = []

        def answer(request: httpx2.Request) -> httpx2.Response:
            message = answers.pop(0)
            streamed = json.loads(request.content).get("stream")
            return httpx2.Response(200, content=_sse(message), headers={"content-type": "text/event-stream"}) if streamed else httpx2.Response(200, json=_body(message))

        with InfrastructureService.override(llm=gateway(Recorder(answer).provider(config()))):
            yield lambda replies: answers.extend(replies)


def _body(message: Message) -> dict:
    body = completion_body(message.content)
    wire = message.to_wire()
    body["choices"][0]["message"] = {"role": "assistant", "content": message.content or None, **({"tool_calls": wire["tool_calls"]} if message.tool_calls else {})}
    body["choices"][0]["finish_reason"] = "tool_calls" if message.tool_calls else "stop"
    return body


def _sse(message: Message) -> bytes:
    base = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    events: list[dict] = [{**base, "choices": [{"index": 0, "delta": {"content": message.content}, "finish_reason": None}]}]
    for index, call in enumerate(message.tool_calls):
        wire = call.to_wire()
        events.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": index, **wire}]}, "finish_reason": None}]})
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if message.tool_calls else "stop"}]})
    events.append({**base, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}})
    return "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n"


