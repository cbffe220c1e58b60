"""Errors of the content_creation module (LLM and database failures arrive as the infrastructure's own)."""

from __future__ import annotations


class QuestionGenerationError(Exception):
    """The model gave no usable question in two tries; ``problems`` says what was wrong with each reply."""

    def __init__(self, topic: str, problems: list[str]) -> None:
        self.topic = topic
        self.problems = tuple(problems)
        super().__init__(
            f"No valid question about {topic!r} after {len(problems)} tries ({'; '.join(problems)}); "
            "try again, choose a clearer topic, or configure a stronger model (LLM_PROVIDER)"
        )


class QuestionNotFoundError(LookupError):
    """No question has ``question_id``: nothing was attached to it, and no file was kept."""

    def __init__(self, question_id: int) -> None:
        self.question_id = question_id
        super().__init__(f"No question with id {question_id}; create it first (QuestionService.create_question) or check the id")


class IllustrationNotFoundError(LookupError):
    """No illustration has ``illustration_id`` (never attached, or removed)."""

    def __init__(self, illustration_id: int) -> None:
        self.illustration_id = illustration_id
        super().__init__(f"No illustration with id {illustration_id}; it was never attached or has been removed")
