"""Database sessions through the facade, on SQLite: transactions, delegation, repository, pool, errors."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import ForeignKey, String, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.database.error_mapping import PoolFacts, map_database_error
from modules.infrastructure.module_api import (
    Base,
    BaseRepository,
    DatabaseConflictError,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabasePoolExhaustedError,
    DatabaseQueryError,
    DatabaseSession,
    InfrastructureService,
)


class Author(Base):
    __tablename__ = "test_authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    topic: Mapped[str] = mapped_column(String(20), default="general")


class Book(Base):
    __tablename__ = "test_books"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("test_authors.id"))


class AuthorRepository(BaseRepository[Author]):
    model = Author


@pytest.fixture
def memory_db(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The facade on an in-memory SQLite database with the test tables."""
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    with InfrastructureService.get_database_session() as db:
        Base.metadata.create_all(db.connection(), tables=[Author.__table__, Book.__table__])
    yield


pytestmark = pytest.mark.usefixtures("memory_db")


def count_authors() -> int:
    with InfrastructureService.get_database_session() as db:
        return db.execute(text("SELECT count(*) FROM test_authors")).scalar_one()


def test_context_manager_commits_on_success() -> None:
    with InfrastructureService.get_database_session() as db:
        db.add(Author(name="Ada"))
    assert count_authors() == 1


def test_context_manager_rolls_back_on_an_exception_and_reraises_it() -> None:
    with pytest.raises(KeyError):
        with InfrastructureService.get_database_session() as db:
            db.add(Author(name="Ada"))
            db.flush()
            raise KeyError("business rule failed")
    assert count_authors() == 0


def test_attribute_access_goes_to_the_session() -> None:
    db = InfrastructureService.get_database_session()
    try:
        assert db.execute(text("SELECT 1")).scalar() == 1
        assert db.query(Author).count() == 0
        assert db.is_active
    finally:
        db.close()


def test_explicit_commit_style() -> None:
    db = InfrastructureService.get_database_session()
    db.add(Author(name="Grace"))
    db.commit()
    db.close()
    assert count_authors() == 1


def test_connection_id_is_process_unique_on_sqlite() -> None:
    with InfrastructureService.get_database_session() as db:
        assert db.connection_id.startswith("primary/sqlite-")


def test_a_driver_error_leaving_the_block_is_a_database_error() -> None:
    with pytest.raises(DatabaseIntegrityError, match="constraint") as raised:
        with InfrastructureService.get_database_session() as db:
            db.add_all([Author(name="Ada"), Author(name="Ada")])
    assert isinstance(raised.value.__cause__, sqlite3.IntegrityError)  # chained to the driver's own error


def test_foreign_keys_are_enforced() -> None:
    with pytest.raises(DatabaseIntegrityError):
        with InfrastructureService.get_database_session() as db:
            db.add(Book(author_id=999))


def test_bad_sql_is_a_query_error() -> None:
    with pytest.raises(DatabaseQueryError) as raised:
        with InfrastructureService.get_database_session() as db:
            db.execute(text("SELECT * FROM no_such_table"))
    assert "no_such_table" in str(raised.value)


def test_repository_crud() -> None:
    with InfrastructureService.get_database_session() as db:
        repo = AuthorRepository(db)
        ada = repo.create(name="Ada", topic="math")
        repo.create(Author(name="Grace", topic="cs"))
        repo.create(name="Edsger", topic="cs")
        assert ada.id is not None
        assert repo.get_by_id(ada.id) is ada
        assert repo.count() == 3 and repo.count(topic="cs") == 2
        assert [a.name for a in repo.get_all(topic="cs")] == ["Grace", "Edsger"]
        assert [a.name for a in repo.get_all(skip=1, limit=1)] == ["Grace"]
        assert repo.update(ada.id, topic="logic").topic == "logic"
        assert repo.update(12345, topic="x") is None
        assert repo.delete(ada.id) is True and repo.delete(ada.id) is False
    with InfrastructureService.get_database_session(read_only=True) as db:
        assert AuthorRepository(db).count() == 2


def test_repository_rejects_unknown_filters_and_columns() -> None:
    with InfrastructureService.get_database_session() as db:
        repo = BaseRepository(db, model=Author)
        with pytest.raises(DatabaseQueryError, match="no column colour"):
            repo.get_all(colour="red")
        with pytest.raises(DatabaseQueryError, match="no column colour"):
            repo.count(colour="red")
        with pytest.raises(DatabaseQueryError, match="no column age"):
            repo.create(name="x", age=3)
        with pytest.raises(DatabaseQueryError):
            repo.get_all(skip=-1)


