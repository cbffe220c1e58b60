"""The SQLAlchemy side of repository queries: column kinds, WHERE clauses, ORDER BY and keyset conditions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import and_, literal, or_, tuple_, types
from sqlalchemy.sql.elements import ColumnElement

from modules.infrastructure.domain.database.query import Condition, SortKey
from modules.infrastructure.infrastructure.database.model_mixins import UTCDateTime

# Most specific first: Enum is a String, Float a Numeric, JSONB a JSON.
_KINDS: tuple[tuple[type, str], ...] = (
    (types.JSON, "json"),
    (types.ARRAY, "json"),
    (types.Enum, "other"),
    (types.Boolean, "bool"),
    (types.Integer, "integer"),
    (types.Numeric, "number"),
    (types.Float, "number"),  # not a Numeric since SQLAlchemy 2.1
    (types.DateTime, "datetime"),
    (types.Date, "date"),
    (types.Time, "time"),
    (types.Uuid, "uuid"),
    (types.LargeBinary, "bytes"),
    (types.String, "text"),
)


@cache
def column_kinds(model: Any) -> Mapping[str, str]:
    """Each mapped column's attribute name and the kind of value it holds (``text``, ``integer``, ...); once per model."""
    return {key: _kind(column.type) for key, column in model.__mapper__.columns.items()}


def _kind(column_type: Any) -> str:
    if isinstance(column_type, types.TypeDecorator):
        # Its own bind step turns values into what it stores, so the stored type says nothing of the values it takes
        # (JSON kept as text, Interval as a datetime): "other". UTCDateTime takes and gives datetimes.
        return "datetime" if isinstance(column_type, UTCDateTime) else "other"
    for sa_type, kind in _KINDS:
        if isinstance(column_type, sa_type):
            return kind
    return "other"


def where_clause(model: Any, condition: Condition) -> ColumnElement[bool]:
    """The SQL condition for one checked filter."""
    column: ColumnElement[Any] = getattr(model, condition.column)
    operator, value = condition.operator, condition.value
    if operator == "eq":
        return column.is_(None) if value is None else column == value
    if operator == "ne":
        return column.is_not(None) if value is None else column != value
    if operator == "in":
        return column.in_(value)
    if operator == "not_in":
        return column.not_in(value)
    if operator == "between":
        return column.between(*value)
    if operator == "isnull":
        return column.is_(None) if value else column.is_not(None)
    if operator in ("icontains", "istartswith"):
        # autoescape: %, _ and the escape character in the user's text match themselves.
        search: ColumnElement[bool] = getattr(column, operator)(value, autoescape=True)
        return search
    comparisons: dict[str, ColumnElement[bool]] = {"lt": column < value, "lte": column <= value, "gt": column > value, "gte": column >= value}
    return comparisons[operator]


def order_clauses(model: Any, keys: Sequence[SortKey], reverse: bool = False) -> list[Any]:
    """ORDER BY for the sort keys; ``reverse`` flips every direction (reading a page backwards)."""
    columns = [getattr(model, key.column) for key in keys]
    return [column.desc() if key.descending != reverse else column.asc() for column, key in zip(columns, keys)]


def keyset_clause(model: Any, keys: Sequence[SortKey], values: Sequence[Any], backwards: bool) -> ColumnElement[bool]:
    """Rows strictly after (or, ``backwards``, before) the row with these sort values, in the keys' order.

    One direction for every key is a row-value comparison ``(a, b) > (:a, :b)``, which both PostgreSQL
    and SQLite answer from a matching index; mixed directions expand to ``a > :a OR (a = :a AND b < :b)``,
    led by ``a >= :a`` so the first column's index still bounds the scan.
    """
    columns = [model.__mapper__.columns[key.column] for key in keys]  # Column objects: faster to combine than attributes
    bound = [literal(value, type_=column.type) for column, value in zip(columns, values)]
    less = [key.descending != backwards for key in keys]
    if len(set(less)) == 1:
        left, right = tuple_(*columns), tuple_(*bound)
        return left < right if less[0] else left > right
    alternatives = []
    for index, (column, value) in enumerate(zip(columns, bound)):
        beyond = column < value if less[index] else column > value
        alternatives.append(and_(*[c == v for c, v in zip(columns[:index], bound[:index])], beyond))
    lead = columns[0] <= bound[0] if less[0] else columns[0] >= bound[0]
    return and_(lead, or_(*alternatives))
