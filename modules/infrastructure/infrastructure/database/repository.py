"""``BaseRepository[T]``: the common queries of a model, on a ``DatabaseSession``."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modules.infrastructure.domain.errors import DatabaseQueryError
from modules.infrastructure.infrastructure.database.orm import Base
from modules.infrastructure.infrastructure.database.session import DatabaseSession

MAX_ROWS = 2**63 - 1  # what PostgreSQL's and SQLite's LIMIT and OFFSET take
T = TypeVar("T", bound=Base)
NUL = "\x00"


class BaseRepository(Generic[T]):
    """Get, list, create, update, delete and count one model's rows.

    Subclass with ``model = Question`` (or pass ``model=``) and give it a session:
    ``QuestionRepository(db).get_all(limit=10, topic="sql")``. Writes are flushed, not
    committed: the session's transaction decides.
    """

    model: type[T]

    def __init__(self, session: DatabaseSession | Session, model: type[T] | None = None) -> None:
        self.session: Session = session.session if isinstance(session, DatabaseSession) else session
        if model is not None:
            self.model = model
        if getattr(self, "model", None) is None:
            raise DatabaseQueryError(f"{type(self).__name__} needs a model: set 'model = ...' or pass model=")

    def get_by_id(self, id: Any) -> T | None:
        return self.session.get(self.model, id)

    def get_all(self, skip: int = 0, limit: int = 100, **filters: Any) -> list[T]:
        """Rows matching every ``column=value`` filter, in primary-key order; an unknown column is an error."""
        for name, value in (("skip", skip), ("limit", limit)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ROWS:
                raise DatabaseQueryError(f"{name} must be a whole number from 0 to {MAX_ROWS}, not {value!r}"[:200])
        statement = self._filtered(select(self.model), filters)
        statement = statement.order_by(*self.model.__mapper__.primary_key).offset(skip).limit(limit)
        return list(self.session.scalars(statement))

    def count(self, **filters: Any) -> int:
        statement = self._filtered(select(func.count()).select_from(self.model), filters)
        return int(self.session.scalar(statement) or 0)

    def create(self, entity: T | None = None, /, **values: Any) -> T:
        """Add ``entity`` (or a new one built from ``values``) and flush, so its id is set."""
        if entity is None:
            self._check_columns(values)
            self._check_values(values)
            entity = self.model(**values)
        else:
            self._check_values({name: getattr(entity, name, None) for name in self.model.__mapper__.columns.keys()})
        self.session.add(entity)
        self.session.flush()
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
        self.session.flush()
        return entity

    def delete(self, entity_or_id: T | Any) -> bool:
        """Delete the entity (or the row with that id); ``False`` when there was no such row."""
        entity = entity_or_id if isinstance(entity_or_id, self.model) else self.get_by_id(entity_or_id)
        if entity is None:
            return False
        self.session.delete(entity)
        self.session.flush()
        return True

    def _filtered(self, statement: Any, filters: dict[str, Any]) -> Any:
        self._check_columns(filters)
        self._check_values(filters)
        for name, value in filters.items():
            statement = statement.where(getattr(self.model, name) == value)
        return statement

    def _check_columns(self, names: dict[str, Any]) -> None:
        columns = set(self.model.__mapper__.columns.keys())
        unknown = sorted(set(names) - columns)
        if unknown:
            raise DatabaseQueryError(
                f"{self.model.__name__} has no column {', '.join(unknown)}; known columns: {', '.join(sorted(columns))}"
            )

    def _check_values(self, values: dict[str, Any]) -> None:
        """No text value may hold a NUL character: PostgreSQL cannot store one, so none of the backends takes it here."""
        for name, value in values.items():
            position = value.find(NUL) if isinstance(value, str) else -1
            if position >= 0:
                raise DatabaseQueryError(
                    f"{self.model.__name__}.{name} holds a NUL character (\\x00) at position {position}; "
                    "PostgreSQL cannot store one in text. Remove it, or store the data as bytes (LargeBinary)."
                )
