"""Rows for a repository's bulk writes, checked before any SQL: known columns, one key set, values of the right kind.

A batch holds at most as many rows as keep its bound parameters under the drivers' limits (SQLite takes
32,766 host parameters in one statement, PostgreSQL 65,535), so one statement never fails on its size.
"""

from __future__ import annotations

import math

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modules.infrastructure.domain.database.query import INT64, NUL, value_problem
from modules.infrastructure.domain.errors import DatabaseQueryError

MAX_BOUND_PARAMETERS = 32_766  # SQLite's limit, the lower of the two
MAX_BATCH_ROWS = 5_000


@dataclass(frozen=True)
class BulkResult:
    """How many rows a bulk write inserted or updated, and their primary keys when the database returns them.

    ``ids`` is ``None`` when the database cannot return them (SQLite before 3.35) or ``return_ids=False``; one value
    per row for a single-column primary key, a tuple per row for a composite one. ``add_many``'s follow the rows'
    order; an upsert's are of the rows it wrote, in no set order (``DO NOTHING`` rows are neither counted nor in it).
    """

    count: int
    ids: tuple[Any, ...] | None = None


def batch_size(columns: int) -> int:
    """Rows per statement so that ``columns`` parameters per row stay under every driver's limit."""
    return max(1, min(MAX_BATCH_ROWS, MAX_BOUND_PARAMETERS // max(1, columns)))


def batches(rows: Sequence[Mapping[str, Any]], columns: int) -> Iterator[Sequence[Mapping[str, Any]]]:
    size = batch_size(columns)
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def check_rows(
    model: str, rows: Sequence[Mapping[str, Any]], kinds: Mapping[str, str], nullable: Collection[str]
) -> tuple[str, ...]:
    """The rows' one key set, after checking every row: known columns, the same keys, a fitting value for each."""
    if not rows:
        return ()
    keys = tuple(rows[0])
    if not keys:
        raise DatabaseQueryError(f"{model}: a bulk row needs at least one column")
    check_columns(model, keys, kinds)
    expected = rows[0].keys()
    for number, row in enumerate(rows):
        if row.keys() != expected:
            missing, extra = sorted(set(expected) - set(row)), sorted(set(row) - set(expected))
            raise DatabaseQueryError(
                f"{model}: row {number} has other columns than row 0 (missing {missing}, extra {extra}); "
                "every row of a bulk write must name the same columns"
            )
    for name in keys:
        values = [row[name] for row in rows]
        if _column_fits(kinds[name], values, name in nullable):
            continue  # the common case, checked a column at a time; the row-by-row check below finds the culprit
        for number, value in enumerate(values):
            problem = _value_problem(model, name, kinds[name], value, name in nullable)
            if problem:
                raise DatabaseQueryError(f"row {number}: {problem}")
    return keys


def _column_fits(kind: str, values: list[Any], nullable: bool) -> bool:
    """Whether every value surely fits a column of ``kind``; ``False`` means look row by row (it may still fit)."""
    found = {type(value) for value in values}
    if nullable:
        found.discard(type(None))
        values = [value for value in values if value is not None]
    if not found:
        return True
    if kind == "text":
        return found == {str} and NUL not in "".join(values)
    if kind == "integer":
        return found == {int} and INT64[0] <= min(values) and max(values) <= INT64[1]
    if kind == "number":
        return found <= {int, float} and all(type(value) is int or math.isfinite(value) for value in values)
    return False


def check_values(model: str, values: Mapping[str, Any], kinds: Mapping[str, str], nullable: Collection[str]) -> None:
    """The ``SET`` values of an update: known columns, at least one, each fitting its column."""
    if not isinstance(values, Mapping):
        raise DatabaseQueryError(f"{model}: update_many takes a dict of column values, such as {{'title': 'x'}}, not {type(values).__name__}")
    if not values:
        raise DatabaseQueryError(f"{model}: update_many needs at least one column to set")
    check_columns(model, tuple(values), kinds)
    for name, value in values.items():
        problem = _value_problem(model, name, kinds[name], value, name in nullable)
        if problem:
            raise DatabaseQueryError(problem)


def check_columns(model: str, names: Sequence[str], kinds: Mapping[str, str]) -> None:
    odd = [name for name in names if not isinstance(name, str)]
    if odd:
        raise DatabaseQueryError(f"{model}: column names are str, not {type(odd[0]).__name__} {odd[0]!r:.40}")
    unknown = sorted(set(names) - set(kinds))
    if unknown:
        raise DatabaseQueryError(f"{model} has no column {', '.join(unknown)}; known columns: {', '.join(sorted(kinds))}")


def check_upsert_key(
    model: str, keys: Sequence[str], unique_by: Sequence[str], update: Sequence[str], unique_sets: Collection[frozenset[str]]
) -> None:
    """``unique_by`` must be exactly the columns of the primary key, a unique constraint or a unique index, all in the rows."""
    if isinstance(unique_by, str) or isinstance(update, str):
        raise DatabaseQueryError(f"{model}: unique_by and update take a tuple of column names, such as ('email',)")
    if not unique_by:
        raise DatabaseQueryError(f"{model}: upsert needs unique_by, the columns of a unique constraint or the primary key")
    if frozenset(unique_by) not in unique_sets:
        known = "; ".join(sorted(", ".join(sorted(columns)) for columns in unique_sets)) or "none"
        raise DatabaseQueryError(
            f"{model}: ({', '.join(unique_by)}) is not the primary key, a unique constraint or a unique index; "
            f"ON CONFLICT needs one of: {known}"
        )
    missing = sorted((set(unique_by) | set(update)) - set(keys))
    if missing:
        raise DatabaseQueryError(f"{model}: upsert rows do not hold {', '.join(missing)}, named in unique_by or update")
    overlap = sorted(set(unique_by) & set(update))
    if overlap:
        raise DatabaseQueryError(f"{model}: upsert cannot update its unique_by columns ({', '.join(overlap)})")


def check_distinct_keys(model: str, rows: Sequence[Mapping[str, Any]], unique_by: Sequence[str]) -> None:
    """No two upsert rows may share their ``unique_by`` values: PostgreSQL refuses to update one row twice."""
    seen: dict[tuple[Any, ...], int] = {}
    for number, row in enumerate(rows):
        key = tuple(row[column] for column in unique_by)
        if key in seen:
            raise DatabaseQueryError(
                f"{model}: upsert rows {seen[key]} and {number} share ({', '.join(unique_by)}) = {key!r:.80}; "
                "ON CONFLICT cannot update one row twice in a statement: merge them first"
            )
        seen[key] = number


def _value_problem(model: str, column: str, kind: str, value: Any, nullable: bool) -> str | None:
    if value is None:
        return None if nullable else f"{model}.{column} is NOT NULL and cannot take None; leave the column out or give a value"
    return value_problem(model, column, kind, value)
