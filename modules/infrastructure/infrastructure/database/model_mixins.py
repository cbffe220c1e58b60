"""Column mixins every model repeats: primary keys, database-set UTC timestamps, soft delete, optimistic locking.

Mix them in before ``Base``: ``class Lesson(UUIDPrimaryKeyMixin, TimestampMixin, Base)``. Each column is
ordinary, so Alembic autogenerate writes it (and its server default) into the module's own migration.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Integer, Uuid, func
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator


class _SQLiteUTCText(sqlite.DATETIME):
    """UTC text as ``CURRENT_TIMESTAMP`` writes it (``2026-12-04 10:00:00``), with ``.ffffff`` only when there are
    microseconds: database-set and Python-set values then compare as text in time order, as cursor pages and
    range filters need (SQLAlchemy's own format always adds ``.000000``, which sorts after the same second)."""

    def bind_processor(self, dialect: Dialect) -> Any:
        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            whole = (
                f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"
            )
            return f"{whole}.{value.microsecond:06d}" if value.microsecond else whole

        return process


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend: ``timestamptz`` on PostgreSQL, UTC text on SQLite.

    Naive values are taken as UTC; values read back are always aware and in UTC, whatever the server's time zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteUTCText())  # type: ignore[no-untyped-call]
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        # SQLite keeps text, and CURRENT_TIMESTAMP writes UTC without an offset: store the same form.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UUIDPrimaryKeyMixin:
    """An ``id`` primary key holding a random UUID (version 4), set in Python so it is known before the flush."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class IntegerPrimaryKeyMixin:
    """An ``id`` primary key the database numbers: ``BIGSERIAL`` (a sequence) on PostgreSQL, ``INTEGER`` rowid on SQLite.

    An id inserted by hand on PostgreSQL does not move the sequence: later numbered rows may collide with it."""

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


class TimestampMixin:
    """``created_at`` and ``updated_at``, set by the database clock (``now()``) and read back as aware UTC.

    ``updated_at`` is set again by every ORM or Core ``UPDATE`` of the row. PostgreSQL's ``now()`` is the
    transaction's start; SQLite's ``CURRENT_TIMESTAMP`` has whole seconds.
    """

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, server_default=func.now(), onupdate=func.now(), nullable=False
    )


class SoftDeleteMixin:
    """``deleted_at``: ``BaseRepository`` hides rows where it is set (unless ``include_deleted=True``),
    ``delete`` sets it, ``restore`` clears it and ``hard_delete`` removes the row."""

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, default=None, index=True)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class VersionedMixin:
    """A ``version`` column for optimistic locking: each ORM update checks and increments it, and an update of a
    row another transaction changed since it was read raises ``DatabaseConflictError`` from the flush or commit.

    It sets ``__mapper_args__``; a model that needs its own adds ``"version_id_col": cls.version`` to them.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


def soft_deletes(model: type) -> bool:
    """Whether ``model`` has ``SoftDeleteMixin``'s ``deleted_at``: its deletes keep the row."""
    return issubclass(model, SoftDeleteMixin)
