"""content_creation's illustrations on the shipped fakes (in-memory SQLite, ``MemoryStorage``), and the arguments they refuse."""

from __future__ import annotations

import io
from datetime import timedelta
from collections.abc import Iterator

import pytest

from modules.content_creation.module_api import IllustrationNotFoundError, QuestionService
from modules.content_creation.tests.contracts.illustration_contract import IllustrationContract, a_question, assert_nothing_kept
from modules.content_creation.tests.images import PNG
from modules.infrastructure.module_api import ContentTypeNotAllowedError, FileTooLargeError, StorageError
from modules.infrastructure.module_api.testing import FakeInfrastructure, fake_infrastructure


class TestIllustrationsOnTheFakes(IllustrationContract):
    @pytest.fixture(autouse=True)
    def stack(self) -> Iterator[FakeInfrastructure]:
        with fake_infrastructure() as fakes:
            yield fakes

    def test_the_file_is_in_the_module_s_namespace_of_the_fake_storage(self, stack: FakeInfrastructure) -> None:
        attached = QuestionService.attach_illustration(a_question(), PNG, uploaded_by="teacher")
        assert stack.storage.stats().by_namespace == {"content_creation": (1, len(PNG))}
        url = QuestionService.illustration_url(attached.illustration_id)
        assert url.startswith(f"memory://content_creation/{attached.file_key}?expires=")

    def test_created_at_is_read_back_as_aware_utc_on_sqlite(self) -> None:
        question_id = a_question()
        QuestionService.attach_illustration(question_id, PNG, uploaded_by="teacher")
        (listed,) = QuestionService.illustrations(question_id)
        assert listed.created_at.utcoffset() == timedelta(0)


@pytest.fixture
def fakes() -> Iterator[FakeInfrastructure]:
    with fake_infrastructure() as installed:
        yield installed


class NeverRead:
    """An upload whose reading fails the test: a refused declared size stops it before its first byte."""

    def __iter__(self) -> Iterator[bytes]:
        raise AssertionError("the upload was read although its declared size is refused")


@pytest.mark.parametrize("question_id", [0, -1, 2**31, True, 1.0, "1", None])
def test_a_question_id_that_is_not_a_row_id_is_refused(fakes: FakeInfrastructure, question_id: object) -> None:
    with pytest.raises(ValueError, match="question_id must be a whole number from 1"):
        QuestionService.attach_illustration(question_id, PNG, uploaded_by="teacher")  # type: ignore[arg-type]
    assert_nothing_kept()


@pytest.mark.parametrize(
    ("uploaded_by", "problem"),
    [("", "1 to 100 characters, got 0"), ("   ", "got 0"), ("x" * 101, "got 101"), ("a\nb", "printable"), (7, "must be text"), (None, "NoneType")],
)
def test_an_uploader_that_is_empty_too_long_or_not_text_is_refused(fakes: FakeInfrastructure, uploaded_by: object, problem: str) -> None:
    question_id = a_question()
    with pytest.raises(ValueError, match=problem):
        QuestionService.attach_illustration(question_id, PNG, uploaded_by=uploaded_by)  # type: ignore[arg-type]
    assert_nothing_kept()


@pytest.mark.parametrize(
    ("image", "problem"),
    [(b"", "the image is empty"), (bytearray(), "the image is empty"), ("\x89PNG", "not str"), (42, "not int"), (None, "not NoneType"), ({"a": PNG}, "not dict")],
)
def test_an_image_that_is_empty_or_not_bytes_is_refused(fakes: FakeInfrastructure, image: object, problem: str) -> None:
    question_id = a_question()
    with pytest.raises(ValueError, match=problem):
        QuestionService.attach_illustration(question_id, image, uploaded_by="teacher")
    assert_nothing_kept()


@pytest.mark.parametrize("image", [[], io.BytesIO(b""), iter([b"", b""])])
def test_an_empty_stream_is_no_image(fakes: FakeInfrastructure, image: object) -> None:
    with pytest.raises(ContentTypeNotAllowedError, match="application/octet-stream"):
        QuestionService.attach_illustration(a_question(), image, uploaded_by="teacher")
    assert_nothing_kept()


