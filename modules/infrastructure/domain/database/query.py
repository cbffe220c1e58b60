"""A repository query's filters and sort keys, parsed and checked against the model's columns before any SQL.

Filters are Django-style keyword arguments: ``title="Joins"``, ``price__gte=10``, ``id__in=[1, 2]``,
``title__icontains="sql"``, ``deleted_at__isnull=True``. Each column has a kind (``text``, ``integer``...)
that says which operators and values it takes; the adapter maps its column types to these kinds.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any

from modules.infrastructure.domain.errors import DatabaseQueryError

MAX_IN_VALUES = 10_000  # well under SQLite's 32,766 bound parameters; PostgreSQL plans long lists slowly
ORDERED_KINDS = frozenset({"integer", "number", "text", "datetime", "date", "time"})
SORTABLE_KINDS = ORDERED_KINDS | {"bool", "uuid"}
OPERATORS: dict[str, frozenset[str]] = {
    # operator -> the column kinds it applies to
    "eq": frozenset({"integer", "number", "text", "datetime", "date", "time", "bool", "uuid", "bytes", "other"}),
    "ne": frozenset({"integer", "number", "text", "datetime", "date", "time", "bool", "uuid", "bytes", "other"}),
    "in": frozenset({"integer", "number", "text", "datetime", "date", "time", "bool", "uuid", "other"}),
    "not_in": frozenset({"integer", "number", "text", "datetime", "date", "time", "bool", "uuid", "other"}),
    "lt": ORDERED_KINDS,
    "lte": ORDERED_KINDS,
    "gt": ORDERED_KINDS,
    "gte": ORDERED_KINDS,
    "between": ORDERED_KINDS,
    "isnull": frozenset({"integer", "number", "text", "datetime", "date", "time", "bool", "uuid", "bytes", "json", "other"}),
    "icontains": frozenset({"text"}),
    "istartswith": frozenset({"text"}),
}
_EXPECTED = {
    "integer": "a whole number within 64 bits",
    "number": "a finite number (int, float or Decimal; not NaN or infinity)",
    "text": "a str",
    "datetime": "a datetime (within years 1 to 9999 in UTC)",
    "date": "a date (not a datetime)",
    "time": "a time",
    "bool": "True or False",
    "uuid": "a uuid.UUID",
    "bytes": "bytes",
    "other": "a single value (not a list, set or dict)",
}
INT64 = (-(2**63), 2**63 - 1)
NUL = "\x00"


@dataclass(frozen=True)
class Condition:
    """One filter: ``column`` ``operator`` ``value``, with the value already checked for the column's kind."""

    column: str
    operator: str
    value: Any


@dataclass(frozen=True)
class SortKey:
    """One sort column and its direction."""

    column: str
    descending: bool = False


def nul_problem(model: str, column: str, value: object) -> str | None:
    """The message for a text value holding NUL, which PostgreSQL cannot store; ``None`` when there is none."""
    position = value.find(NUL) if isinstance(value, str) else -1
    if position < 0:
        return None
    return (
        f"{model}.{column} holds a NUL character (\\x00) at position {position}; "
        "PostgreSQL cannot store one in text. Remove it, or store the data as bytes (LargeBinary)."
    )


def parse_filters(model: str, filters: Mapping[str, Any], kinds: Mapping[str, str]) -> tuple[Condition, ...]:
    """Each ``column__operator=value`` as a checked ``Condition``; anything unusable is a ``DatabaseQueryError``."""
    return tuple(_condition(model, key, value, kinds) for key, value in filters.items())


def parse_order_by(
    model: str, order_by: str | Sequence[str] | None, kinds: Mapping[str, str], primary_key: Sequence[str]
) -> tuple[SortKey, ...]:
    """``("-created_at", "id")`` as sort keys, ending with every primary-key column so the order is total."""
    if order_by is not None and not isinstance(order_by, (str, list, tuple)):
        raise DatabaseQueryError(
            f"{model}: order_by takes a column name or a list or tuple of them, in order, not {_shown(order_by)}"
        )
    names = (order_by,) if isinstance(order_by, str) else tuple(order_by or ())
    keys: list[SortKey] = []
    for name in names:
        column = name[1:] if isinstance(name, str) and name.startswith("-") else name
        if not isinstance(column, str) or not column or column.startswith("-"):
            raise DatabaseQueryError(f"{model}: order_by takes column names such as 'title' or '-created_at', not {name!r:.60}")
        kind = _known_column(model, column, kinds)
        if kind not in SORTABLE_KINDS and kind != "other":
            raise DatabaseQueryError(f"{model}.{column}: a {kind} column cannot be sorted on")
        if any(key.column == column for key in keys):
            raise DatabaseQueryError(f"{model}: order_by names {column} twice")
        keys.append(SortKey(column, descending=name.startswith("-")))
    keys += [SortKey(column) for column in primary_key if all(key.column != column for key in keys)]
    return tuple(keys)


