"""Every SQLAlchemy / DBAPI error becomes a ``DatabaseError`` subclass, with no password in it.

``DatabaseErrors`` is the one seam: a context manager for code that calls SQLAlchemy, and
``statement_error``, the engine's ``handle_error`` listener, for statements run where no
context manager can reach (a plain session's ``Query`` methods, lazy loads). Both call
``map_database_error``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, NoReturn

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm.exc import StaleDataError

from modules.infrastructure.domain.errors import (
    DatabaseCommitUnknownError,
    DatabaseConflictError,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseIntegrityError,
    DatabasePoolExhaustedError,
    DatabaseQueryError,
    DatabaseReadOnlyError,
    DatabaseStatementTimeoutError,
)
from modules.infrastructure.domain.secrets import Redactor
from modules.infrastructure.infrastructure.tls_advice import DATABASE_TLS, tls_advice

logger = logging.getLogger(__name__)
# SQLSTATE 40001 serialization_failure, 40P01 deadlock_detected; SQLite BUSY (5) and LOCKED (6).
CONFLICT_SQLSTATES = frozenset({"40001", "40P01"})
SQLITE_CONFLICT_CODES = frozenset({5, 6})
SQLITE_BUSY = 5  # plain: the busy timeout (DB_POOL_TIMEOUT) ran out; BUSY_SNAPSHOT (517) is a true conflict
SQLITE_CANTOPEN = 14
SQLITE_ERROR = 1  # SQLite's "SQL error or missing database": bad SQL, no such table or column
SQLITE_READONLY = 8  # "attempt to write a readonly database"
QUERY_CANCELED = "57014"  # statement_timeout, or a cancel request
READ_ONLY_SQL_TRANSACTION = "25006"
INVALID_AUTHORIZATION = "28"  # class 28: the server refused who connected (pg_hba.conf, a client certificate)
# Class 08 connection exceptions; 57P01-57P03 the server is shutting down or starting.
_CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03")


@dataclass(frozen=True)
class PoolFacts:
    """What a message about one pool must name."""

    label: str
    size: int
    max_overflow: int
    timeout: float
    statement_timeout_ms: int | None = None


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a wrapped DBAPI error (psycopg2's ``pgcode``), if any."""
    return getattr(getattr(exc, "orig", None), "pgcode", None)


def sqlite_extended_code(exc: BaseException) -> int | None:
    """The extended SQLite result code of a wrapped ``sqlite3`` error, if any."""
    code = getattr(getattr(exc, "orig", None), "sqlite_errorcode", None)
    return code if isinstance(code, int) else None


def sqlite_code(exc: BaseException) -> int | None:
    """The primary SQLite result code of a wrapped ``sqlite3`` error (its extended code's low byte), if any."""
    code = sqlite_extended_code(exc)
    return None if code is None else code & 0xFF


def is_conflict(exc: BaseException) -> bool:
    """A serialization failure or deadlock: the transaction was rolled back and may be run again."""
    return sqlstate(exc) in CONFLICT_SQLSTATES or sqlite_code(exc) in SQLITE_CONFLICT_CODES


