"""content_creation's illustrations on the real stack: a scratch PostgreSQL database and the local-disk storage.

The same promises as on the shipped fakes (``IllustrationContract``), plus what only the real stack
shows: the file on disk under the module's folder, and the question held while an image streams in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from modules.content_creation.module_api import Illustration, QuestionService
from modules.content_creation.tests.contracts.illustration_contract import IllustrationContract, a_question, assert_nothing_kept
from modules.content_creation.tests.images import PNG
from modules.infrastructure.module_api import DatabaseConnectionError
from tests.integration.postgres_scratch import execute, migrated_scratch_facade


class TestIllustrationsOnPostgresAndTheLocalDisk(IllustrationContract):
    @pytest.fixture(autouse=True)
    def stack(self, clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> Iterator[str]:
        """The facade on a migrated scratch database, its files under ``<tmp>/files``; yields the database URL."""
        files = str(clean_env / "files")
        with migrated_scratch_facade(monkeypatch, postgres_url, "content_illustrations", STORAGE_URL=files) as url:
            yield url

    def test_the_file_is_on_disk_under_the_module_s_folder(self, clean_env: Path) -> None:
        attached = QuestionService.attach_illustration(a_question(), PNG, uploaded_by="teacher")
        assert (clean_env / "files" / "content_creation" / attached.file_key).read_bytes() == PNG
        assert QuestionService.illustration_url(attached.illustration_id).startswith("/files/")

    def test_the_question_cannot_be_deleted_or_removed_while_an_image_streams_in(self, stack: str) -> None:
        question_id = a_question()
        streaming, finish = threading.Event(), threading.Event()
        outcome: list[Illustration] = []

        def slow_image() -> Iterator[bytes]:
            yield PNG[:1024]
            streaming.set()
            finish.wait(30)
            yield PNG[1024:]

        def attach() -> None:
            outcome.append(QuestionService.attach_illustration(question_id, slow_image(), uploaded_by="teacher"))

        uploader = threading.Thread(target=attach)
        uploader.start()
        try:
            assert streaming.wait(30)
            with pytest.raises(OperationalError, match="lock timeout"):
                execute(stack, "SET lock_timeout = '300ms'", f"DELETE FROM content_questions WHERE id = {question_id}")
            removal = f"UPDATE content_questions SET deleted_at = now() WHERE id = {question_id}"  # remove_question's
            with pytest.raises(OperationalError, match="lock timeout"):
                execute(stack, "SET lock_timeout = '300ms'", removal)
        finally:
            finish.set()
            uploader.join(30)
        [attached] = outcome
        assert QuestionService.read_illustration(attached.illustration_id) == PNG

    def test_a_connection_lost_after_the_save_leaves_no_file(self, stack: str) -> None:
        question_id = a_question()

        def image_then_lose_the_connection() -> Iterator[bytes]:
            yield PNG
            # The attaching transaction (idle while the image streams) loses its server process.
            execute(stack, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND state = 'idle in transaction'")

        with pytest.raises(DatabaseConnectionError):
            QuestionService.attach_illustration(question_id, image_then_lose_the_connection(), uploaded_by="teacher")
        assert_nothing_kept()
