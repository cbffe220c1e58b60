"""``BaseRepository[T]``: the common queries of a model, on a ``DatabaseSession``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement

from modules.infrastructure.domain.database.cursor import decode_cursor, encode_cursor, query_fingerprint
from modules.infrastructure.domain.database.pages import CursorPage, Page
from modules.infrastructure.domain.database.query import Condition, SortKey, parse_filters, parse_order_by, value_problem
from modules.infrastructure.domain.errors import DatabaseQueryError, NotFoundError
from modules.infrastructure.infrastructure.database.bulk_writes import BulkWrites, check_flag
from modules.infrastructure.infrastructure.database.model_mixins import soft_deletes
from modules.infrastructure.infrastructure.database.orm import Base
from modules.infrastructure.infrastructure.database.query_builder import (
    column_kinds,
    keyset_clause,
    order_clauses,
    where_clause,
)
from modules.infrastructure.infrastructure.database.session import DatabaseSession

MAX_ROWS = 2**63 - 1  # what PostgreSQL's and SQLite's LIMIT and OFFSET take
MAX_PAGE_SIZE = 10_000
T = TypeVar("T", bound=Base)
OrderBy = str | Sequence[str] | None


class BaseRepository(BulkWrites, Generic[T]):
    """Get, list, create, update, delete and count one model's rows; bulk writes come from ``BulkWrites``.

    Subclass with ``model = Question`` (or pass ``model=``) and give it a session:
    ``QuestionRepository(db).get_all(limit=10, topic="sql")``. Writes are flushed, not
    committed: the session's transaction decides.
    """

    model: type[T]

    def __init__(self, session: DatabaseSession | Session, model: type[T] | None = None) -> None:
        self.session: Session = session.session if isinstance(session, DatabaseSession) else session
        # Flushes go through the DatabaseSession's error seam, so a stale version is a DatabaseConflictError here too.
        self._flushing: DatabaseSession | Session = session
        if model is not None:
            self.model = model
        if getattr(self, "model", None) is None:
            raise DatabaseQueryError(f"{type(self).__name__} needs a model: set 'model = ...' or pass model=")

    def get_by_id(self, id: Any, *, include_deleted: bool = False) -> T | None:
        entity = self.session.get(self.model, id)
        return None if entity is None or (self._hidden(entity) and not include_deleted) else entity

    def get_all(
        self, skip: int = 0, limit: int = 100, *, order_by: OrderBy = None, include_deleted: bool = False, **filters: Any
    ) -> list[T]:
        """Rows matching every filter (``price__gte=10``...), sorted by ``order_by`` then the primary key."""
        _check_whole("skip", skip, 0, MAX_ROWS)
        _check_whole("limit", limit, 0, MAX_ROWS)
        statement = self._filtered(select(self.model), filters, include_deleted)
        statement = statement.order_by(*order_clauses(self.model, self._sort_keys(order_by)))
        return list(self.session.scalars(statement.offset(skip).limit(limit)))

    def count(self, *, include_deleted: bool = False, **filters: Any) -> int:
        statement = self._filtered(select(func.count()).select_from(self.model), filters, include_deleted)
        return int(self.session.scalar(statement) or 0)

    def exists(self, *, include_deleted: bool = False, **filters: Any) -> bool:
        """Whether any row matches the filters; reads at most one row."""
        primary_key = self.model.__mapper__.primary_key
        return self.session.execute(self._filtered(select(*primary_key), filters, include_deleted).limit(1)).first() is not None

    def get_one(self, *, include_deleted: bool = False, **filters: Any) -> T:
        """The one row matching the filters: ``NotFoundError`` when none does, ``DatabaseQueryError`` when several do."""
        rows: list[T] = list(self.session.scalars(self._filtered(select(self.model), filters, include_deleted).limit(2)))
        # The filters' names only: their values (an email address, a token) would end up in logs.
        shown = f"the filters on {', '.join(filters)}" if filters else "no filters"
        if not rows:
            raise NotFoundError(f"no {self.model.__name__} matches {shown}")
        if len(rows) > 1:
            raise DatabaseQueryError(f"more than one {self.model.__name__} matches {shown}; get_one expects one")
        return rows[0]

    def get_page(
        self, page: int = 1, per_page: int = 50, *, order_by: OrderBy = None, include_deleted: bool = False, **filters: Any
    ) -> Page[T]:
        """Page ``page`` (from 1) of ``per_page`` rows and the total matching the filters, counted in the same session."""
        _check_whole("page", page, 1, MAX_ROWS)
        _check_whole("per_page", per_page, 1, MAX_PAGE_SIZE)
        offset = (page - 1) * per_page
        if offset > MAX_ROWS:
            raise DatabaseQueryError(f"page {page} of {per_page} rows starts past the last row a database can skip")
        items = self.get_all(offset, per_page, order_by=order_by, include_deleted=include_deleted, **filters)
        total = offset + len(items) if 0 < len(items) < per_page else self.count(include_deleted=include_deleted, **filters)
        return Page(items=items, total=total, page=page, size=per_page)

    def get_cursor_page(
        self,
        cursor: str | None = None,
        per_page: int = 50,
        *,
        order_by: OrderBy = None,
        include_deleted: bool = False,
        **filters: Any,
    ) -> CursorPage[T]:
        """The ``per_page`` rows after ``cursor`` (the first ones without it), by keyset: as fast on the last page as the first.

        Pass back ``next_cursor`` (or ``previous_cursor``) with the same ``order_by`` and filters; a cursor of another
        query, or edited, is an ``InvalidCursorError``. Sorting on a nullable column is refused here (NULLs have no
        place in a keyset); the primary key always ends the sort.
        """
        _check_whole("per_page", per_page, 1, MAX_PAGE_SIZE)
        conditions = self._conditions(filters)
        keys = self._sort_keys(order_by)
        self._refuse_nullable(keys)
        fingerprint = query_fingerprint(self.model.__name__ + ("+deleted" if include_deleted else ""), keys, conditions)
        statement = self._filtered(select(self.model), {}, include_deleted).where(
            *[where_clause(self.model, c) for c in conditions]
        )
        backwards = False
        if cursor is not None:
            kinds = column_kinds(self.model)
            position = decode_cursor(cursor, [kinds[key.column] for key in keys], fingerprint)
            backwards = position.backwards
            statement = statement.where(keyset_clause(self.model, keys, position.values, backwards))
        statement = statement.order_by(*order_clauses(self.model, keys, reverse=backwards)).limit(per_page + 1)
        rows = list(self.session.scalars(statement))
        more, items = len(rows) > per_page, rows[:per_page]
        if backwards:
            items.reverse()

        def boundary(row: T | None, towards_start: bool) -> str | None:
            values = [getattr(row, key.column) for key in keys] if row is not None else None
            return None if values is None else encode_cursor(values, towards_start, fingerprint)

        first, last = (items[0], items[-1]) if items else (None, None)
        has_next, has_previous = (True, more) if backwards else (more, cursor is not None)
        return CursorPage(
            items=items,
            next_cursor=boundary(last, False) if has_next else None,
            previous_cursor=boundary(first, True) if has_previous else None,
        )

    def create(self, entity: T | None = None, /, **values: Any) -> T:
        """Add ``entity`` (or a new one built from ``values``) and flush, so its id is set."""
        if entity is None:
            self._check_columns(values)
            self._check_values(values)
            entity = self.model(**values)
        else:
            self._check_values({name: getattr(entity, name, None) for name in self.model.__mapper__.columns.keys()})
        self.session.add(entity)
        self._flush()
        return entity

    def update(self, entity_or_id: T | Any, **values: Any) -> T | None:
        """Set ``values`` on the entity (or the row with that id) and flush; ``None`` when there is no such row."""
        self._check_columns(values)
        self._check_values(values)
        entity = entity_or_id if isinstance(entity_or_id, self.model) else self.get_by_id(entity_or_id)
        if entity is None:
            return None
        for name, value in values.items():
            setattr(entity, name, value)
        self._flush()
        return entity

    def delete(self, entity_or_id: T | Any) -> bool:
        """Delete the entity (or the row with that id); ``False`` when there was no such row.

        A ``SoftDeleteMixin`` model's row is kept, with ``deleted_at`` set by the database clock (``hard_delete``
        removes it); an already soft-deleted row is ``False``.
        """
        entity = entity_or_id if isinstance(entity_or_id, self.model) else self.get_by_id(entity_or_id)
        if entity is None or self._hidden(entity):
            return False
        if soft_deletes(self.model):
            setattr(entity, "deleted_at", func.now())  # an SQL expression: the database clock, in the UPDATE
        else:
            self.session.delete(entity)
        self._flush()
        return True

    def hard_delete(self, entity_or_id: T | Any) -> bool:
        """Remove the row (soft-deleted or not) for good; ``False`` when there was no such row."""
        entity = entity_or_id if isinstance(entity_or_id, self.model) else self.get_by_id(entity_or_id, include_deleted=True)
        if entity is None:
            return False
        self.session.delete(entity)
        self._flush()
        return True

    def restore(self, entity_or_id: T | Any) -> T | None:
        """Clear a soft-deleted row's ``deleted_at``, so queries see it again; ``None`` when there is no such row."""
        if not soft_deletes(self.model):
            raise DatabaseQueryError(f"{self.model.__name__} has no soft delete: restore needs SoftDeleteMixin")
        entity = entity_or_id if isinstance(entity_or_id, self.model) else self.get_by_id(entity_or_id, include_deleted=True)
        if entity is None:
            return None
        setattr(entity, "deleted_at", None)
        self._flush()
        return entity

    def _flush(self) -> None:
        self._flushing.flush()

    def _hidden(self, entity: T) -> bool:
        return soft_deletes(self.model) and getattr(entity, "deleted_at") is not None

    def _filtered(self, statement: Any, filters: Mapping[str, Any], include_deleted: bool = False) -> Any:
        check_flag(self.model.__name__, "include_deleted", include_deleted)
        statement = statement.where(*[where_clause(self.model, condition) for condition in self._conditions(filters)])
        if soft_deletes(self.model) and not include_deleted:
            statement = statement.where(self.model.__table__.c.deleted_at.is_(None))
        return statement

    def _conditions(self, filters: Mapping[str, Any]) -> tuple[Condition, ...]:
        return parse_filters(self.model.__name__, filters, column_kinds(self.model))

    def _sort_keys(self, order_by: OrderBy) -> tuple[SortKey, ...]:
        primary_key = [self.model.__mapper__.get_property_by_column(c).key for c in self.model.__mapper__.primary_key]
        return parse_order_by(self.model.__name__, order_by, column_kinds(self.model), primary_key)

    def _refuse_nullable(self, keys: Sequence[SortKey]) -> None:
        columns = self.model.__mapper__.columns
        nullable = [key.column for key in keys if columns[key.column].nullable]
        if nullable:
            raise DatabaseQueryError(
                f"{self.model.__name__}.{nullable[0]} may be NULL, and cursor pages cannot sort on a nullable column "
                "(NULLs have no place in a keyset): sort on NOT NULL columns, or use get_page"
            )

    def _check_columns(self, names: dict[str, Any]) -> None:
        columns = set(self.model.__mapper__.columns.keys())
        unknown = sorted(set(names) - columns)
        if unknown:
            raise DatabaseQueryError(
                f"{self.model.__name__} has no column {', '.join(unknown)}; known columns: {', '.join(sorted(columns))}"
            )

    def _check_values(self, values: dict[str, Any]) -> None:
        """Each value must fit its column as in the filters and bulk writes (so SQLite does not store ``"abc"`` in an
        integer column); no text may hold NUL, which PostgreSQL cannot store. SQL expressions are left to the database."""
        kinds = column_kinds(self.model)
        for name, value in values.items():
            if value is None or isinstance(value, ClauseElement):
                continue
            problem = value_problem(self.model.__name__, name, kinds[name], value)
            if problem:
                raise DatabaseQueryError(problem)


def _check_whole(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DatabaseQueryError(f"{name} must be a whole number from {low} to {high}, not {value!r}"[:200])
