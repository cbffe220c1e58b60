"""The public surface of the content_creation module: other modules import from here only."""

from modules.content_creation.module_api.errors import IllustrationNotFoundError, QuestionGenerationError, QuestionNotFoundError
from modules.content_creation.module_api.illustration import Illustration
from modules.content_creation.module_api.listeners import WEBHOOK_LISTENER, register_listeners
from modules.content_creation.module_api.question_list import QuestionList, QuestionSummary
from modules.content_creation.module_api.question_service import (
    EVENTS,
    QUESTION_CREATED,
    CreatedQuestion,
    QuestionService,
)

__all__ = [
    "EVENTS",
    "QUESTION_CREATED",
    "CreatedQuestion",
    "Illustration",
    "IllustrationNotFoundError",
    "QuestionGenerationError",
    "QuestionList",
    "QuestionNotFoundError",
    "QuestionService",
    "QuestionSummary",
    "WEBHOOK_LISTENER",
    "register_listeners",
]
