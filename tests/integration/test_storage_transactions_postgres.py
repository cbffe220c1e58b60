"""Through the facade, configured by environment variables as users write them, on the real PostgreSQL:
a row and its file stay together on the local disk and on an S3-compatible server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from modules.infrastructure.module_api import DatabaseError, InfrastructureService, StorageError
from tests.integration.postgres_scratch import scratch_database, use_postgres
from tests.integration.private_s3 import REGION, PrivateS3
from tests.integration.s3_backends import new_bucket

PDF = b"%PDF-1.7\n" + b"a lesson plan " * 1000


@pytest.fixture(params=["local disk", "s3"])
def storage_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "local disk":
        return {"STORAGE_URL": str(tmp_path / "files")}
    server: PrivateS3 = request.getfixturevalue("private_s3")
    return {"STORAGE_URL": f"s3://{new_bucket(server)}/app", "STORAGE_ENDPOINT_URL": server.endpoint_url, "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": server.access_key_id, "AWS_SECRET_ACCESS_KEY": server.secret_access_key}


@pytest.fixture
def plans(clean_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str, storage_settings: dict[str, str]) -> Iterator[None]:
    """A scratch database with a ``plans`` table, and the facade on it and on the storage."""
    with scratch_database(postgres_url, "infra_files") as url:
        use_postgres(monkeypatch, url, **storage_settings)
        with InfrastructureService.get_database_session() as db:
            db.execute(text("CREATE TABLE plans (id integer PRIMARY KEY, file_key text NOT NULL, sha256 text NOT NULL)"))
        yield
        InfrastructureService.reset()


def rows() -> list[tuple[int, str]]:
    with InfrastructureService.get_database_session(read_only=True) as db:
        return [(r.id, r.file_key) for r in db.execute(text("SELECT id, file_key FROM plans ORDER BY id"))]


def add_plan(plan_id: int, data: bytes, fail: bool = False, key: str | None = None) -> str:
    """Save the file and insert its row in one transaction, failing after both when asked."""
    files = InfrastructureService.get_file_storage("lessons")
    with InfrastructureService.get_database_session() as db:
        stored = files.save(key or f"plans/{plan_id}.pdf", data, session=db, metadata={"plan": str(plan_id)})
        db.execute(text("INSERT INTO plans VALUES (:id, :key, :sha)"), {"id": plan_id, "key": stored.key, "sha": stored.sha256})
        if fail:
            raise RuntimeError("the request failed after the insert")
        return stored.key


@pytest.mark.usefixtures("plans")
def test_a_committed_row_has_its_file_and_a_rolled_back_one_leaves_neither() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    key = add_plan(1, PDF)
    with pytest.raises(RuntimeError):
        add_plan(2, PDF, fail=True)
    assert rows() == [(1, key)]
    assert files.read(key) == PDF and dict(files.info(key).metadata) == {"plan": "1"}
    assert not files.exists("plans/2.pdf") and [f.key for f in files.list("plans/").files] == [key]


@pytest.mark.usefixtures("plans")
def test_a_failing_statement_rolls_back_the_file_too() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    add_plan(1, PDF)
    with pytest.raises(DatabaseError, match="(?i)duplicate key|unique"):
        add_plan(1, PDF, key="plans/again.pdf")  # the same id: PostgreSQL refuses the row after the file is saved
    assert not files.exists("plans/again.pdf") and files.stats().files == 1
    with pytest.raises(StorageError, match="takes a new key"):
        add_plan(2, PDF, key="plans/1.pdf")  # a save with a session never replaces a file: refused before any byte
    assert files.read("plans/1.pdf") == PDF and rows() == [(1, "plans/1.pdf")]


@pytest.mark.usefixtures("plans")
def test_a_row_and_its_file_are_deleted_together_once_the_delete_commits() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    key = add_plan(1, PDF)
    with pytest.raises(RuntimeError), InfrastructureService.get_database_session() as db:
        db.execute(text("DELETE FROM plans WHERE id = 1"))
        files.delete(key, session=db)
        raise RuntimeError("changed my mind")
    assert rows() == [(1, key)] and files.exists(key)
    with InfrastructureService.get_database_session() as db:
        db.execute(text("DELETE FROM plans WHERE id = 1"))
        files.delete(key, session=db)
        assert files.exists(key)  # not before the commit
    assert rows() == [] and not files.exists(key)


@pytest.mark.usefixtures("plans")
def test_a_savepoint_that_rolls_back_takes_its_file_with_it_and_one_released_keeps_its_file_until_the_outcome() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    insert = text("INSERT INTO plans VALUES (:id, :key, :sha)")
    with InfrastructureService.get_database_session() as db:
        first = files.save("plans/1.pdf", PDF, session=db)
        db.execute(insert, {"id": 1, "key": first.key, "sha": first.sha256})
        with pytest.raises(DatabaseError, match="(?i)duplicate key|unique"), db.begin_nested():
            again = files.save("plans/again.pdf", PDF, session=db)
            db.execute(insert, {"id": 1, "key": again.key, "sha": again.sha256})  # PostgreSQL refuses it: the savepoint rolls back
        assert not files.exists("plans/again.pdf")
        with db.begin_nested():
            second = files.save("plans/2.pdf", PDF, session=db)
            db.execute(insert, {"id": 2, "key": second.key, "sha": second.sha256})
        with db.begin_nested():
            files.delete(first.key, session=db)
            db.execute(text("DELETE FROM plans WHERE id = 1"))
        assert files.exists(first.key)  # released, the delete still waits for the commit
    assert rows() == [(2, "plans/2.pdf")] and [f.key for f in files.list("plans/").files] == ["plans/2.pdf"]
    with pytest.raises(RuntimeError), InfrastructureService.get_database_session() as db:
        with db.begin_nested():
            third = files.save("plans/3.pdf", PDF, session=db)
            db.execute(insert, {"id": 3, "key": third.key, "sha": third.sha256})
        raise RuntimeError("the request failed after the savepoint was released")
    assert rows() == [(2, "plans/2.pdf")] and not files.exists("plans/3.pdf")


@pytest.mark.usefixtures("plans")
def test_a_rollback_leaves_the_file_another_writer_put_under_the_key_meanwhile() -> None:
    files = InfrastructureService.get_file_storage("lessons")
    theirs = PDF + b"another writer's version"
    with pytest.raises(RuntimeError), InfrastructureService.get_database_session() as db:
        files.save("plans/1.pdf", PDF, session=db)
        files.save("plans/1.pdf", theirs)  # no session: replaces the file at once
        raise RuntimeError("the request failed")
    assert files.read("plans/1.pdf") == theirs
