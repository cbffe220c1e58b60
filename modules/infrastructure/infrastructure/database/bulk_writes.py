"""A repository's bulk writes: add many, update, delete and restore many by filter, upsert with ``ON CONFLICT``, in batches.

Mixed into ``BaseRepository``. Inserts go to the model's table as one executemany per batch (SQLAlchemy
sends them as multi-row ``VALUES``), with ``RETURNING`` the primary key where the dialect can. Rows are
checked before the first statement, so bad input writes nothing; writes are flushed, not committed. Updates and
deletes by filter follow the model's mixins as the single-row methods do: soft delete and the version column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Index, UniqueConstraint, delete, func, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from modules.infrastructure.domain.database.bulk import (
    BulkResult,
    batches,
    check_distinct_keys,
    check_rows,
    check_upsert_key,
    check_values,
)
from modules.infrastructure.domain.database.query import Condition, parse_filters
from modules.infrastructure.domain.errors import DatabaseQueryError
from modules.infrastructure.infrastructure.database.model_mixins import soft_deletes
from modules.infrastructure.infrastructure.database.query_builder import column_kinds, where_clause

_UPSERT_INSERTS: dict[str, Any] = {"postgresql": postgresql.Insert, "sqlite": sqlite.Insert}


class BulkWrites:
    """``add_many``, ``update_many``, ``delete_many``, ``hard_delete_many``, ``restore_many`` and ``upsert`` for a
    repository with ``model`` and ``session``."""

    model: Any
    session: Session

    def add_many(self, rows: Iterable[Mapping[str, Any] | Any], *, return_ids: bool = True) -> BulkResult:
        """Insert the rows (dicts of column values, or model instances) in batches; an empty list is refused.

        ``return_ids=False`` skips ``RETURNING`` (``ids`` is then ``None``): the fastest insert, for loads that do not
        need the new ids.
        """
        check_flag(self.model.__name__, "return_ids", return_ids)
        plain = self._plain_rows(rows, "add_many")
        keys = self._checked(plain)
        return self._insert(insert(self.model.__table__), plain, keys, return_ids)

    def upsert(
        self, rows: Iterable[Mapping[str, Any] | Any], unique_by: Sequence[str] = (), update: Sequence[str] | None = None
    ) -> BulkResult:
        """Insert the rows; a row whose ``unique_by`` columns match an existing row updates its ``update`` columns instead.

        ``update`` defaults to every other column of the rows; ``()`` leaves existing rows as they are (``DO NOTHING``,
        and they are not counted). ``unique_by`` must be the primary key, a unique constraint or a unique index.
        An updated row of a versioned model has its ``version`` raised by one; a soft-deleted row matches too, and
        stays deleted unless the rows set ``deleted_at`` to ``None``.
        """
        plain = self._plain_rows(rows, "upsert")
        keys = self._checked(plain)
        name = self.model.__name__
        unique_by = _names(name, "unique_by", () if unique_by is None else unique_by)
        version = _version_name(self.model)
        chosen: Sequence[str] = (
            tuple(key for key in keys if key not in unique_by and key != version)
            if update is None
            else _names(name, "update", update)
        )
        if not isinstance(chosen, str):
            self._refuse_version(chosen)
        check_upsert_key(name, keys or tuple(unique_by), unique_by, chosen, _unique_sets(self.model))
        check_distinct_keys(name, plain, unique_by)
        dialect = self.session.get_bind().dialect.name
        if dialect not in _UPSERT_INSERTS:
            raise DatabaseQueryError(f"{name}: upsert needs PostgreSQL or SQLite (ON CONFLICT), not {dialect}")
        table = self.model.__table__
        statement: Any = _UPSERT_INSERTS[dialect](table)
        targets = [_column_key(self.model, column) for column in unique_by]
        if chosen:
            changes = {_column_key(self.model, c): statement.excluded[_column_key(self.model, c)] for c in chosen}
            if version is not None:
                changes[_column_key(self.model, version)] = table.c[_column_key(self.model, version)] + 1
            changes = {**_on_update_values(table, skip=set(changes) | set(targets)), **changes}
            statement = statement.on_conflict_do_update(index_elements=targets, set_=changes)
        else:
            statement = statement.on_conflict_do_nothing(index_elements=targets)
        return self._insert(statement, plain, keys)

    def update_many(
        self, values: Mapping[str, Any], *, all: bool = False, include_deleted: bool = False, **filters: Any
    ) -> int:
        """Set ``values`` on every row matching the filters (every row needs ``all=True``); the number of rows matched.

        Soft-deleted rows are left alone unless ``include_deleted=True``. A versioned model's ``version`` goes up by
        one, so a transaction still holding an older copy of a row gets ``DatabaseConflictError`` when it updates it.
        """
        check_values(self.model.__name__, values, column_kinds(self.model), _nullable(self.model))
        self._refuse_version(values)
        self._refuse_unfiltered("update_many", filters, all)
        return self._update_where(dict(values), self._bulk_where(filters, include_deleted))

    def delete_many(self, *, all: bool = False, **filters: Any) -> int:
        """Delete the rows matching the filters; with none, ``all=True`` must say so, so a typo cannot empty the table.

        A ``SoftDeleteMixin`` model's rows are kept with ``deleted_at`` set by the database clock, like ``delete``:
        the count is of rows deleted now, not of those deleted before. ``hard_delete_many`` removes rows for good.
        """
        self._refuse_unfiltered("delete_many", filters, all)
        if soft_deletes(self.model):
            return self._update_where({"deleted_at": func.now()}, self._bulk_where(filters, include_deleted=False))
        return self._delete_where(self._bulk_where(filters, include_deleted=True))

    def hard_delete_many(self, *, all: bool = False, **filters: Any) -> int:
        """Remove the rows matching the filters for good, soft-deleted ones included; the number removed."""
        self._refuse_unfiltered("hard_delete_many", filters, all)
        return self._delete_where(self._bulk_where(filters, include_deleted=True))

    def restore_many(self, *, all: bool = False, **filters: Any) -> int:
        """Clear ``deleted_at`` on the soft-deleted rows matching the filters; the number restored."""
        if not soft_deletes(self.model):
            raise DatabaseQueryError(f"{self.model.__name__} has no soft delete: restore_many needs SoftDeleteMixin")
        self._refuse_unfiltered("restore_many", filters, all)
        deleted = self.model.__table__.c.deleted_at.is_not(None)
        return self._update_where({"deleted_at": None}, [*self._bulk_where(filters, include_deleted=True), deleted])

    def _update_where(self, values: dict[str, Any], where: Sequence[Any]) -> int:
        version = self.model.__mapper__.version_id_col
        changes: dict[Any, Any] = {**values, version: version + 1} if version is not None else values
        statement = update(self.model).where(*where).values(changes)
        self.session.flush()  # pending changes first: the expiry below would drop them
        result: Any = self.session.execute(statement.execution_options(synchronize_session=False))
        for loaded in [row for row in self.session.identity_map.values() if isinstance(row, self.model)]:
            self.session.expire(loaded)  # loaded rows reread their columns, so they show the update
        return int(result.rowcount)

    def _delete_where(self, where: Sequence[Any]) -> int:
        statement = delete(self.model).where(*where)
        result: Any = self.session.execute(statement.execution_options(synchronize_session="fetch"))
        return int(result.rowcount)

    def _refuse_unfiltered(self, method: str, filters: Mapping[str, Any], everything: bool) -> None:
        if not filters and everything is not True:
            raise DatabaseQueryError(
                f"{self.model.__name__}: {method} without filters would change every row; pass all=True to mean it"
            )

    def _refuse_version(self, columns: Iterable[str]) -> None:
        name = _version_name(self.model)
        if name is not None and name in columns:
            raise DatabaseQueryError(
                f"{self.model.__name__}.{name} counts the row's versions for optimistic locking: "
                "bulk updates raise it by one themselves, leave it out of the columns to update"
            )

    def _insert(
        self, statement: Any, rows: Sequence[Mapping[str, Any]], keys: Sequence[str], return_ids: bool = True
    ) -> BulkResult:
        """Run ``statement`` for the rows, one executemany per batch; the ids come back where the dialect can."""
        self.session.flush()  # pending ORM changes go first, in their order
        returning = return_ids and self.session.get_bind().dialect.insert_executemany_returning
        primary_key = list(self.model.__table__.primary_key.columns)
        upsert = isinstance(statement, tuple(_UPSERT_INSERTS.values()))
        if returning:
            # add_many's ids follow the rows (ids[i] is rows[i]'s); asking that of ON CONFLICT makes SQLAlchemy send
            # one row per statement, several times slower, and its ids skip DO NOTHING rows anyway.
            statement = statement.returning(*primary_key, sort_by_parameter_order=not upsert)
        params_keys = {key: _column_key(self.model, key) for key in keys}
        count, ids = 0, []
        for batch in batches(rows, len(keys)):
            renamed = any(key != column for key, column in params_keys.items())
            params = [{params_keys[k]: v for k, v in row.items()} for row in batch] if renamed else batch
            result: Any = self.session.execute(statement, params)
            if returning:
                found = [row[0] if len(primary_key) == 1 else tuple(row) for row in result]
                ids += found
                count += len(found)
            else:
                # A plain INSERT writes each row or fails; psycopg2 would count only the last page it sent.
                count += result.rowcount if upsert and result.rowcount >= 0 else len(batch)
        return BulkResult(count, tuple(ids) if returning else None)

    def _plain_rows(self, rows: Iterable[Mapping[str, Any] | Any], method: str) -> list[Mapping[str, Any]]:
        if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
            raise DatabaseQueryError(f"{self.model.__name__}: bulk writes take a list of rows, not one {type(rows).__name__}")
        plain: list[Mapping[str, Any]] = []
        names = self.model.__mapper__.columns.keys()
        for row in rows:
            if isinstance(row, Mapping):
                plain.append(row)
            elif isinstance(row, self.model):
                state = vars(row)  # the columns set on the instance; unset ones take their defaults
                plain.append({name: state[name] for name in names if name in state})
            else:
                raise DatabaseQueryError(
                    f"{self.model.__name__}: a bulk row is a dict or a {self.model.__name__}, not {type(row).__name__}"
                )
        if not plain:
            raise DatabaseQueryError(
                f"{self.model.__name__}: {method} got no rows; skip the call when there is nothing to write"
            )
        return plain

    def _checked(self, rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
        return check_rows(self.model.__name__, rows, column_kinds(self.model), _nullable(self.model))

    def _bulk_where(self, filters: Mapping[str, Any], include_deleted: bool) -> list[Any]:
        check_flag(self.model.__name__, "include_deleted", include_deleted)
        conditions: tuple[Condition, ...] = parse_filters(self.model.__name__, filters, column_kinds(self.model))
        where = [where_clause(self.model, condition) for condition in conditions]
        if soft_deletes(self.model) and not include_deleted:
            where.append(self.model.__table__.c.deleted_at.is_(None))
        return where


@cache
def _nullable(model: Any) -> frozenset[str]:
    return frozenset(key for key, column in model.__mapper__.columns.items() if column.nullable)


@cache
def _unique_sets(model: Any) -> frozenset[frozenset[str]]:
    """The attribute-name sets ``ON CONFLICT`` can target: the primary key, unique constraints, unique indexes."""
    table = model.__table__
    by_column = {column.key: key for key, column in model.__mapper__.columns.items()}
    sets = [table.primary_key.columns]
    sets += [c.columns for c in table.constraints if isinstance(c, UniqueConstraint)]
    sets += [i.columns for i in table.indexes if isinstance(i, Index) and i.unique and not _partial(i)]
    sets += [[column] for column in table.columns if column.unique]
    return frozenset(frozenset(by_column.get(column.key, column.key) for column in columns) for columns in sets if len(columns))


def _partial(index: Index) -> bool:
    """A partial unique index (``WHERE ...``) cannot be an ``ON CONFLICT`` target without its condition."""
    return any(index.dialect_kwargs.get(f"{dialect}_where") is not None for dialect in ("postgresql", "sqlite"))


def _on_update_values(table: Any, skip: set[str]) -> dict[str, Any]:
    """The ``onupdate`` SQL or constant of each column not set otherwise (``updated_at = now()``): ``ON CONFLICT DO
    UPDATE`` does not apply them by itself. A Python function as ``onupdate`` is left out (it needs a statement context)."""
    values: dict[str, Any] = {}
    for column in table.columns:
        default = column.onupdate
        if column.key in skip or default is None or not (default.is_clause_element or default.is_scalar):
            continue
        values[column.key] = default.arg
    return values


def check_flag(model: str, name: str, value: object) -> None:
    """``value`` must be True or False: a truthy string such as ``"false"`` would mean the opposite of what it says."""
    if not isinstance(value, bool):
        raise DatabaseQueryError(f"{model}: {name} takes True or False, not {type(value).__name__} {value!r:.40}")


def _names(model: str, argument: str, value: Any) -> Sequence[str]:
    """``value`` as a tuple of column names (a ``str`` is left for ``check_upsert_key`` to name), or the error."""
    if isinstance(value, str):
        return value
    names = tuple(value) if isinstance(value, Iterable) else None
    if names is None or not all(isinstance(item, str) for item in names):
        raise DatabaseQueryError(f"{model}: {argument} takes a tuple of column names, such as ('email',), not {value!r:.60}")
    return names


def _version_name(model: Any) -> str | None:
    """The attribute holding the model's optimistic-locking version (``VersionedMixin``'s ``version``), if any."""
    column = model.__mapper__.version_id_col
    return None if column is None else str(model.__mapper__.get_property_by_column(column).key)


def _column_key(model: Any, attribute: str) -> str:
    return str(model.__mapper__.columns[attribute].key)
