"""Driver errors through the facade on SQLite, wherever a statement runs: plain sessions, ``Query``
methods, lazy loads, and a database file that cannot be written."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, text
from sqlalchemy.exc import PendingRollbackError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from modules.infrastructure.module_api import (
    DatabaseError,
    DatabaseIntegrityError,
    DatabaseQueryError,
    DatabaseReadOnlyError,
    InfrastructureService,
)

session = InfrastructureService.get_database_session


class Scratch(DeclarativeBase):
    """Models of these tests only: kept off the shared ``Base``, whose tables the migrations own."""


class Shelf(Scratch):
    __tablename__ = "seam_shelves"
    id: Mapped[int] = mapped_column(primary_key=True)
    volumes: Mapped[list[Volume]] = relationship(lazy="select")


class Volume(Scratch):
    __tablename__ = "seam_volumes"  # never created: loading it fails
    id: Mapped[int] = mapped_column(primary_key=True)
    shelf_id: Mapped[int] = mapped_column(ForeignKey("seam_shelves.id"))


MISSING = Table("seam_no_such_table", MetaData(), Column("id", Integer, primary_key=True))


@pytest.fixture(autouse=True)
def memory_db(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    with session() as db:
        Scratch.metadata.create_all(db.connection(), tables=[Shelf.__table__])
        db.add(Shelf(id=1))
    yield


def test_a_query_method_on_a_plain_session_raises_a_query_error() -> None:
    db = session()
    try:
        with pytest.raises(DatabaseQueryError, match="no such table: seam_no_such_table") as raised:
            db.query(MISSING).all()
        assert isinstance(raised.value.__cause__, sqlite3.OperationalError)  # chained to the driver's error
        with pytest.raises(DatabaseQueryError):
            db.query(MISSING).count()
    finally:
        db.close()


def test_a_lazy_load_on_a_plain_session_raises_a_query_error() -> None:
    db = session()
    try:
        shelf = db.get(Shelf, 1)
        with pytest.raises(DatabaseQueryError, match="seam_volumes"):
            shelf.volumes  # noqa: B018  # the lazy load's SELECT runs here
    finally:
        db.close()


def test_committing_after_a_failed_flush_on_a_plain_session_is_a_database_error() -> None:
    db = session()
    try:
        db.add_all([Shelf(id=2), Shelf(id=2)])
        with pytest.raises(DatabaseIntegrityError):
            db.flush()
        with pytest.raises(DatabaseError, match="rolled back") as raised:
            db.commit()  # SQLAlchemy's PendingRollbackError (no statement runs) until rollback() is called
        assert isinstance(raised.value.__cause__, PendingRollbackError)
    finally:
        db.close()


def test_a_database_file_that_cannot_be_written_is_a_read_only_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "frozen.db"
    sqlite3.connect(path).close()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///file:{path}?mode=ro&uri=true")
    InfrastructureService.reset()
    with pytest.raises(DatabaseReadOnlyError, match="DATABASE_URL") as raised:
        with session() as db:
            db.execute(text("CREATE TABLE t (id integer)"))
    assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
    assert raised.value.__cause__.sqlite_errorcode & 0xFF == 8  # SQLITE_READONLY
