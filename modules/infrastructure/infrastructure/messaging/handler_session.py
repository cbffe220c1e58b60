"""``HandlerSession``: the session a listener's handler gets, whose transaction only the worker may end.

The handler's work and its publication record commit together, and a batch of handlers shares one
transaction: a handler that committed, rolled back or closed it would break effect-once for itself
or undo the handlers before it. Those calls raise instead; a handler that wants its work undone raises.
``TransactionGuard`` does the same for the SQLAlchemy session and connection underneath
(``db.session.commit()``, ``db.session.connection().commit()``), which the wrapper cannot intercept.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction

from modules.infrastructure.domain.errors import MessagingError
from modules.infrastructure.infrastructure.database.session import DatabaseSession

_WHY = (
    "A listener's session is committed by the infrastructure together with the listener's publication record "
    "(and with the other handlers of its batch); raise an exception to have this attempt rolled back and retried"
)


class HandlerSession(DatabaseSession):
    """The worker's session for one batch, as its handlers see it: everything but ending the transaction."""

    @classmethod
    def of(cls, db: DatabaseSession) -> HandlerSession:
        return cls(session=db.session, connection_id=db.connection_id, errors=db.errors)

    def commit(self) -> None:
        raise MessagingError(f"commit() is not available to a listener: {_WHY}")

    def rollback(self) -> None:
        raise MessagingError(f"rollback() is not available to a listener: {_WHY}")

    def close(self) -> None:
        raise MessagingError(f"close() is not available to a listener: {_WHY}")

    def __enter__(self) -> DatabaseSession:
        raise MessagingError(f"A listener's session is not a context manager: {_WHY}")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        return None


class TransactionGuard:
    """While the handlers of a batch run: a commit of the shared transaction through the SQLAlchemy session or its
    connection is refused, and a rollback or close of it is noticed, so the batch fails instead of committing half.

    Savepoints (``begin_nested``) stay available. ``check()`` after each handler raises for an end it noticed;
    ``release()`` before the worker's own commit.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._connection: Connection = session.connection()  # begins the transaction the handlers share
        self.ended: str | None = None
        self._released = False
        event.listen(session, "before_commit", self._before_session_commit)
        event.listen(session, "after_transaction_end", self._after_transaction_end)
        event.listen(self._connection, "commit", self._before_connection_commit)
        event.listen(self._connection, "rollback", self._on_connection_rollback)
        self._sqlite = self._connection.dialect.name == "sqlite"
        if self._sqlite:
            event.listen(self._connection, "savepoint", self._begin_before_savepoint)

    def check(self) -> None:
        """Raise the ``MessagingError`` for a rollback or close of the shared transaction the last handler did."""
        if self.ended is not None:
            raise MessagingError(f"{self.ended}() is not available to a listener: {_WHY}")

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        event.remove(self._session, "before_commit", self._before_session_commit)
        event.remove(self._session, "after_transaction_end", self._after_transaction_end)
        event.remove(self._connection, "commit", self._before_connection_commit)
        event.remove(self._connection, "rollback", self._on_connection_rollback)
        if self._sqlite:
            event.remove(self._connection, "savepoint", self._begin_before_savepoint)

    def _begin_before_savepoint(self, connection: Connection, name: str) -> None:
        # Python's sqlite3 sends no BEGIN before a SAVEPOINT: a savepoint opened first would be the transaction
        # itself, and releasing it would commit the handler's work without its record. Begin the real one first.
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is not None and not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN")

    def _before_session_commit(self, session: Session) -> None:
        if session.get_nested_transaction() is None:  # the shared transaction itself, not a savepoint
            raise MessagingError(f"commit() is not available to a listener: {_WHY}")

    def _after_transaction_end(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None and self.ended is None:
            self.ended = "rollback"

    def _before_connection_commit(self, connection: Connection) -> None:
        # Raising alone is not enough: SQLAlchemy then forgets the transaction, and the driver's still-open one
        # would commit when the connection goes back to the pool. Rolled back here, the whole batch is undone.
        self.ended = "commit"
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is not None:
            dbapi_connection.rollback()
        raise MessagingError(f"commit() is not available to a listener: {_WHY}")

    def _on_connection_rollback(self, connection: Connection, *_: Any) -> None:
        if self.ended is None:
            self.ended = "rollback"
