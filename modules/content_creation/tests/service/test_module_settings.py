"""content_creation's own settings (``CONTENT_CREATION_*``) as its code uses them, set through ``fake_infrastructure``."""

from __future__ import annotations

import json

import pytest

from modules.content_creation.module_api import QuestionService
from modules.content_creation.settings import SETTINGS
from modules.content_creation.tests.contracts.illustration_contract import a_question, assert_nothing_kept
from modules.content_creation.tests.images import PNG
from modules.infrastructure.module_api import ConfigurationError, FileTooLargeError, InfrastructureService
from modules.infrastructure.module_api.testing import fake_infrastructure

GOOD = json.dumps({"question": "Which gas do plants take in?", "options": ["Oxygen", "Carbon dioxide", "Helium"], "answer": "Carbon dioxide"})


def test_the_defaults_are_the_former_constants() -> None:
    with fake_infrastructure():
        values = InfrastructureService.get_module_settings(SETTINGS)
    assert (values.max_image_bytes, values.max_topic_length, values.retry_temperature) == (10 * 1024 * 1024, 100, 0.7)


def test_a_lower_image_limit_refuses_a_larger_image() -> None:
    with fake_infrastructure(environment={"CONTENT_CREATION_MAX_IMAGE_BYTES": "100"}):
        question_id = a_question()
        with pytest.raises(FileTooLargeError, match="100-byte limit"):
            QuestionService.attach_illustration(question_id, PNG, uploaded_by="teacher")
        with pytest.raises(FileTooLargeError, match="declared as 101 bytes; at most 100 are allowed"):
            QuestionService.attach_illustration(question_id, PNG, uploaded_by="teacher", size=101)
        assert_nothing_kept()


def test_the_topic_length_is_the_setting_s() -> None:
    with fake_infrastructure([GOOD], environment={"CONTENT_CREATION_MAX_TOPIC_LENGTH": "5"}):
        with pytest.raises(ValueError, match="topic must be 1 to 5 characters \\(CONTENT_CREATION_MAX_TOPIC_LENGTH\\), got 6"):
            QuestionService.create_question("plants")
        assert QuestionService.create_question("trees").topic == "trees"


def test_the_second_try_samples_at_the_set_temperature() -> None:
    with fake_infrastructure(["{not json", GOOD], environment={"CONTENT_CREATION_RETRY_TEMPERATURE": "1.25"}) as fakes:
        QuestionService.create_question("photosynthesis")
    assert [p.parameters["temperature"] for p in fakes.llm.prompts] == [0, 1.25]


def test_a_malformed_value_is_a_configuration_problem_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        with fake_infrastructure(environment={"CONTENT_CREATION_MAX_TOPIC_LENGTH": "500", "CONTENT_CREATION_RETRY_TEMPERATURE": "warm"}):
            pass
    assert caught.value.problems == (
        "CONTENT_CREATION_MAX_TOPIC_LENGTH='500' is above the maximum 100; expected a whole number from 1 to 100 (the topic column's length)",
        "CONTENT_CREATION_RETRY_TEMPERATURE='warm' is not a number; expected a number from 0 to 2",
    )
