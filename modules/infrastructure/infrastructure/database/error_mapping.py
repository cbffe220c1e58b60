"""Every SQLAlchemy / DBAPI error becomes a ``DatabaseError`` subclass, with no password in it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exc as sa_exc

from modules.infrastructure.domain.errors import (
    DatabaseConflictError,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabasePoolExhaustedError,
    DatabaseQueryError,
)
from modules.infrastructure.domain.secrets import Redactor

# SQLSTATE 40001 serialization_failure, 40P01 deadlock_detected; SQLite BUSY (5) and LOCKED (6).
CONFLICT_SQLSTATES = frozenset({"40001", "40P01"})
SQLITE_CONFLICT_CODES = frozenset({5, 6})
SQLITE_CANTOPEN = 14
SQLITE_ERROR = 1  # SQLite's "SQL error or missing database": bad SQL, no such table or column
# Class 08 connection exceptions; 57P01-57P03 the server is shutting down or starting.
_CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03")


@dataclass(frozen=True)
class PoolFacts:
    """What a pool-exhaustion message must name."""

    label: str
    size: int
    max_overflow: int
    timeout: float


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a wrapped DBAPI error (psycopg2's ``pgcode``), if any."""
    return getattr(getattr(exc, "orig", None), "pgcode", None)


def is_conflict(exc: BaseException) -> bool:
    """A serialization failure or deadlock: the transaction was rolled back and may be run again."""
    if sqlstate(exc) in CONFLICT_SQLSTATES:
        return True
    return getattr(getattr(exc, "orig", None), "sqlite_errorcode", None) in SQLITE_CONFLICT_CODES


def is_connection_failure(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if getattr(getattr(exc, "orig", None), "sqlite_errorcode", None) == SQLITE_CANTOPEN:
        return True
    code = sqlstate(exc)
    if code:
        return code.startswith(_CONNECTION_SQLSTATES)
    # No SQLSTATE: libpq failed before the server said anything (refused, DNS, timeout).
    return isinstance(exc, sa_exc.OperationalError) and type(exc.orig).__module__.startswith("psycopg2")


def map_database_error(exc: BaseException, facts: PoolFacts, redactor: Redactor) -> BaseException:
    """The ``DatabaseError`` subclass for ``exc``; anything not from the database is returned unchanged."""
    if isinstance(exc, DatabaseError) or not isinstance(exc, sa_exc.SQLAlchemyError):
        return exc
    if isinstance(exc, sa_exc.TimeoutError):
        return DatabasePoolExhaustedError(
            f"No free connection in the '{facts.label}' pool within {facts.timeout:g} s "
            f"(pool size {facts.size}, max overflow {facts.max_overflow}): every connection stayed checked out. "
            "Sessions may not be being closed (use 'with get_database_session() as db:'), "
            "or raise DB_POOL_SIZE / DB_MAX_OVERFLOW / DB_POOL_TIMEOUT."
        )
    detail = redactor.redact(_first_line(exc))
    where = f"database '{facts.label}'"
    if is_conflict(exc):
        return DatabaseConflictError(f"Transaction on {where} was rolled back by a conflict ({detail}); run it again, e.g. with run_in_transaction().")
    if is_connection_failure(exc):
        setting = "DATABASE_REPLICA_URLS" if facts.label.startswith("replica") else "DATABASE_URL"
        return DatabaseConnectionError(f"Cannot reach {where}: {detail}. Check that the server is up and {setting} is right.")
    if isinstance(exc, sa_exc.IntegrityError):
        return DatabaseIntegrityError(f"A constraint on {where} refused the data: {detail}")
    if isinstance(exc, (sa_exc.ProgrammingError, sa_exc.DataError, sa_exc.ArgumentError, sa_exc.NoSuchColumnError)) or (
        getattr(getattr(exc, "orig", None), "sqlite_errorcode", None) == SQLITE_ERROR
    ):
        return DatabaseQueryError(f"Invalid statement or arguments for {where}: {detail}")
    return DatabaseError(f"Database operation on {where} failed: {detail}")


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
