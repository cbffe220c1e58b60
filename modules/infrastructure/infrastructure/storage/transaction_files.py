"""Files in step with a database transaction: a save undone when it rolls back, a delete done when it commits.

Hooks go on the SQLAlchemy session under the ``DatabaseSession``: ``after_commit`` marks the transaction
committed, and the end of its outermost transaction (commit, rollback or close) runs what is due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from modules.infrastructure.domain.errors import StorageError

logger = logging.getLogger(__name__)
Action = Callable[[], object]


def check_session(session: Any) -> Any:
    """The SQLAlchemy session under ``session`` (a ``DatabaseSession`` that is open), or ``StorageError``."""
    sa_session = getattr(session, "session", None)
    if not hasattr(sa_session, "get_transaction") or not hasattr(session, "closed"):
        raise StorageError(f"session= takes a session from InfrastructureService.get_database_session(), not {type(session).__name__}")
    if session.closed:
        raise StorageError("session= is closed: its transaction has ended; save or delete without it, or in an open session")
    return sa_session


def on_outcome(session: Any, *, committed: Action | None = None, rolled_back: Action | None = None) -> None:
    """Run ``committed`` after the session's current transaction commits, or ``rolled_back`` when it ends any other way."""
    from sqlalchemy import event  # loaded with the first save in a transaction, not with module_api

    sa_session = check_session(session)
    root = sa_session.get_transaction() or sa_session.begin()
    while root.parent is not None:
        root = root.parent
    state = {"committed": False, "done": False}

    def mark(_: Any) -> None:
        if not state["done"]:
            state["committed"] = True

    def end(_: Any, transaction: Any) -> None:
        if transaction is not root or state["done"]:
            return  # listeners stay (removing one while SQLAlchemy runs them is an error) but act once
        state["done"] = True
        action = committed if state["committed"] else rolled_back
        if action is not None:
            _run(action)

    event.listen(sa_session, "after_commit", mark)
    event.listen(sa_session, "after_transaction_end", end)


def _run(action: Action) -> None:
    """After the transaction has ended nobody can be told of a failure but the log: the file is an orphan."""
    try:
        action()
    except Exception:
        logger.exception("A storage action after the transaction ended failed; the file may need removing by hand")
