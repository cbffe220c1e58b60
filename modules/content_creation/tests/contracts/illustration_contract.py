"""What illustrations promise on any stack: the image and its row together, or neither.

Subclass ``IllustrationContract`` with an autouse fixture ``stack`` that installs the facade on a
migrated database and a file storage (the shipped fakes; PostgreSQL and the local disk).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from modules.content_creation.infrastructure.models import IllustrationRecord, IllustrationRepository, QuestionRepository
from modules.content_creation.module_api import IllustrationNotFoundError, QuestionNotFoundError, QuestionService
from modules.content_creation.tests.images import GIF, JPEG, PNG, TEXT, WEBP, chunks
from modules.infrastructure.module_api import (
    ContentTypeNotAllowedError,
    DatabaseIntegrityError,
    FileTooLargeError,
    InfrastructureService,
)

NAMESPACE = "content_creation"
TEN_MIB = 10 * 1024 * 1024


def a_question() -> int:
    """A stored question's id (written directly: no model is needed to illustrate it)."""
    with InfrastructureService.get_database_session() as db:
        record = QuestionRepository(db).create(
            topic="planets", text="Which planet is largest?", options=["Jupiter", "Mars"], answer_index=0, written_by="test"
        )
        return record.id


def stored_rows() -> list[IllustrationRecord]:
    with InfrastructureService.get_database_session() as db:
        return IllustrationRepository(db).get_all()


def stored_keys() -> list[str]:
    """Every file of the module's namespace, and a check that the storage's statistics agree."""
    files = InfrastructureService.get_file_storage(NAMESPACE)
    keys = [stored.key for stored in files.list(limit=1000).files]
    assert files.stats().by_namespace.get(NAMESPACE, (0, 0))[0] == len(keys)
    return keys


def assert_nothing_kept() -> None:
    assert stored_rows() == [] and stored_keys() == []


@contextmanager
def refused_flush(of: str) -> Iterator[None]:
    """Inside the block, a flush that inserts (``of="new"``) or deletes (``"deleted"``) an illustration row fails,
    as a database refusing it would."""

    def refuse(session: Session, *_: object) -> None:
        if any(isinstance(row, IllustrationRecord) for row in getattr(session, of)):
            raise RuntimeError("the database refused the illustration row")

    event.listen(Session, "before_flush", refuse)
    try:
        yield
    finally:
        event.remove(Session, "before_flush", refuse)


