"""The anthropic provider against a local server shaped like the Messages API, through the facade: text, tools,
streams, JSON mode, retried and refused failures, malformed answers, and anthropic as a fallback."""

from __future__ import annotations

import time

import pytest

from modules.infrastructure.module_api import (
    InfrastructureService,
    LLMAuthenticationError,
    LLMBadRequestError,
    LLMMalformedResponseError,
    LLMProviderError,
    LLMTimeoutError,
    Message,
    Prompt,
    PromptContext,
    ToolCall,
)
from tests.integration.anthropic_fault_server import CLAUDE_API_KEY, Claude, ClaudeServer
from tests.integration.fault_server import Answer, FaultServer

pytestmark = pytest.mark.usefixtures("clean_env")

API_KEY = CLAUDE_API_KEY
PROMPT = Prompt("Say {word}", system="Be brief.", parameters={"max_tokens": 16})
CONTEXT = PromptContext({"word": "hi"}, module="lessons")
HISTORY = [Message.system("Be brief."), Message.user("What is 2 + 3?")]
ADD = ("toolu_1", "add", {"a": 2, "b": 3})


def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


def test_a_text_answer_with_the_request_in_the_messages_shape_and_its_usage_priced(anthropic_at) -> None:
    with ClaudeServer([Claude(text="Hello!", usage=(1000, 100))]) as server:
        anthropic_at(server)
        response = InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    seen = server.requests[0]
    assert seen.path == "/v1/messages" and API_KEY in seen.headers["authorization"]
    assert seen.body["system"] == "Be brief." and seen.body["messages"] == [{"role": "user", "content": "Say hi"}]
    assert seen.body["max_tokens"] == 16 and seen.body["model"] == "claude-sonnet-4-5"
    assert response.content == "Hello!" and response.finish_reason == "stop"
    assert response.metadata["provider"] == "anthropic" and response.metadata["model"] == "claude-sonnet-4-5"
    assert (response.usage_stats.prompt_tokens, response.usage_stats.completion_tokens) == (1000, 100)
    assert response.usage_stats.cost_usd == pytest.approx(1000 * 3.0 / 1e6 + 100 * 15.0 / 1e6)
    usage = InfrastructureService.get_llm_usage(module="lessons")
    assert usage.calls == 1 and usage.cost_usd == pytest.approx(0.0045) and usage.unpriced_calls == 0


def test_max_tokens_defaults_to_the_setting(anthropic_at) -> None:
    with ClaudeServer([Claude()]) as server:
        anthropic_at(server, ANTHROPIC_MAX_TOKENS="333")
        InfrastructureService.execute_prompt(Prompt("Hi"))
    assert server.requests[0].body["max_tokens"] == 333


def test_a_tool_use_answer_and_the_tool_loop_sending_results_back(anthropic_at) -> None:
    with ClaudeServer([Claude(text="", tool_uses=(ADD,), stop_reason="tool_use"), Claude(text="It is 5.")]) as server:
        anthropic_at(server)
        result = InfrastructureService.run_tools(HISTORY, [add])
    assert result.response.content == "It is 5."
    first, second = (seen.body for seen in server.requests)
    assert first["tools"] == [{"name": "add", "description": "Add two whole numbers.", "input_schema": {
        "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}]
    assert second["messages"][1] == {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "add", "input": {"a": 2, "b": 3}}]}
    assert second["messages"][2] == {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "5"}]}


def test_tool_choice_required_is_any(anthropic_at) -> None:
    with ClaudeServer([Claude(text="", tool_uses=(ADD,), stop_reason="tool_use")]) as server:
        anthropic_at(server)
        response = InfrastructureService.chat(HISTORY, tools=[add], tool_choice="required")
    assert server.requests[0].body["tool_choice"] == {"type": "any"}
    assert response.tool_calls == (ToolCall("toolu_1", "add", {"a": 2, "b": 3}),) and response.finish_reason == "tool_calls"


def test_a_streamed_text_with_its_usage(anthropic_at) -> None:
    with ClaudeServer([Claude(text="One two three four", usage=(20, 4))]) as server:
        anthropic_at(server)
        pieces = list(InfrastructureService.stream_prompt(PROMPT, CONTEXT))
    assert pieces == ["One ", "two ", "three ", "four"] and server.requests[0].body["stream"] is True
    usage = InfrastructureService.get_llm_usage(module="lessons")
    assert (usage.prompt_tokens, usage.completion_tokens) == (20, 4)


