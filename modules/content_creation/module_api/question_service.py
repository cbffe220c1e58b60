"""``QuestionService``: the content_creation module's one entry point for other modules."""

from __future__ import annotations

from dataclasses import dataclass

from modules.content_creation.application.generation import MODULE, Generated, generate_question
from modules.content_creation.infrastructure.models import QuestionRepository
from modules.infrastructure.module_api import InfrastructureService

EVENTS = "content_creation.events"  # the queue other modules consume to hear about new questions
QUESTION_CREATED = "content.question_created"
MAX_TOPIC = 100


@dataclass(frozen=True)
class CreatedQuestion:
    """A stored question, the id of the event announcing it, and what writing it cost."""

    question_id: int
    topic: str
    text: str
    options: tuple[str, ...]
    answer_index: int
    event_id: str
    written_by: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    tries: int
    cached: bool  # the accepted answer came from the LLM response cache (same topic, temperature 0)

    @property
    def answer(self) -> str:
        return self.options[self.answer_index]


class QuestionService:
    """Creates multiple-choice questions with the LLM; each is stored and announced in one transaction."""

    @staticmethod
    def create_question(topic: str) -> CreatedQuestion:
        """Ask the LLM for a question on ``topic``, store it and publish ``content.question_created``.

        Raises ``ValueError`` for an empty or over-long topic, ``QuestionGenerationError`` when the model
        gave no usable question in two tries, and the infrastructure's ``LLMProviderError``/``DatabaseError``/
        ``MessagingError`` subclasses. ``QuestionService.create_question("photosynthesis").answer``
        """
        topic = topic.strip()
        if not 0 < len(topic) <= MAX_TOPIC:
            raise ValueError(f"topic must be 1 to {MAX_TOPIC} characters, got {len(topic)}")
        generated = generate_question(topic)
        question_id, event_id = _store_and_announce(topic, generated)
        question = generated.question
        return CreatedQuestion(
            question_id, topic, question.text, question.options, question.answer_index, event_id, generated.written_by,
            generated.prompt_tokens, generated.completion_tokens, generated.latency_ms, generated.tries, generated.cached,
        )


def _store_and_announce(topic: str, generated: Generated) -> tuple[int, str]:
    """Insert the question and its event in one transaction: both are committed, or neither."""
    question = generated.question
    with InfrastructureService.get_database_session() as db:
        record = QuestionRepository(db).create(
            topic=topic, text=question.text, options=list(question.options),
            answer_index=question.answer_index, written_by=generated.written_by,
        )
        payload = {"question_id": record.id, "topic": topic, "text": question.text,
                   "options": list(question.options), "answer_index": question.answer_index}
        event_id = InfrastructureService.publish_event(EVENTS, payload, event_type=QUESTION_CREATED, source=MODULE, session=db)
        return record.id, event_id
