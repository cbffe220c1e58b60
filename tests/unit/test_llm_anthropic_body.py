"""Messages API answers read back, whole and streamed: text and tool_use blocks, stop reasons, usage with cache tokens,
JSON mode, error events, and every malformed shape a clear ``LLMMalformedResponseError``. No I/O."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modules.infrastructure.domain.errors import LLMMalformedResponseError, LLMProviderError
from modules.infrastructure.domain.llm.conversation import ToolCall
from modules.infrastructure.infrastructure.llm_clients.anthropic_body import message_from
from modules.infrastructure.infrastructure.llm_clients.anthropic_stream import StreamReader


def message(content: Any, stop_reason: str = "end_turn", usage: Any = None, json_mode: bool = False) -> Any:
    body = {"id": "msg_1", "type": "message", "model": "claude-sonnet-4-5", "content": content, "stop_reason": stop_reason,
            "usage": usage if usage is not None else {"input_tokens": 10, "output_tokens": 4}}
    return message_from(json.dumps(body).encode(), "application/json", "req_1", "anthropic", json_mode)


def test_text_blocks_joined_with_usage_ids_and_model() -> None:
    completion = message([{"type": "text", "text": "Hello, "}, {"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "world"}])
    assert completion.content == "Hello, world" and completion.finish_reason == "stop"
    assert (completion.prompt_tokens, completion.completion_tokens) == (10, 4)
    assert (completion.model, completion.request_id) == ("claude-sonnet-4-5", "req_1")


def test_tool_use_blocks_become_tool_calls() -> None:
    completion = message([{"type": "tool_use", "id": "toolu_1", "name": "add", "input": {"a": 2}}], "tool_use")
    assert completion.tool_calls == (ToolCall("toolu_1", "add", {"a": 2}),) and completion.finish_reason == "tool_calls"
    assert completion.content == ""


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
     ("refusal", "content_filter"), ("pause_turn", "pause_turn")],
)
def test_stop_reasons_as_finish_reasons(stop_reason: str, finish_reason: str) -> None:
    assert message([{"type": "text", "text": "x"}], stop_reason).finish_reason == finish_reason


def test_cache_reads_and_writes_count_as_input() -> None:
    usage = {"input_tokens": 5, "output_tokens": 2, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20}
    completion = message([{"type": "text", "text": "x"}], usage=usage)
    assert (completion.prompt_tokens, completion.completion_tokens) == (125, 2)
    nulls = {"input_tokens": 5, "output_tokens": 2, "cache_read_input_tokens": None}
    assert message([{"type": "text", "text": "x"}], usage=nulls).prompt_tokens == 5


def test_in_json_mode_the_forced_tools_input_is_the_answer() -> None:
    completion = message([{"type": "tool_use", "id": "t", "name": "json_answer", "input": {"colors": ["red"]}}], "tool_use", json_mode=True)
    assert json.loads(completion.content) == {"colors": ["red"]} and completion.finish_reason == "stop" and completion.tool_calls == ()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html>", "not JSON"),
        (b"[]", "not an object"),
        (b'{"id": "msg"}', "no content"),
        (b'{"content": "Hi"}', "content that is not a list"),
        (b'{"content": ["Hi"]}', "content\\[0\\] that is not an object"),
        (b'{"content": [{"type": "text", "text": 5}]}', "text is not text"),
        (b'{"content": [{"type": "tool_use", "id": "t", "name": "add", "input": "{}"}]}', "input is not an object"),
        (b'{"content": [{"type": "tool_use", "id": 5, "name": "add", "input": {}}]}', "usable id and name"),
        (b'{"content": [], "usage": {"input_tokens": -1, "output_tokens": 0}}', "token counts"),
        (b'{"content": [], "usage": "many"}', "usage that is not an object"),
        (b'{"content": [], "model": 5}', "wrong type"),
    ],
)
def test_malformed_bodies_say_what_is_wrong(body: bytes, says: str) -> None:
    with pytest.raises(LLMMalformedResponseError, match=says) as raised:
        message_from(body, "application/json", None, "anthropic", False)
    assert "ANTHROPIC_BASE_URL" in str(raised.value) and raised.value.status_code == 200


def events(*payloads: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["type"], json.dumps(p)) for p in payloads]


START = {"type": "message_start", "message": {"id": "msg_s", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 9, "output_tokens": 1, "cache_read_input_tokens": 1}}}
TEXT = [
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi "}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "there"}},
    {"type": "content_block_stop", "index": 0},
]
TOOL = [
    {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "add", "input": {}}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"a": '}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "2}"}},
]
END = [{"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 12}}, {"type": "message_stop"}]


def read(stream: list[tuple[str, str]], json_mode: bool = False) -> tuple[list[str], StreamReader]:
    reader = StreamReader("anthropic", json_mode, str)
    return [text for event, data in stream if (text := reader.read(event, data))], reader


def test_a_stream_of_text_and_a_tool_use_with_its_usage() -> None:
    texts, reader = read([("ping", "{}"), *events(START, *TEXT, *TOOL, *END)])
    completion = reader.completion()
    assert texts == ["Hi ", "there"] and completion.tool_calls == (ToolCall("toolu_1", "add", {"a": 2}),)
    assert (completion.prompt_tokens, completion.completion_tokens, completion.finish_reason) == (10, 12, "tool_calls")
    assert (completion.model, completion.request_id) == ("claude-sonnet-4-5", "msg_s")


def test_in_json_mode_the_forced_tools_input_streams_as_text() -> None:
    tool = [{**TOOL[0], "content_block": {"type": "tool_use", "id": "t", "name": "json_answer", "input": {}}}, *TOOL[1:]]
    texts, reader = read(events(START, *tool, *END), json_mode=True)
    assert "".join(texts) == '{"a": 2}' and reader.completion().finish_reason == "stop" and reader.completion().tool_calls == ()


def test_a_stream_without_message_stop_was_cut_short() -> None:
    _, reader = read(events(START, *TEXT))
    with pytest.raises(LLMMalformedResponseError, match="cut short"):
        reader.completion()
    with pytest.raises(LLMMalformedResponseError, match="before any event"):
        read([])[1].completion()


def test_an_error_event_is_raised_as_its_status_would_be() -> None:
    with pytest.raises(LLMProviderError) as raised:
        read(events(START, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    assert (raised.value.status_code, raised.value.code) == (529, "overloaded_error")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("not json", "not JSON"),
        ("[1]", "not an object"),
        (json.dumps({"type": "content_block_delta", "index": -1, "delta": {}}), "index"),
        (json.dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": 5}}), "partial_json"),
        (json.dumps({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": None}}), "not text"),
        (json.dumps({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": 1}}), "id and name"),
        (json.dumps({"type": "message_start", "message": "m"}), "not an object"),
    ],
)
def test_malformed_stream_events_say_what_is_wrong(data: str, says: str) -> None:
    with pytest.raises(LLMMalformedResponseError, match=says):
        read([("event", data)])


def test_a_tool_use_whose_streamed_input_is_not_json_is_a_call_with_an_error() -> None:
    broken = [TOOL[0], {**TOOL[1], "delta": {"type": "input_json_delta", "partial_json": '{"a": '}}]
    _, reader = read(events(START, *broken, *END))
    [call] = reader.completion().tool_calls
    assert call.error and "not JSON" in call.error
