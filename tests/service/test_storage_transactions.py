"""Files in step with the database: a save undone by a rollback (of its savepoint too), a delete done only after the
commit, a replacement by another writer left alone, and one hook per session however many transactions it runs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.infrastructure.storage.transaction_files import pending_files
from modules.infrastructure.module_api import InfrastructureService, StorageError
from modules.infrastructure.module_api.testing import FakeInfrastructure, fake_infrastructure
from tests.service.test_import_boundary import loaded_drivers

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


def plan_ids() -> list[int]:
    with InfrastructureService.get_database_session(read_only=True) as db:
        return list(db.execute(text("SELECT id FROM plans ORDER BY id")).scalars())


@pytest.mark.parametrize("row_first", [True, False], ids=["after a row", "as the first statement"])
def test_a_file_saved_in_a_savepoint_that_rolls_back_is_removed_and_the_transaction_goes_on(row_first: bool) -> None:
    files = InfrastructureService.get_file_storage("lessons")
    with InfrastructureService.get_database_session() as db:
        if row_first:
            files.save("plans/10.pdf", PDF, session=db)
            db.execute(text("INSERT INTO plans (id, file_key) VALUES (10, 'plans/10.pdf')"))
        savepoint = db.begin_nested()
        files.save("plans/11.pdf", PDF, session=db)
        db.execute(text("INSERT INTO plans (id, file_key) VALUES (11, 'plans/11.pdf')"))
        savepoint.rollback()
        assert not files.exists("plans/11.pdf")  # at once, not when the transaction ends
    assert plan_ids() == ([10] if row_first else [])
    assert files.exists("plans/10.pdf") is row_first and not files.exists("plans/11.pdf")


def test_a_released_savepoint_hands_its_file_to_the_transaction_around_it() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    with InfrastructureService.get_database_session() as db:
        db.execute(text("INSERT INTO plans (id, file_key) VALUES (20, 'plans/20.pdf')"))
        with db.begin_nested():
            files.save("plans/20.pdf", PDF, session=db)
    assert files.read("plans/20.pdf") == PDF
    with pytest.raises(RuntimeError), InfrastructureService.get_database_session() as db:
        db.execute(text("INSERT INTO plans (id, file_key) VALUES (21, 'plans/21.pdf')"))
        with db.begin_nested():
            files.save("plans/21.pdf", PDF, session=db)
        assert files.exists("plans/21.pdf")
        raise RuntimeError("the request failed after the savepoint")
    assert not files.exists("plans/21.pdf") and plan_ids() == [20]


def test_savepoints_inside_savepoints_each_take_back_only_their_own_files() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    with InfrastructureService.get_database_session() as db:
        db.execute(text("SELECT 1"))
        outer = db.begin_nested()
        files.save("plans/30.pdf", PDF, session=db)
        with db.begin_nested():
            files.save("plans/31.pdf", PDF, session=db)  # released into ``outer``
        inner = db.begin_nested()
        files.save("plans/32.pdf", PDF, session=db)
        inner.rollback()
        assert files.exists("plans/30.pdf") and files.exists("plans/31.pdf") and not files.exists("plans/32.pdf")
        outer.rollback()
        assert not files.exists("plans/30.pdf") and not files.exists("plans/31.pdf")
        with db.begin_nested():
            files.save("plans/33.pdf", PDF, session=db)
    assert [f.key for f in files.list("plans/").files] == ["plans/33.pdf"]


def test_a_delete_in_a_savepoint_that_rolls_back_is_dropped_and_one_released_waits_for_the_commit() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    files.save("plans/40.pdf", PDF)
    files.save("plans/41.pdf", PDF)
    with InfrastructureService.get_database_session() as db:
        db.execute(text("SELECT 1"))
        savepoint = db.begin_nested()
        files.delete("plans/40.pdf", session=db)
        savepoint.rollback()
        with db.begin_nested():
            files.delete("plans/41.pdf", session=db)
        assert files.exists("plans/41.pdf")  # released, but the transaction has not committed yet
    assert files.exists("plans/40.pdf") and not files.exists("plans/41.pdf")


def test_many_transactions_and_savepoints_on_one_session_leave_one_hook_and_nothing_pending() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    db = InfrastructureService.get_database_session()
    for number in range(60):
        db.execute(text("SELECT 1"))
        files.save(f"plans/many/{number}.pdf", PDF, session=db)
        with db.begin_nested():
            files.delete(f"plans/many/{number}.pdf", session=db)
        db.commit() if number % 2 else db.rollback()
    hooks = (len(db.session.dispatch.after_transaction_end), len(db.session.dispatch.after_commit))
    waiting = len(pending_files(db.session))
    db.close()
    assert hooks == (1, 1), f"{hooks} after_transaction_end/after_commit listeners on the session"
    assert waiting == 0
    assert files.list("plans/many/").files == ()  # even saves rolled back, odd ones deleted at their commit


def test_a_rollback_leaves_the_file_another_writer_saved_under_the_key_since(caplog: pytest.LogCaptureFixture) -> None:
    files = InfrastructureService.get_file_storage("lessons")
    db = InfrastructureService.get_database_session()
    files.save("plans/50.pdf", PDF, session=db)
    theirs = files.save("plans/50.pdf", b"%PDF-1.7 another writer's plan")  # no session: replaces it at once
    with caplog.at_level(logging.WARNING):
        db.close()
    assert files.read("plans/50.pdf") == b"%PDF-1.7 another writer's plan" and files.info("plans/50.pdf") == theirs
    assert "'plans/50.pdf' of 'lessons' saved in a transaction that did not commit was replaced" in caplog.text


def test_an_action_that_fails_after_the_commit_is_logged_not_raised(
    fakes: FakeInfrastructure, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    files = InfrastructureService.get_file_storage("lessons")
    files.save("plans/60.pdf", PDF)

    def broken_delete(namespace: str, key: str) -> bool:
        raise StorageError("the storage is unreachable")

    with caplog.at_level(logging.ERROR), InfrastructureService.get_database_session() as db:
        db.execute(text("INSERT INTO plans (id, file_key) VALUES (60, NULL)"))
        files.delete("plans/60.pdf", session=db)
        monkeypatch.setattr(fakes.storage, "delete", broken_delete)
    assert plan_ids() == [60] and files.exists("plans/60.pdf")
    assert "the file may need removing by hand" in caplog.text and "the storage is unreachable" in caplog.text


def test_saving_and_deleting_without_a_session_loads_no_sqlalchemy(tmp_path: Path) -> None:
    code = "f = InfrastructureService.get_file_storage('lessons'); f.save('a.txt', b'hello'); assert f.delete('a.txt')"
    assert "sqlalchemy" not in loaded_drivers(code, tmp_path, STORAGE_URL=str(tmp_path / "files"))