def test_a_streamed_tool_use_in_input_json_delta_pieces(anthropic_at) -> None:
    call = ("toolu_9", "add", {"a": 20, "b": 22})
    with ClaudeServer([Claude(text="Adding.", tool_uses=(call,), stop_reason="tool_use")]) as server:
        anthropic_at(server)
        stream = InfrastructureService.stream_chat(HISTORY, tools=[add])
        text = stream.text()
    assert text == "Adding." and stream.response.tool_calls == (ToolCall("toolu_9", "add", {"a": 20, "b": 22}),)
    assert stream.response.finish_reason == "tool_calls"


def test_json_mode_forces_a_tool_whose_input_is_the_answer(anthropic_at) -> None:
    answer = ("toolu_j", "json_answer", {"colors": ["red", "green"]})
    with ClaudeServer([Claude(text="", tool_uses=(answer,), stop_reason="tool_use")]) as server:
        anthropic_at(server)
        data = InfrastructureService.execute_prompt_json(Prompt("Two colors as JSON"))
    assert data == {"colors": ["red", "green"]}
    sent = server.requests[0].body
    assert sent["tool_choice"] == {"type": "tool", "name": "json_answer"} and [t["name"] for t in sent["tools"]] == ["json_answer"]


def test_429_with_retry_after_is_retried_after_the_wait(anthropic_at) -> None:
    with ClaudeServer([Claude(429, {"retry-after": "1"}), Claude(text="Later")]) as server:
        anthropic_at(server)
        response = InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert response.content == "Later" and len(server.requests) == 2 and response.metadata["attempts"] == 2
    assert server.requests[1].at - server.requests[0].at >= 0.95


def test_529_overloaded_is_retried(anthropic_at) -> None:
    with ClaudeServer([Claude(529), Claude(529), Claude(text="Back")]) as server:
        anthropic_at(server)
        response = InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert response.content == "Back" and len(server.requests) == 3


def test_an_overloaded_error_event_mid_stream_is_retried_as_a_529_when_nothing_was_read(anthropic_at) -> None:
    with ClaudeServer([Claude(text="", error_event="overloaded_error"), Claude(text="Fine now")]) as server:
        anthropic_at(server)
        assert "".join(InfrastructureService.stream_prompt(PROMPT, CONTEXT)) == "Fine now"
    assert len(server.requests) == 2


def test_an_error_event_after_text_ends_the_stream_with_the_mapped_error(anthropic_at) -> None:
    with ClaudeServer([Claude(text="Half an", error_event="overloaded_error")]) as server:
        anthropic_at(server)
        with pytest.raises(LLMProviderError) as raised:
            list(InfrastructureService.stream_prompt(PROMPT, CONTEXT))
    assert raised.value.status_code == 529 and raised.value.code == "overloaded_error"


def test_an_answer_slower_than_the_attempts_timeout_is_cut_off_and_retried(anthropic_at) -> None:
    with ClaudeServer([Claude(delay=3), Claude(text="Quick")]) as server:
        anthropic_at(server, LLM_TIMEOUT="0.5")
        response = InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert response.content == "Quick" and len(server.requests) == 2
    assert server.requests[1].at - server.requests[0].at < 2.5  # cut off at 0.5 s, then a short backoff


def test_a_stream_that_outlasts_the_deadline_ends_with_a_timeout(anthropic_at) -> None:
    with ClaudeServer([Claude(text="one two three four five six seven eight", delay=0.4)]) as server:
        anthropic_at(server, LLM_TIMEOUT="1", LLM_DEADLINE="3", LLM_MAX_RETRIES="0")
        with pytest.raises(LLMTimeoutError):
            list(InfrastructureService.stream_prompt(PROMPT, CONTEXT))
        ended = time.monotonic()
    assert len(server.requests) == 1 and ended - server.requests[0].at < 3.2  # 11 events 0.4 s apart would take 4.4 s


def test_401_is_not_retried_and_never_shows_the_key(anthropic_at) -> None:
    with ClaudeServer([Claude(401)]) as server:
        anthropic_at(server)
        with pytest.raises(LLMAuthenticationError) as raised:
            InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert len(server.requests) == 1 and raised.value.status_code == 401
    assert API_KEY not in str(raised.value) and API_KEY not in repr(raised.value.__cause__)


def test_the_start_up_report_names_the_provider_and_model_and_masks_the_key(anthropic_at) -> None:
    with ClaudeServer([Claude(401), Claude(text="OK")]) as server:
        anthropic_at(server)
        refused = InfrastructureService.validate_environment().checks["llm"]
        answered = InfrastructureService.validate_environment().checks["llm"]
    assert refused.status.value == "error" and API_KEY not in refused.detail
    assert answered.status.value == "ok" and answered.detail.startswith(f"anthropic, model claude-sonnet-4-5 at {server.root_url}")
    assert server.requests[1].body["max_tokens"] == 1 and "temperature" not in server.requests[1].body


