"""``HandlerSession``: the session a listener's handler gets, whose transaction only the worker may end.

The handler's work and its publication record commit together, and a batch of handlers shares one
transaction: a handler that committed, rolled back or closed it would break effect-once for itself
or undo the handlers before it. Those calls raise instead; a handler that wants its work undone raises.
"""

from __future__ import annotations

from types import TracebackType

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
