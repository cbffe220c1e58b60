"""Files in step with a database transaction: a save undone when it rolls back, a delete done when it commits.

One ``PendingFiles`` per SQLAlchemy session (in ``session.info``) listens to ``after_commit`` and
``after_transaction_end``. An action belongs to the innermost transaction open when it was asked for: a
savepoint that rolls back undoes its saves and drops its deletes, one that is released hands them to its
parent, and the outermost transaction runs the deletes when it commits and undoes the saves otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modules.infrastructure.domain.errors import StorageError, StoredFileNotFoundError
from modules.infrastructure.domain.storage.ports import StorageBackend
from modules.infrastructure.domain.storage.values import StoredFile

logger = logging.getLogger(__name__)
Action = Callable[[], object]
PENDING_FILES = "infrastructure.storage.pending_files"  # the key of the session's PendingFiles in session.info


def check_session(session: Any) -> Any:
    """The SQLAlchemy session under ``session`` (a ``DatabaseSession`` that is open), or ``StorageError``."""
    sa_session = getattr(session, "session", None)
    if not hasattr(sa_session, "get_transaction") or not hasattr(session, "closed"):
        raise StorageError(f"session= takes a session from InfrastructureService.get_database_session(), not {type(session).__name__}")
    if session.closed:
        raise StorageError("session= is closed: its transaction has ended; save or delete without it, or in an open session")
    return sa_session


def on_outcome(session: Any, *, committed: Action | None = None, rolled_back: Action | None = None) -> None:
    """Run ``committed`` once the session's outermost transaction commits with the current one, or ``rolled_back``
    as soon as the current transaction (a savepoint or the outermost one) ends any other way."""
    sa_session = check_session(session)
    transaction = sa_session.get_nested_transaction() or sa_session.get_transaction() or sa_session.begin()
    pending_files(sa_session).add(transaction, _Pending(committed, rolled_back))


def undo_save(backend: StorageBackend, stored: StoredFile) -> Action:
    """Remove the file ``stored`` describes, unless another writer has since replaced it (its SHA-256 or
    creation time differ): a rollback takes back its own save, never someone else's file."""

    def remove() -> None:
        try:
            now = backend.info(stored.namespace, stored.key)
        except StoredFileNotFoundError:
            return
        if (now.sha256, now.created_at) != (stored.sha256, stored.created_at):
            logger.warning(
                "The file %r of %r saved in a transaction that did not commit was replaced since; the new file is kept",
                stored.key, stored.namespace,
            )
            return
        backend.delete(stored.namespace, stored.key)

    return remove


def pending_files(sa_session: Any) -> PendingFiles:
    """The session's ``PendingFiles``, made and hooked to the session the first time (once per session)."""
    files: PendingFiles | None = sa_session.info.get(PENDING_FILES)
    if files is None:
        from sqlalchemy import event  # loaded with the first save in a transaction, not with module_api

        files = sa_session.info[PENDING_FILES] = PendingFiles()
        event.listen(sa_session, "after_commit", files.committed)
        event.listen(sa_session, "after_transaction_end", files.ended)
    return files


@dataclass(frozen=True)
class _Pending:
    committed: Action | None
    rolled_back: Action | None


class PendingFiles:
    """The file actions waiting on one session's open transactions; an ended transaction leaves nothing here."""

    def __init__(self) -> None:
        self.by_transaction: dict[Any, list[_Pending]] = {}
        self._committed: set[Any] = set()

    def __len__(self) -> int:
        """How many actions wait, in all open transactions."""
        return sum(len(actions) for actions in self.by_transaction.values())

    def add(self, transaction: Any, pending: _Pending) -> None:
        self.by_transaction.setdefault(transaction, []).append(pending)

    def committed(self, sa_session: Any) -> None:
        """``after_commit``: the transaction committing is the innermost savepoint still open, else the outermost."""
        transaction = sa_session.get_nested_transaction() or sa_session.get_transaction()
        if transaction in self.by_transaction:
            self._committed.add(transaction)

    def ended(self, _: Any, transaction: Any) -> None:
        """``after_transaction_end``: hand a released savepoint's actions to its parent, or run what is due."""
        committed = transaction in self._committed
        self._committed.discard(transaction)
        actions = self.by_transaction.pop(transaction, None)
        if not actions:
            return
        if committed and transaction.parent is not None:
            self.by_transaction.setdefault(_boundary(transaction.parent), []).extend(actions)
            return
        for pending in actions:
            action = pending.committed if committed else pending.rolled_back
            if action is not None:
                _run(action)


def _boundary(transaction: Any) -> Any:
    """``transaction`` or its nearest parent that is a savepoint or the outermost transaction (not a flush's)."""
    while transaction.parent is not None and not transaction.nested:
        transaction = transaction.parent
    return transaction


def _run(action: Action) -> None:
    """After the transaction has ended nobody can be told of a failure but the log: the file is an orphan."""
    try:
        action()
    except Exception:
        logger.exception("A storage action after the transaction ended failed; the file may need removing by hand")