def is_connection_failure(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if sqlite_code(exc) == SQLITE_CANTOPEN:
        return True
    code = sqlstate(exc)
    if code:
        return code.startswith(_CONNECTION_SQLSTATES)
    # No SQLSTATE: libpq failed before the server said anything (refused, DNS, timeout).
    return isinstance(exc, sa_exc.OperationalError) and type(exc.orig).__module__.startswith("psycopg2")


def _refused_connection(exc: BaseException) -> bool:
    """A connection that failed to open or was refused by the server's authentication (SQLSTATE class 28)."""
    return is_connection_failure(exc) or (sqlstate(exc) or "").startswith(INVALID_AUTHORIZATION)


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
    if isinstance(exc, StaleDataError):
        return DatabaseConflictError(
            f"A row on {where} was changed or deleted by another transaction since it was read ({detail}); "
            "read it again and reapply the change (optimistic locking: VersionedMixin)."
        )
    if sqlite_extended_code(exc) == SQLITE_BUSY:
        return DatabaseConflictError(_write_lock_message(where, detail, facts.timeout))
    if is_conflict(exc):
        return DatabaseConflictError(f"Transaction on {where} was rolled back by a conflict ({detail}); run it again, e.g. with run_in_transaction().")
    advice = tls_advice(detail, DATABASE_TLS) if _refused_connection(exc) else None
    if advice:
        return DatabaseConnectionError(f"Cannot connect to {where} over TLS: {detail}. {advice}.")
    if is_connection_failure(exc):
        setting = "DATABASE_REPLICA_URLS" if facts.label.startswith("replica") else "DATABASE_URL"
        return DatabaseConnectionError(f"Cannot reach {where}: {detail}. Check that the server is up and {setting} is right.")
    if sqlstate(exc) == QUERY_CANCELED:
        return DatabaseStatementTimeoutError(_timeout_message(where, detail, facts.statement_timeout_ms))
    if sqlstate(exc) == READ_ONLY_SQL_TRANSACTION:
        return DatabaseReadOnlyError(
            f"{where.capitalize()} refused a write in a read-only transaction ({detail}); "
            "write through get_database_session() without read_only=True."
        )
    if sqlite_code(exc) == SQLITE_READONLY:
        return DatabaseReadOnlyError(
            f"{where.capitalize()} cannot be written ({detail}); check that the SQLite file and its folder "
            "are writable by this process and that DATABASE_URL names the right file."
        )
    if isinstance(exc, sa_exc.IntegrityError):
        return DatabaseIntegrityError(f"A constraint on {where} refused the data: {detail}")
    if isinstance(exc, (sa_exc.ProgrammingError, sa_exc.DataError, sa_exc.ArgumentError, sa_exc.NoSuchColumnError)) or (
        sqlite_code(exc) == SQLITE_ERROR
    ):
        return DatabaseQueryError(f"Invalid statement or arguments for {where}: {detail}")
    return DatabaseError(f"Database operation on {where} failed: {detail}")


@dataclass(frozen=True)
class DatabaseErrors:
    """The seam between SQLAlchemy and callers: ``with errors:`` raises a driver error leaving the block
    as its ``DatabaseError`` subclass, chained; any other exception passes unchanged. Reusable and stateless."""

    facts: PoolFacts
    redactor: Redactor

    def __enter__(self) -> DatabaseErrors:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        if isinstance(exc, Exception):
            mapped = self.mapped(exc)
            if mapped is not exc:
                raise mapped from exc
        return False

    def raise_mapped(self, exc: Exception) -> NoReturn:
        """Raise ``exc`` as its ``DatabaseError`` subclass (chained), or as it is; for a hot path's own ``except``,
        where entering this context manager on every call would cost more than the work."""
        mapped = self.mapped(exc)
        if mapped is exc:
            raise exc
        raise mapped from exc

    def raise_commit_failure(self, exc: Exception) -> NoReturn:
        """Raise the error of a failed COMMIT: a connection lost during it leaves the outcome unknown, which
        ``DatabaseCommitUnknownError`` says; any other failure (a conflict, a deferred constraint) rolled it back."""
        mapped = self.mapped(exc)
        if isinstance(mapped, DatabaseConnectionError):
            raise DatabaseCommitUnknownError(_commit_unknown_message(self.facts.label, mapped)) from exc
        self.raise_mapped(exc)

    def mapped(self, exc: BaseException) -> BaseException:
        """``map_database_error`` for this pool; should the mapping itself fail, ``exc``: it is never hidden."""
        try:
            return map_database_error(exc, self.facts, self.redactor)
        except Exception:
            logger.warning("Mapping a %s to a DatabaseError failed; raising it as it is", type(exc).__name__, exc_info=True)
            return exc

    def statement_error(self, context: ExceptionContext) -> BaseException | None:
        """``handle_error`` listener: the mapped error for a failed statement or connect, which SQLAlchemy raises
        (chained to the DBAPI error) after its own clean-up. Never during a pre-ping: the pool must see the
        disconnect to replace the connection."""
        wrapped = context.sqlalchemy_exception
        if context.is_pre_ping:
            return None
        if wrapped is None:
            return self._unsendable_parameter(context.original_exception)
        mapped = self.mapped(wrapped)
        return None if mapped is wrapped else mapped


    def _unsendable_parameter(self, exc: BaseException) -> BaseException | None:
        """A value the driver refused to bind, outside the DBAPI's own errors: sqlite3's ``OverflowError`` for an
        integer past 64 bits, psycopg2's ``ValueError`` for a NUL character, a lone surrogate in text."""
        if not isinstance(exc, OverflowError | ValueError):
            return None
        detail = self.redactor.redact(_first_line(exc))
        return DatabaseQueryError(
            f"Invalid arguments for database '{self.facts.label}': the driver cannot send a value ({detail}); "
            "integers must fit in 64 bits, and text must be valid Unicode without NUL characters"
        )


def _write_lock_message(where: str, detail: str, timeout: float) -> str:
    return (
        f"The write on {where} waited DB_POOL_TIMEOUT ({timeout:g} s) for SQLite's write lock, which other "
        f"connections held all that time ({detail}). SQLite takes one writer at a time: keep write transactions "
        "short, run it again (run_in_transaction does), raise DB_POOL_TIMEOUT, or use PostgreSQL for many "
        "concurrent writers."
    )


def _timeout_message(where: str, detail: str, timeout_ms: int | None) -> str:
    limit = f"DB_STATEMENT_TIMEOUT_MS ({timeout_ms} ms)" if timeout_ms else "the server's statement_timeout (DB_STATEMENT_TIMEOUT_MS is not set)"
    return (
        f"A statement on {where} was cancelled ({detail}): it ran past {limit}, or was cancelled on request. "
        "Make it cheaper (an index, a smaller batch) or raise DB_STATEMENT_TIMEOUT_MS."
    )


def _commit_unknown_message(label: str, lost: DatabaseConnectionError) -> str:
    return (
        f"The connection to database '{label}' was lost during COMMIT, so the transaction may or may not have "
        f"committed ({lost}). Do not simply run it again: check whether its changes are there first, or make it "
        "idempotent (a unique key, an upsert), then retry."
    )


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
