"""content_creation's QuestionService end to end on the shipped fakes: model, database, outbox and broker."""

from __future__ import annotations

import json

import pytest

from modules.content_creation.infrastructure.models import QuestionRecord, QuestionRepository
from modules.content_creation.module_api import EVENTS, QUESTION_CREATED, QuestionGenerationError, QuestionService
from modules.infrastructure.module_api import InfrastructureService, LLMAuthenticationError, MessagingError
from modules.infrastructure.module_api.testing import fake_infrastructure

GOOD = json.dumps({"question": "Which gas do plants take in?", "options": ["Oxygen", "Carbon dioxide", "Helium"], "answer": "Carbon dioxide"})
ONE_OPTION = json.dumps({"question": "Which gas do plants take in?", "options": ["Oxygen", "oxygen"], "answer": 0})


def stored() -> list[QuestionRecord]:
    with InfrastructureService.get_database_session() as db:
        return QuestionRepository(db).get_all()


def test_a_question_is_stored_and_announced_in_one_transaction() -> None:
    with fake_infrastructure([GOOD]) as fakes:
        created = QuestionService.create_question("  photosynthesis ")
        [row] = stored()
        [event] = fakes.events(EVENTS)
    assert (created.text, created.options, created.answer) == ("Which gas do plants take in?", ("Oxygen", "Carbon dioxide", "Helium"), "Carbon dioxide")
    assert (row.id, row.topic, row.options, row.answer_index, row.written_by) == (created.question_id, "photosynthesis", list(created.options), 1, "fake/fake-model")
    assert (event.id, event.type, event.source) == (created.event_id, QUESTION_CREATED, "content_creation")
    assert event.payload == {"question_id": row.id, "topic": "photosynthesis", "text": row.text, "options": row.options, "answer_index": 1}
    assert created.tries == 1 and created.prompt_tokens > 0 and created.completion_tokens > 0


def test_each_stored_question_is_counted_in_the_module_s_own_metric() -> None:
    with fake_infrastructure([GOOD, ONE_OPTION, GOOD]):
        QuestionService.create_question("photosynthesis")
        QuestionService.create_question("the solar system")  # its first reply is refused: two tries
        counted = [line for line in InfrastructureService.metrics_text().splitlines() if line.startswith("questions_created_total")]
    assert counted == [
        'questions_created_total{cached="false",module="content_creation",tries="1"} 1.0',
        'questions_created_total{cached="false",module="content_creation",tries="2"} 1.0',
    ]


def test_the_model_is_asked_in_json_mode_for_the_module() -> None:
    with fake_infrastructure([GOOD]) as fakes:
        QuestionService.create_question("photosynthesis")
        usage = InfrastructureService.get_llm_usage(module="content_creation")
    [prompt] = fakes.llm.prompts
    assert prompt.json_mode and prompt.parameters["response_format"]["type"] == "json_schema"
    assert (prompt.module, prompt.prompt_name, prompt.parameters["temperature"]) == ("content_creation", "content_creation.question", 0)
    assert "about photosynthesis" in prompt.user
    assert usage.calls == 1


@pytest.mark.parametrize(("first", "problem"), [("{not json", "not valid JSON"), (ONE_OPTION, "got 1")])
def test_an_invalid_reply_is_retried_once_saying_what_was_wrong(first: str, problem: str) -> None:
    with fake_infrastructure([first, GOOD]) as fakes:
        created = QuestionService.create_question("photosynthesis")
    retry = fakes.llm.prompts[1]
    assert created.tries == 2 and created.answer == "Carbon dioxide"
    assert problem in retry.user and retry.parameters["temperature"] > 0


def test_two_invalid_replies_raise_and_store_nothing() -> None:
    with fake_infrastructure(["[]", ONE_OPTION]) as fakes:
        with pytest.raises(QuestionGenerationError) as caught:
            QuestionService.create_question("photosynthesis")
        assert stored() == [] and fakes.events() == []
    assert caught.value.topic == "photosynthesis" and len(caught.value.problems) == 2
    assert "after 2 tries" in str(caught.value) and "LLM_PROVIDER" in str(caught.value)


def test_a_failed_publish_rolls_the_question_back() -> None:
    with fake_infrastructure([GOOD], environment={"MESSAGING_MAX_PAYLOAD_BYTES": "64"}) as fakes:
        with pytest.raises(MessagingError):
            QuestionService.create_question("photosynthesis")
        assert stored() == [] and fakes.events() == []


def test_an_llm_failure_is_the_infrastructure_s_error() -> None:
    refused = LLMAuthenticationError("key refused", provider="fake", status_code=401)
    with fake_infrastructure([refused]) as fakes:
        with pytest.raises(LLMAuthenticationError):
            QuestionService.create_question("photosynthesis")
        assert stored() == [] and fakes.llm.calls == 1


@pytest.mark.parametrize("topic", ["", "   ", "x" * 101])
def test_a_topic_that_is_empty_or_too_long_is_refused_before_asking(topic: str) -> None:
    with fake_infrastructure() as fakes:
        with pytest.raises(ValueError, match="topic must be 1 to 100 characters"):
            QuestionService.create_question(topic)
    assert fakes.llm.calls == 0


def test_the_same_topic_again_is_answered_from_the_llm_cache_but_stored_anew() -> None:
    with fake_infrastructure([GOOD]) as fakes:
        first = QuestionService.create_question("photosynthesis")
        again = QuestionService.create_question("photosynthesis")
        assert len(stored()) == 2 and len(fakes.events(EVENTS)) == 2
    assert (first.cached, again.cached, fakes.llm.calls) == (False, True, 1)
    assert again.question_id != first.question_id and again.text == first.text