def test_a_stream_of_text_chunks_is_refused(fakes: FakeInfrastructure) -> None:
    with pytest.raises(StorageError, match="a chunk was str"):
        QuestionService.attach_illustration(a_question(), ["\x89PNG"], uploaded_by="teacher")
    assert_nothing_kept()


@pytest.mark.parametrize("size", [2**40, 10 * 1024 * 1024 + 1])
def test_a_huge_declared_size_is_refused_before_a_byte_is_read(fakes: FakeInfrastructure, size: int) -> None:
    with pytest.raises(FileTooLargeError, match=f"declared as {size:,} bytes; at most 10,485,760"):
        QuestionService.attach_illustration(a_question(), NeverRead(), uploaded_by="teacher", size=size)
    assert_nothing_kept()


@pytest.mark.parametrize("size", [0, -5, True, "100", 1.5])
def test_a_declared_size_that_is_not_a_length_is_refused(fakes: FakeInfrastructure, size: object) -> None:
    with pytest.raises(ValueError, match="size must be the image's length in bytes"):
        QuestionService.attach_illustration(a_question(), PNG, uploaded_by="teacher", size=size)  # type: ignore[arg-type]
    assert_nothing_kept()


def test_a_lower_storage_limit_applies_to_illustrations_too() -> None:
    with fake_infrastructure(environment={"STORAGE_MAX_FILE_SIZE": "1000"}):
        question_id = a_question()
        with pytest.raises(FileTooLargeError, match="1,000-byte limit"):
            QuestionService.attach_illustration(question_id, PNG, uploaded_by="teacher")
        with pytest.raises(FileTooLargeError, match="at most 1,000"):
            QuestionService.attach_illustration(question_id, NeverRead(), uploaded_by="teacher", size=1001)
        assert_nothing_kept()


def test_images_refused_by_the_storage_settings_are_refused_here_too() -> None:
    with fake_infrastructure(environment={"STORAGE_ALLOWED_TYPES": "image/jpeg"}):
        with pytest.raises(ContentTypeNotAllowedError, match="image/png"):
            QuestionService.attach_illustration(a_question(), PNG, uploaded_by="teacher")
        assert_nothing_kept()


@pytest.mark.parametrize("call", ["illustration_url", "read_illustration", "open_illustration", "remove_illustration"])
@pytest.mark.parametrize("illustration_id", [0, -3, False, "1", None])
def test_an_illustration_id_that_is_not_a_row_id_is_refused(fakes: FakeInfrastructure, call: str, illustration_id: object) -> None:
    with pytest.raises(ValueError, match="illustration_id must be a whole number from 1"):
        getattr(QuestionService, call)(illustration_id)


@pytest.mark.parametrize("call", ["illustration_url", "read_illustration", "open_illustration", "remove_illustration"])
def test_an_unknown_illustration_is_not_found(fakes: FakeInfrastructure, call: str) -> None:
    with pytest.raises(IllustrationNotFoundError, match="No illustration with id 12"):
        getattr(QuestionService, call)(12)


@pytest.mark.parametrize("expires_in", [0, -1, 8 * 24 * 3600, float("nan"), "600"])
def test_a_url_lifetime_out_of_range_is_refused(fakes: FakeInfrastructure, expires_in: object) -> None:
    attached = QuestionService.attach_illustration(a_question(), PNG, uploaded_by="teacher")
    with pytest.raises(StorageError, match="expires_in is seconds from 1"):
        QuestionService.illustration_url(attached.illustration_id, expires_in=expires_in)  # type: ignore[arg-type]


def test_a_question_id_must_be_valid_to_list_its_illustrations(fakes: FakeInfrastructure) -> None:
    with pytest.raises(ValueError, match="question_id"):
        QuestionService.illustrations(-1)
    assert QuestionService.illustrations(a_question()) == []
