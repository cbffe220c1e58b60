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