def _condition(model: str, key: str, value: Any, kinds: Mapping[str, str]) -> Condition:
    column, operator = key, "eq"
    if key not in kinds and "__" in key:
        column, operator = key.rsplit("__", 1)
        if column in kinds and operator not in OPERATORS:
            raise DatabaseQueryError(
                f"{model}.{column}: unknown operator '{operator}'; known operators: {', '.join(OPERATORS)}"
            )
    kind = _known_column(model, column, kinds)
    if kind not in OPERATORS[operator]:
        raise DatabaseQueryError(f"{model}.{column}: operator '{operator}' does not apply to a {kind} column")
    return Condition(column, operator, _checked_value(model, column, operator, kind, value))


def _known_column(model: str, column: str, kinds: Mapping[str, str]) -> str:
    if column not in kinds:
        raise DatabaseQueryError(f"{model} has no column {column}; known columns: {', '.join(sorted(kinds))}")
    return kinds[column]


def _checked_value(model: str, column: str, operator: str, kind: str, value: Any) -> Any:
    where = f"{model}.{column}__{operator}"
    if operator == "isnull":
        if not isinstance(value, bool):
            raise DatabaseQueryError(f"{where} takes True or False, not {_shown(value)}")
        return value
    if operator in ("in", "not_in"):
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise DatabaseQueryError(f"{where} takes a list, tuple or set of values, not {_shown(value)}")
        if len(value) > MAX_IN_VALUES:
            raise DatabaseQueryError(
                f"{where} got {len(value):,} values, more than {MAX_IN_VALUES:,}: split the list into batches or join a table"
            )
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else list(value)
        return tuple(_scalar(model, column, where, kind, item) for item in items)
    if operator == "between":
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise DatabaseQueryError(f"{where} takes a (low, high) pair, both included, not {_shown(value)}")
        return tuple(_scalar(model, column, where, kind, item) for item in value)
    if value is None and operator in ("eq", "ne"):
        return None  # column=None is IS NULL, as before
    return _scalar(model, column, where, kind, value)


def _scalar(model: str, column: str, where: str, kind: str, value: Any) -> Any:
    if value is None:
        raise DatabaseQueryError(f"{where} cannot compare with None; use {column}__isnull=True")
    if not value_fits(kind, value):
        raise DatabaseQueryError(f"{where} takes {_EXPECTED[kind]} for this {kind} column, not {_shown(value)}")
    problem = nul_problem(model, column, value)
    if problem:
        raise DatabaseQueryError(problem)
    return value


def value_fits(kind: str, value: Any) -> bool:
    """Whether ``value`` is one a ``kind`` column can hold and compare: the type, and for numbers and times the range."""
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool) and INT64[0] <= value <= INT64[1]
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            return False
        if isinstance(value, Decimal):
            return value.is_finite()
        return isinstance(value, int) or math.isfinite(value)
    if kind == "datetime":
        return isinstance(value, datetime) and _in_utc_range(value)
    types: dict[str, type | tuple[type, ...]] = {
        "text": str, "time": time, "bool": bool, "uuid": uuid.UUID, "bytes": (bytes, bytearray)
    }
    if kind == "date":
        return isinstance(value, date) and not isinstance(value, datetime)
    if kind in types:
        return isinstance(value, types[kind])
    return not isinstance(value, (list, tuple, set, frozenset, dict))  # "other": any single value


def _in_utc_range(value: datetime) -> bool:
    """An aware datetime must stay within years 1 to 9999 in UTC, where the database keeps it."""
    if value.tzinfo is None:
        return True
    try:
        value.astimezone(timezone.utc)
    except OverflowError:
        return False
    return True


def value_problem(model: str, column: str, kind: str, value: Any) -> str | None:
    """Why ``value`` cannot be written to a ``kind`` column (wrong type, NUL in text); ``None`` when it can."""
    if kind not in _EXPECTED or kind == "other":
        return None  # json and other columns take what their type takes
    if not value_fits(kind, value):
        return f"{model}.{column} takes {_EXPECTED[kind]} for this {kind} column, not {_shown(value)}"
    return nul_problem(model, column, value)


def _shown(value: Any) -> str:
    return f"{type(value).__name__} {value!r:.60}"
