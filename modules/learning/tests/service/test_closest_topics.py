"""learning ranks its practice topics by meaning through the infrastructure's embeddings, on the shipped fakes."""

from __future__ import annotations

import json

from modules.content_creation.module_api import QuestionService
from modules.infrastructure.module_api import InfrastructureService
from modules.infrastructure.module_api.testing import fake_infrastructure
from modules.learning.module_api import PracticePool, register_listeners


def question(text: str) -> str:
    return json.dumps({"question": text, "options": ["A", "B"], "answer": "A"})


def test_the_topic_sharing_the_learners_words_ranks_first_and_repeats_come_from_the_cache() -> None:
    with fake_infrastructure([question("Which planet is largest?"), question("What do plants make?")]) as fakes:
        register_listeners()
        QuestionService.create_question("planets of the solar system")
        QuestionService.create_question("photosynthesis in green plants")
        ranked = PracticePool.closest_topics("the largest planets", limit=1)
        again = PracticePool.closest_topics("the largest planets", limit=2)
        usage = InfrastructureService.get_llm_usage(module="learning")
    assert [topic for topic, _ in ranked] == ["planets of the solar system"]
    assert [topic for topic, _ in again][1] == "photosynthesis in green plants" and again[0][1] > again[1][1]
    assert len(fakes.llm.embedded) == 1 and usage.calls == 2  # the second ranking was all cache hits


def test_an_empty_pool_has_no_closest_topic() -> None:
    with fake_infrastructure():
        assert PracticePool.closest_topics("anything") == []