@pytest.mark.parametrize(
    "call",
    [
        lambda repo: repo.create(name="Ad\x00a", topic="math"),
        lambda repo: repo.create(Author(name="Ada", topic="ma\x00th")),
        lambda repo: repo.update(repo.create(name="Ada", topic="math"), name="Ad\x00a"),
        lambda repo: repo.get_all(name="Ad\x00a"),
        lambda repo: repo.count(name="Ad\x00a"),
    ],
    ids=["create", "create an entity", "update", "get_all filter", "count filter"],
)
def test_a_nul_character_in_a_text_value_is_a_query_error_naming_the_column(call: object) -> None:
    # PostgreSQL's driver raises a bare ValueError for it; SQLite would store it: refused alike on both.
    with InfrastructureService.get_database_session() as db:
        with pytest.raises(DatabaseQueryError) as raised:
            call(AuthorRepository(db))  # type: ignore[operator]
        db.rollback()
    message = str(raised.value)
    assert message.startswith("Author.") and "holds a NUL character (\\x00) at position 2;" in message
    assert count_authors() == 0


def test_repository_needs_a_model() -> None:
    with InfrastructureService.get_database_session() as db, pytest.raises(DatabaseQueryError, match="needs a model"):
        BaseRepository(db)


def test_naming_convention_names_constraints() -> None:
    from sqlalchemy.schema import CreateTable

    ddl = str(CreateTable(Book.__table__).compile(dialect=sqlite_dialect())) + str(
        CreateTable(Author.__table__).compile(dialect=sqlite_dialect())
    )
    for name in ("pk_test_books", "fk_test_books_author_id_test_authors", "pk_test_authors", "uq_test_authors_name"):
        assert f"CONSTRAINT {name}" in ddl


def test_run_in_transaction_commits_and_returns() -> None:
    result = InfrastructureService.run_in_transaction(lambda db: AuthorRepository(db).create(name="Ada").id)
    assert result == 1 and count_authors() == 1


def test_run_in_transaction_does_not_retry_other_errors() -> None:
    calls = []

    def work(db: DatabaseSession) -> None:
        calls.append(1)
        db.add_all([Author(name="Ada"), Author(name="Ada")])
        db.flush()

    with pytest.raises(DatabaseIntegrityError):
        InfrastructureService.run_in_transaction(work, retries=3)
    assert len(calls) == 1 and count_authors() == 0


def test_run_in_transaction_retries_conflicts_then_gives_up() -> None:
    calls = []

    def work(db: DatabaseSession) -> None:
        calls.append(1)
        db.add(Author(name=f"try-{len(calls)}"))
        orig = sqlite3.OperationalError("database is locked")
        orig.sqlite_errorcode = 5  # SQLITE_BUSY
        raise sa_exc.OperationalError("INSERT", {}, orig)

    with pytest.raises(DatabaseConflictError):
        InfrastructureService.run_in_transaction(work, retries=2)
    assert len(calls) == 3 and count_authors() == 0


def test_pool_stats_for_the_in_memory_engine() -> None:
    stats = InfrastructureService.get_database_stats()
    assert [s.label for s in stats] == ["primary"]


def test_migrations_on_the_in_memory_database() -> None:
    status = InfrastructureService.migrate()
    assert status.at_head and status.current == status.heads
    assert InfrastructureService.migration_status().pending == 0


FACTS = PoolFacts("primary", 5, 10, 30.0)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (sa_exc.TimeoutError("QueuePool limit"), DatabasePoolExhaustedError),
        (sa_exc.OperationalError("connect", {}, psycopg2.OperationalError("Connection refused")), DatabaseConnectionError),
        (sa_exc.OperationalError("SELECT", {}, Exception("x"), connection_invalidated=True), DatabaseConnectionError),
        (sa_exc.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")), DatabaseIntegrityError),
        (sa_exc.ProgrammingError("SELECT", {}, Exception("syntax error")), DatabaseQueryError),
        (sa_exc.DataError("SELECT", {}, Exception("invalid input")), DatabaseQueryError),
        (sa_exc.InterfaceError("SELECT", {}, Exception("cursor closed")), DatabaseError),
        (sa_exc.InvalidRequestError("bad state"), DatabaseError),
        (StaleDataError("UPDATE statement on table 'notes' expected to update 1 row(s); 0 were matched."), DatabaseConflictError),
    ],
)
def test_every_handled_driver_error_maps_to_a_database_error(error: Exception, expected: type) -> None:
    mapped = map_database_error(error, FACTS, Redactor())
    assert type(mapped) is expected


def test_mapping_leaves_other_errors_alone_and_never_shows_a_password() -> None:
    assert isinstance(map_database_error(KeyError("x"), FACTS, Redactor()), KeyError)
    orig = psycopg2.OperationalError('connection to "postgresql://app:hunter2secret@db/app" failed')
    mapped = map_database_error(sa_exc.OperationalError("connect", {}, orig), FACTS, Redactor(["hunter2secret"]))
    assert "hunter2secret" not in str(mapped)