def test_400_is_not_retried(anthropic_at) -> None:
    with ClaudeServer([Claude(400)]) as server:
        anthropic_at(server)
        with pytest.raises(LLMBadRequestError, match="invalid_request_error"):
            InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert len(server.requests) == 1


def test_a_stream_cut_before_message_stop_is_malformed(anthropic_at) -> None:
    with ClaudeServer([Claude(text="Cut short", cut=True)]) as server:
        anthropic_at(server, LLM_MAX_RETRIES="0")
        with pytest.raises(LLMMalformedResponseError, match="cut short"):
            list(InfrastructureService.stream_prompt(PROMPT, CONTEXT))
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html>busy</html>", "not JSON"),
        (b'{"id": "msg_1", "type": "message", "stop_reason": "end_turn"}', "no content"),
        (b'{"content": [{"type": "tool_use", "id": "t", "name": "add", "input": "2, 3"}]}', "input is not an object"),
    ],
    ids=["not JSON", "no content", "tool_use input not an object"],
)
def test_a_malformed_body_is_retried_then_a_clear_error(anthropic_at, body: bytes, says: str) -> None:
    with ClaudeServer([Claude(body=body)]) as server:
        anthropic_at(server, LLM_MAX_RETRIES="1")
        with pytest.raises(LLMMalformedResponseError, match=says):
            InfrastructureService.chat(HISTORY, tools=[add])
    assert len(server.requests) == 2


def test_sampling_parameters_are_left_out_for_the_default_api_version(anthropic_at) -> None:
    with ClaudeServer([Claude()]) as server:
        anthropic_at(server)
        response = InfrastructureService.execute_prompt(Prompt("Hi", parameters={"temperature": 0.2, "max_tokens": 9}))
    assert response.content and "temperature" not in server.requests[0].body and server.requests[0].body["max_tokens"] == 9


def test_an_older_api_version_lets_temperature_through(anthropic_at) -> None:
    with ClaudeServer([Claude()]) as server:
        anthropic_at(server, ANTHROPIC_API_VERSION="2023-06-01")
        InfrastructureService.execute_prompt(Prompt("Hi", parameters={"temperature": 0.2}))
    assert server.requests[0].body["temperature"] == 0.2 and server.requests[0].headers["anthropic-version"] == "2023-06-01"


def test_anthropic_answers_when_the_openai_primary_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultServer([Answer(503)]) as openai_server, ClaudeServer([Claude(text="From Claude")]) as claude:
        for name, value in {"LLM_PROVIDER": "openai", "OPENAI_BASE_URL": openai_server.base_url, "OPENAI_API_KEY": "sk-openai-0000",
                            "LLM_MAX_RETRIES": "1", "LLM_FALLBACK_PROVIDERS": "anthropic", "ANTHROPIC_API_KEY": API_KEY,
                            "ANTHROPIC_BASE_URL": claude.root_url}.items():
            monkeypatch.setenv(name, value)
        InfrastructureService.reset()
        response = InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert len(openai_server.requests) == 2 and len(claude.requests) == 1
    assert response.content == "From Claude" and response.metadata["provider"] == "anthropic"
    assert response.metadata["fallback_from"] == ["openai"]


def test_openai_answers_when_the_anthropic_primary_is_overloaded(anthropic_at, monkeypatch: pytest.MonkeyPatch) -> None:
    with ClaudeServer([Claude(529)]) as claude, FaultServer([Answer(200)]) as openai_server:
        monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
        anthropic_at(claude, LLM_MAX_RETRIES="1", LLM_FALLBACK_PROVIDERS="openai")
        response = InfrastructureService.execute_prompt(PROMPT, CONTEXT)
    assert len(claude.requests) == 2 and response.metadata["provider"] == "openai"
    assert response.metadata["fallback_from"] == ["anthropic"]


def test_embeddings_and_moderation_are_refused_clearly_before_any_request(anthropic_at) -> None:
    with ClaudeServer([Claude()]) as server:
        anthropic_at(server)
        with pytest.raises(LLMBadRequestError, match="'anthropic' has no embedding model"):
            InfrastructureService.embed(["a sentence"], module="lessons")
        with pytest.raises(LLMBadRequestError, match="'anthropic' has no moderation endpoint"):
            InfrastructureService.moderate("a sentence", module="lessons")
    assert server.requests == []
