"""Images attached to questions: each file is saved in the module's storage in the transaction that writes its row."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from modules.content_creation.domain.illustration import (
    IMAGE_TYPES,
    check_declared_size,
    check_id,
    check_image,
    check_uploaded_by,
    illustration_key,
)
from modules.content_creation.infrastructure.models import IllustrationRecord, IllustrationRepository, QuestionRecord
from modules.content_creation.module_api.errors import IllustrationNotFoundError, QuestionNotFoundError
from modules.content_creation.module_api.illustration import Illustration
from modules.content_creation.settings import MODULE, current
from modules.infrastructure.module_api import DatabaseSession, FileStorage, FileTooLargeError, InfrastructureService


def attach(question_id: int, image: object, uploaded_by: str, size: int | None) -> Illustration:
    """Save ``image`` and insert its row in one transaction: a failure anywhere leaves neither."""
    question_id = check_id(question_id, "question_id")
    uploaded_by = check_uploaded_by(uploaded_by)
    check_image(image)
    limit = image_limit()
    declared = check_declared_size(size)
    if declared is not None and declared > limit:
        raise FileTooLargeError(f"The image is declared as {declared:,} bytes; at most {limit:,} are allowed; nothing was read")
    with InfrastructureService.get_database_session() as db:
        _hold_question(db, question_id)
        stored = files().save(
            illustration_key(question_id), image, session=db, metadata={"uploaded-by": uploaded_by},
            allowed_types=IMAGE_TYPES, max_size=limit,
        )
        if declared is not None and stored.size != declared:
            raise ValueError(f"The image was declared as {declared:,} bytes but {stored.size:,} arrived; nothing was kept")
        record = IllustrationRepository(db).create(
            question_id=question_id, file_key=stored.key, sha256=stored.sha256, size=stored.size,
            content_type=stored.content_type, uploaded_by=uploaded_by,
        )
        return _illustration(record)


def of_question(question_id: int) -> list[Illustration]:
    """The question's illustrations, oldest first (none for a question that has none or does not exist)."""
    question_id = check_id(question_id, "question_id")
    with InfrastructureService.get_database_session() as db:
        rows = db.scalars(select(IllustrationRecord).where(IllustrationRecord.question_id == question_id).order_by(IllustrationRecord.id))
        return [_illustration(row) for row in rows]


def file_key(illustration_id: int) -> str:
    """The key of the illustration's file; ``IllustrationNotFoundError`` when there is no such illustration."""
    illustration_id = check_id(illustration_id, "illustration_id")
    with InfrastructureService.get_database_session() as db:
        key = db.scalar(select(IllustrationRecord.file_key).where(IllustrationRecord.id == illustration_id))
    if key is None:
        raise IllustrationNotFoundError(illustration_id)
    return str(key)


def download_url(illustration_id: int, expires_in: float) -> str:
    return files().download_url(file_key(illustration_id), expires_in=expires_in)


def open_file(illustration_id: int) -> Iterator[bytes]:
    return files().open(file_key(illustration_id))


def remove(illustration_id: int) -> None:
    """Delete the row; the file goes once that commits (a failed commit keeps both)."""
    illustration_id = check_id(illustration_id, "illustration_id")
    with InfrastructureService.get_database_session() as db:
        repository = IllustrationRepository(db)
        record = repository.get_by_id(illustration_id)
        if record is None:
            raise IllustrationNotFoundError(illustration_id)
        files().delete(record.file_key, session=db)
        repository.delete(record)


def files() -> FileStorage:
    """The module's own namespace of the file storage."""
    return InfrastructureService.get_file_storage(MODULE)


def image_limit() -> int:
    """``CONTENT_CREATION_MAX_IMAGE_BYTES`` (10 MiB), or ``STORAGE_MAX_FILE_SIZE`` when that is lower: the storage
    takes no per-call limit above it."""
    own: int = current().max_image_bytes
    return min(own, InfrastructureService.get_config().storage.max_file_size)


def _hold_question(db: DatabaseSession, question_id: int) -> None:
    """``QuestionNotFoundError`` (also for a removed question) before any byte is read; on PostgreSQL the row is held
    (FOR SHARE) until the commit, so the question cannot be removed or deleted under the new illustration."""
    live = (QuestionRecord.id == question_id, QuestionRecord.deleted_at.is_(None))  # a removed question takes none
    held = select(QuestionRecord.id).where(*live).with_for_update(read=True)  # FOR SHARE: a removal (an UPDATE) waits
    if db.scalar(held) is None:
        raise QuestionNotFoundError(question_id)


def _illustration(record: IllustrationRecord) -> Illustration:
    return Illustration(
        record.id, record.question_id, record.file_key, record.sha256, record.size,
        record.content_type, record.uploaded_by, record.created_at,
    )
