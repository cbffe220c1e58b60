"""The shipped fakes (``module_api.testing``): the facade's real paths run on them, and they record what happened."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules.infrastructure.module_api import (
    InfrastructureService,
    LLMRateLimitError,
    LLMResponseFormatError,
    Prompt,
    PromptContext,
)
from modules.infrastructure.module_api.testing import FakeLLM, RecordedPrompt, fake_infrastructure
from tests.metrics_support import sample

pytestmark = pytest.mark.usefixtures("clean_env")

GREETING = Prompt("Greet {name}.", system="Be brief.", name="greeting", version="2", parameters={"temperature": 0})


def test_scripted_replies_come_in_order_and_every_prompt_is_recorded() -> None:
    with fake_infrastructure(["Hello, Ada.", '{"ok": true}']) as fakes:
        first = InfrastructureService.execute_prompt(GREETING, PromptContext({"name": "Ada"}, module="lessons"))
        second = InfrastructureService.execute_prompt_json(Prompt("Status as JSON"), PromptContext(module="reports"))
    assert (first.content, second) == ("Hello, Ada.", {"ok": True})
    assert first.metadata["provider"] == "fake" and first.usage_stats.total_tokens > 0
    greeting, status = fakes.llm.prompts
    assert greeting.messages == ({"role": "system", "content": "Be brief."}, {"role": "user", "content": "Greet Ada."})
    assert (greeting.module, greeting.prompt_name, greeting.json_mode) == ("lessons", "greeting", False)
    assert (status.module, status.json_mode, status.user) == ("reports", True, "Status as JSON")
    assert fakes.llm.calls == 2


def test_respond_answers_once_the_script_is_used_up() -> None:
    with fake_infrastructure(["scripted"], respond=lambda prompt: prompt.user.upper()) as fakes:
        answers = [InfrastructureService.execute_prompt(Prompt(f"call {n}")).content for n in range(3)]
    assert answers == ["scripted", "CALL 1", "CALL 2"]
    assert fakes.llm.calls == 3


def test_a_model_with_nothing_left_to_say_fails_the_test_loudly() -> None:
    with fake_infrastructure() as fakes, pytest.raises(AssertionError, match="no scripted reply left"):
        InfrastructureService.execute_prompt(Prompt("anyone there?"))
    assert fakes.llm.calls == 1


def test_a_scripted_error_goes_through_the_real_retry_loop() -> None:
    busy = LLMRateLimitError("slow down", provider="fake", status_code=429)
    with fake_infrastructure([busy, "second time lucky"]) as fakes:
        response = InfrastructureService.execute_prompt(Prompt("try"))
    assert (response.content, response.metadata["attempts"], fakes.llm.calls) == ("second time lucky", 2, 2)


def test_invalid_json_is_the_facade_s_format_error() -> None:
    with fake_infrastructure(["not json"]), pytest.raises(LLMResponseFormatError) as caught:
        InfrastructureService.execute_prompt_json(Prompt("JSON please"))
    assert caught.value.content == "not json"


def test_the_response_cache_runs_on_the_fake_cache() -> None:
    with fake_infrastructure(["cached answer"]) as fakes:
        first = InfrastructureService.execute_prompt(GREETING, PromptContext({"name": "Bo"}))
        again = InfrastructureService.execute_prompt(GREETING, PromptContext({"name": "Bo"}))
        usage = InfrastructureService.get_llm_usage()
    assert (first.metadata["cached"], again.metadata["cached"], again.content) == (False, True, "cached answer")
    assert fakes.llm.calls == 1 and (usage.calls, usage.cached_calls) == (2, 1)
    assert fakes.cache.stats().hits == 1


def test_the_environment_s_llm_settings_apply_to_the_fake_model() -> None:
    with fake_infrastructure(["one", "two"], environment={"LLM_CACHE_TTL": "0"}) as fakes:
        first = InfrastructureService.execute_prompt(GREETING, PromptContext({"name": "Bo"}))
        again = InfrastructureService.execute_prompt(GREETING, PromptContext({"name": "Bo"}))
    assert (first.content, again.content, fakes.llm.calls) == ("one", "two", 2), "LLM_CACHE_TTL=0 still cached"


def test_streams_and_usage_are_recorded_for_the_module() -> None:
    with fake_infrastructure(["one two three"]):
        text_ = "".join(InfrastructureService.stream_prompt(Prompt("count"), PromptContext(module="lessons")))
        usage = InfrastructureService.get_llm_usage(module="lessons")
    assert text_ == "one two three"
    assert usage.calls == 1 and usage.completion_tokens > 0


def test_calls_on_the_fake_model_are_in_the_metrics_like_real_ones() -> None:
    with fake_infrastructure(["hello", "hello again"]):
        InfrastructureService.execute_prompt(GREETING, PromptContext({"name": "Bo"}, module="lessons"))
        InfrastructureService.execute_prompt(GREETING, PromptContext({"name": "Bo"}, module="lessons"))  # a cache hit
        metrics = InfrastructureService.metrics_text()
    labels = {"provider": "fake", "model": "fake-model", "module": "lessons"}
    assert sample("infrastructure_llm_calls_total", metrics, outcome="ok", **labels) == 2
    assert sample("infrastructure_llm_cache_hits_total", metrics, **labels) == 1


def test_get_cache_uses_the_fake_backend() -> None:
    with fake_infrastructure() as fakes:
        InfrastructureService.get_cache("lessons").set("lesson:1", "Joins")
    assert fakes.cache.get("lessons:lesson:1") == "Joins"


def test_a_committed_event_reaches_the_recording_publisher_once_relayed() -> None:
    with fake_infrastructure() as fakes:
        with InfrastructureService.get_database_session() as db:
            event_id = InfrastructureService.publish_event("lessons.events", {"id": 7}, event_type="lesson.created", source="lessons", session=db)
        assert fakes.publisher.delivered == []  # still in the outbox: nothing relays on its own
        events = fakes.events("lessons.events")
    assert [(e.id, e.type, e.source, e.payload) for e in events] == [(event_id, "lesson.created", "lessons", {"id": 7})]


def test_a_rolled_back_transaction_drops_its_event() -> None:
    with fake_infrastructure() as fakes:
        with pytest.raises(RuntimeError), InfrastructureService.get_database_session() as db:
            InfrastructureService.publish_event("lessons.events", {"id": 8}, event_type="lesson.created", source="lessons", session=db)
            raise RuntimeError("the business step failed")
        assert fakes.events() == []


def test_each_block_has_a_fresh_migrated_database() -> None:
    with fake_infrastructure():
        assert InfrastructureService.migration_status().at_head
        InfrastructureService.publish_event("lessons.events", {"id": 9}, event_type="lesson.created", source="lessons")
    with fake_infrastructure() as fakes:
        assert fakes.events() == []


def test_without_migrate_the_database_is_empty() -> None:
    with fake_infrastructure(migrate=False):
        assert InfrastructureService.migration_status().current == ()


def test_the_block_restores_the_facade(clean_env: Path) -> None:
    with fake_infrastructure(environment={"FEATURE_FLAG_NEW_UI": "true"}) as fakes:
        assert InfrastructureService.get_config() is fakes.config
        assert InfrastructureService.is_feature_enabled("new_ui")
    assert InfrastructureService.get_config() is not fakes.config
    assert not InfrastructureService.is_feature_enabled("new_ui")


def test_a_fake_llm_plugs_in_alone_too() -> None:
    fake = FakeLLM(respond=lambda prompt: f"{len(prompt.messages)} message(s)")
    with InfrastructureService.override(llm=fake.gateway()):
        assert InfrastructureService.execute_prompt(GREETING, PromptContext({"name": "Cy"})).content == "2 message(s)"
    assert fake.prompts == [
        RecordedPrompt(
            ({"role": "system", "content": "Be brief."}, {"role": "user", "content": "Greet Cy."}), {"temperature": 0}, None, "greeting"
        )
    ]
