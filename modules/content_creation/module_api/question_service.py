"""``QuestionService``: the content_creation module's one entry point for other modules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from modules.content_creation.application import illustrations, question_list
from modules.content_creation.application.generation import Generated, generate_question
from modules.content_creation.application.question_metrics import count_created
from modules.content_creation.infrastructure.models import QuestionRepository
from modules.content_creation.module_api.illustration import Illustration
from modules.content_creation.module_api.question_list import QuestionList
from modules.content_creation.settings import MODULE, current
from modules.infrastructure.module_api import InfrastructureService

EVENTS = "content_creation.events"  # the queue other modules consume to hear about new questions
QUESTION_CREATED = "content.question_created"


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
    """Creates multiple-choice questions with the LLM (each stored and announced in one transaction) and keeps
    their illustrations (each image saved with its row in one transaction)."""

    @staticmethod
    def create_question(topic: str) -> CreatedQuestion:
        """Ask the LLM for a question on ``topic``, store it and publish ``content.question_created``.

        Raises ``ValueError`` for an empty or over-long topic, ``QuestionGenerationError`` when the model
        gave no usable question in two tries, and the infrastructure's ``LLMProviderError``/``DatabaseError``/
        ``MessagingError`` subclasses. ``QuestionService.create_question("photosynthesis").answer``
        """
        topic = topic.strip()
        longest = current().max_topic_length
        if not 0 < len(topic) <= longest:
            raise ValueError(f"topic must be 1 to {longest} characters (CONTENT_CREATION_MAX_TOPIC_LENGTH), got {len(topic)}")
        with InfrastructureService.trace("content_creation create_question", attributes={"content.topic_length": len(topic)}) as span:
            generated = generate_question(topic)
            question_id, event_id = _store_and_announce(topic, generated)
            span.set_attributes({"content.question_id": question_id, "content.tries": generated.tries})
        count_created(generated.tries, generated.cached)
        question = generated.question
        return CreatedQuestion(
            question_id, topic, question.text, question.options, question.answer_index, event_id, generated.written_by,
            generated.prompt_tokens, generated.completion_tokens, generated.latency_ms, generated.tries, generated.cached,
        )

    @staticmethod
    def list_questions(
        *, topic: str | None = None, search: str | None = None, cursor: str | None = None, per_page: int = 20
    ) -> QuestionList:
        """The stored questions, newest first, ``per_page`` (1 to 100) at a time, of ``topic`` and containing ``search``
        (any case) when given; pass ``next_cursor`` back, with the same topic and search, for the next page.

        Raises ``ValueError`` for an argument it cannot use and the infrastructure's ``InvalidCursorError`` for a cursor
        that is not one of this list's. ``QuestionService.list_questions(topic="fractions", search="half").items``
        """
        return question_list.list_questions(topic, search, cursor, per_page)

    @staticmethod
    def remove_question(question_id: int) -> None:
        """Remove the question from the list (it is kept, and ``restore_question`` brings it back); ``QuestionNotFoundError``."""
        question_list.remove(question_id)

    @staticmethod
    def restore_question(question_id: int) -> None:
        """Bring a removed question back into the list; ``QuestionNotFoundError`` when there is no such question."""
        question_list.restore(question_id)

    @staticmethod
    def retire_topic(topic: str) -> int:
        """Remove every question of ``topic`` at once (each restorable); the number removed."""
        return question_list.retire_topic(topic)

    @staticmethod
    def attach_illustration(question_id: int, image: object, *, uploaded_by: str, size: int | None = None) -> Illustration:
        """Save ``image`` (bytes, a binary file or an iterable of byte chunks) as an illustration of the question.

        A PNG, JPEG, WebP or GIF (detected from its bytes) of at most ``CONTENT_CREATION_MAX_IMAGE_BYTES`` (10 MiB); ``size``, when the caller knows it
        (a request's Content-Length), refuses a larger upload before reading it and must match what arrives.
        The file and its row commit together or not at all. Raises ``ValueError`` for an argument it cannot use,
        ``QuestionNotFoundError``, and the infrastructure's ``ContentTypeNotAllowedError``, ``FileTooLargeError``,
        ``StorageError`` and ``DatabaseError`` subclasses.
        ``QuestionService.attach_illustration(42, request.stream, uploaded_by=user.id)``
        """
        return illustrations.attach(question_id, image, uploaded_by, size)

    @staticmethod
    def illustrations(question_id: int) -> list[Illustration]:
        """The question's illustrations, oldest first."""
        return illustrations.of_question(question_id)

    @staticmethod
    def illustration_url(illustration_id: int, expires_in: float = 600) -> str:
        """A URL that fetches the image for ``expires_in`` seconds (at most 7 days); ``IllustrationNotFoundError``."""
        return illustrations.download_url(illustration_id, expires_in)

    @staticmethod
    def read_illustration(illustration_id: int) -> bytes:
        """The whole image (at most ``CONTENT_CREATION_MAX_IMAGE_BYTES``); ``IllustrationNotFoundError`` when there is no such illustration."""
        return b"".join(illustrations.open_file(illustration_id))

    @staticmethod
    def open_illustration(illustration_id: int) -> Iterator[bytes]:
        """The image in chunks, to stream it in constant memory; ``IllustrationNotFoundError``."""
        return illustrations.open_file(illustration_id)

    @staticmethod
    def remove_illustration(illustration_id: int) -> None:
        """Delete the illustration's row, and its file once that commits; ``IllustrationNotFoundError``."""
        illustrations.remove(illustration_id)


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
