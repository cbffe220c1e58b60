"""Files in step with the database: a save undone by a rollback, a delete done only after the commit."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import InfrastructureService, StorageError
from modules.infrastructure.module_api.testing import fake_infrastructure

PDF = b"%PDF-1.7 a lesson plan"


@pytest.fixture(autouse=True)
def fakes():
    with fake_infrastructure() as installed:
        with InfrastructureService.get_database_session() as db:
            db.execute(text("CREATE TABLE plans (id INTEGER PRIMARY KEY, file_key TEXT)"))
        yield installed


def test_a_file_saved_in_a_transaction_that_commits_stays_with_its_row() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    with InfrastructureService.get_database_session() as db:
        stored = files.save("plans/1.pdf", PDF, session=db)
        db.execute(text("INSERT INTO plans (id, file_key) VALUES (1, :k)"), {"k": stored.key})
    assert files.read("plans/1.pdf") == PDF


def test_a_file_saved_in_a_transaction_that_rolls_back_is_removed() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    with pytest.raises(RuntimeError), InfrastructureService.get_database_session() as db:
        files.save("plans/2.pdf", PDF, session=db)
        db.execute(text("INSERT INTO plans (id, file_key) VALUES (2, 'plans/2.pdf')"))
        raise RuntimeError("the row could not be written")
    assert not files.exists("plans/2.pdf")
    with InfrastructureService.get_database_session(read_only=True) as db:
        assert db.execute(text("SELECT count(*) FROM plans")).scalar() == 0


def test_a_session_closed_without_commit_removes_the_file_too() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    db = InfrastructureService.get_database_session()
    files.save("plans/3.pdf", PDF, session=db)
    db.close()
    assert not files.exists("plans/3.pdf")


def test_a_delete_in_a_transaction_happens_only_once_it_commits() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    files.save("plans/4.pdf", PDF)
    with pytest.raises(RuntimeError), InfrastructureService.get_database_session() as db:
        assert files.delete("plans/4.pdf", session=db) is True
        assert files.exists("plans/4.pdf")  # still there while the transaction runs
        raise RuntimeError("changed my mind")
    assert files.exists("plans/4.pdf")
    with InfrastructureService.get_database_session() as db:
        files.delete("plans/4.pdf", session=db)
        assert files.exists("plans/4.pdf")
    assert not files.exists("plans/4.pdf")


def test_a_save_in_a_transaction_takes_a_new_key() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    files.save("plans/5.pdf", PDF)
    with pytest.raises(StorageError, match="takes a new key"), InfrastructureService.get_database_session() as db:
        files.save("plans/5.pdf", PDF, session=db)
    assert files.read("plans/5.pdf") == PDF


def test_a_later_transaction_of_the_same_session_does_not_undo_an_earlier_commit() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    db = InfrastructureService.get_database_session()
    files.save("plans/6.pdf", PDF, session=db)
    db.commit()
    db.execute(text("SELECT 1"))
    db.rollback()
    db.close()
    assert files.exists("plans/6.pdf")


@pytest.mark.parametrize("session", [object(), "db", 5])
def test_a_session_that_is_not_a_database_session_is_refused_and_nothing_is_kept(session: object) -> None:
    files = InfrastructureService.get_file_storage("lessons")
    with pytest.raises(StorageError, match="get_database_session"):
        files.save("plans/7.pdf", PDF, session=session)
    assert not files.exists("plans/7.pdf")


def test_a_closed_session_is_refused() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    db = InfrastructureService.get_database_session()
    db.close()
    with pytest.raises(StorageError, match="closed"):
        files.save("plans/8.pdf", PDF, session=db)
    assert not files.exists("plans/8.pdf")