class IllustrationContract:
    @pytest.mark.parametrize("shape", ["bytes", "file", "chunks"])
    def test_an_attached_image_reads_back_the_same_with_its_sha256(self, shape: str) -> None:
        question_id = a_question()
        source = {"bytes": PNG, "file": io.BytesIO(PNG), "chunks": chunks(PNG)}[shape]
        attached = QuestionService.attach_illustration(question_id, source, uploaded_by=" teacher-7 ")
        [row] = stored_rows()
        assert QuestionService.read_illustration(attached.illustration_id) == PNG
        assert b"".join(QuestionService.open_illustration(attached.illustration_id)) == PNG
        assert (attached.sha256, attached.size, attached.content_type) == (hashlib.sha256(PNG).hexdigest(), len(PNG), "image/png")
        assert (row.id, row.question_id, row.file_key, row.sha256, row.uploaded_by) == (
            attached.illustration_id, question_id, attached.file_key, attached.sha256, "teacher-7"
        )
        assert attached.file_key.startswith(f"questions/{question_id}/illustrations/") and stored_keys() == [attached.file_key]
        assert InfrastructureService.get_file_storage(NAMESPACE).info(attached.file_key).metadata == {"uploaded-by": "teacher-7"}
        assert QuestionService.illustrations(question_id) == [attached]

    @pytest.mark.parametrize(("image", "content_type"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"), (GIF, "image/gif")])
    def test_each_image_type_is_taken_as_detected_from_its_bytes(self, image: bytes, content_type: str) -> None:
        attached = QuestionService.attach_illustration(a_question(), image, uploaded_by="teacher")
        assert attached.content_type == content_type and QuestionService.read_illustration(attached.illustration_id) == image

    def test_a_text_file_is_refused_and_leaves_neither_row_nor_file(self) -> None:
        with pytest.raises(ContentTypeNotAllowedError, match="text/plain"):
            QuestionService.attach_illustration(a_question(), TEXT, uploaded_by="teacher")
        assert_nothing_kept()

    def test_a_missing_question_raises_and_leaves_no_file(self) -> None:
        with pytest.raises(QuestionNotFoundError, match="No question with id 999") as caught:
            QuestionService.attach_illustration(999, PNG, uploaded_by="teacher")
        assert caught.value.question_id == 999
        assert_nothing_kept()

    def test_an_image_over_10_mib_is_refused_while_it_streams(self) -> None:
        question_id = a_question()
        over = (PNG[:1024] for _ in range(TEN_MIB // 1024 + 1))
        with pytest.raises(FileTooLargeError, match="10,485,760-byte limit"):
            QuestionService.attach_illustration(question_id, over, uploaded_by="teacher")
        assert_nothing_kept()

    def test_a_failure_after_the_save_rolls_the_file_back_with_the_transaction(self) -> None:
        question_id = a_question()
        with pytest.raises(RuntimeError, match="refused the illustration row"), refused_flush("new"):
            QuestionService.attach_illustration(question_id, PNG, uploaded_by="teacher")
        assert_nothing_kept()

    def test_an_image_shorter_than_its_declared_size_is_rolled_back(self) -> None:
        with pytest.raises(ValueError, match=f"declared as {len(PNG) + 1:,} bytes but {len(PNG):,} arrived"):
            QuestionService.attach_illustration(a_question(), chunks(PNG), uploaded_by="teacher", size=len(PNG) + 1)
        assert_nothing_kept()

    def test_remove_deletes_the_row_and_the_file(self) -> None:
        attached = QuestionService.attach_illustration(a_question(), GIF, uploaded_by="teacher")
        QuestionService.remove_illustration(attached.illustration_id)
        assert_nothing_kept()
        with pytest.raises(IllustrationNotFoundError, match=f"No illustration with id {attached.illustration_id}"):
            QuestionService.read_illustration(attached.illustration_id)
        with pytest.raises(IllustrationNotFoundError):
            QuestionService.remove_illustration(attached.illustration_id)

    def test_a_remove_that_fails_keeps_the_row_and_the_file(self) -> None:
        attached = QuestionService.attach_illustration(a_question(), JPEG, uploaded_by="teacher")
        with pytest.raises(RuntimeError, match="refused the illustration row"), refused_flush("deleted"):
            QuestionService.remove_illustration(attached.illustration_id)
        assert [row.id for row in stored_rows()] == [attached.illustration_id] and stored_keys() == [attached.file_key]
        assert QuestionService.read_illustration(attached.illustration_id) == JPEG

    def test_a_url_is_given_for_an_illustration_only(self) -> None:
        attached = QuestionService.attach_illustration(a_question(), PNG, uploaded_by="teacher")
        assert QuestionService.illustration_url(attached.illustration_id, expires_in=60)
        with pytest.raises(IllustrationNotFoundError):
            QuestionService.illustration_url(attached.illustration_id + 1)

    def test_a_question_with_an_illustration_cannot_be_deleted_from_under_it(self) -> None:
        attached = QuestionService.attach_illustration(a_question(), PNG, uploaded_by="teacher")
        with pytest.raises(DatabaseIntegrityError), InfrastructureService.get_database_session() as db:
            QuestionRepository(db).hard_delete(attached.question_id)
        QuestionService.remove_question(attached.question_id)  # a removal keeps the row, so its illustrations stay
        assert QuestionService.read_illustration(attached.illustration_id) == PNG
        assert QuestionService.illustrations(attached.question_id) == [attached]
