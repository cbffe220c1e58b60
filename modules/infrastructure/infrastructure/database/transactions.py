"""``run_in_transaction``: run a unit of work, and run it again after a conflict or a connection failure that
left nothing committed."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from modules.infrastructure.domain.errors import (
    DatabaseCommitUnknownError,
    DatabaseConflictError,
    DatabaseConnectionError,
    InvalidArgumentError,
)
from modules.infrastructure.domain.policies.backoff import backoff_delay
from modules.infrastructure.infrastructure.database.session import DatabaseSession

logger = logging.getLogger(__name__)
MAX_RETRIES = 100  # backoff caps each wait at 5 s: more would hold a caller for many minutes
R = TypeVar("R")


def run_in_transaction(
    open_session: Callable[[], DatabaseSession],
    fn: Callable[[DatabaseSession], R],
    retries: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> R:
    """``fn(session)`` in one transaction, committed; retried up to ``retries`` times with backoff.

    Retried, as nothing was committed: serialization failures and deadlocks
    (``DatabaseConflictError``, SQLSTATE 40001 and 40P01) wherever they happen, a session that could
    not be opened (refused, "the database system is starting up") and a connection lost before the
    commit. Never retried: a connection lost during the commit (``DatabaseCommitUnknownError``: it
    may have committed). Anything else propagates at once; after the last retry, the last error.
    """
    if not callable(fn):
        raise InvalidArgumentError(f"run_in_transaction(fn) takes a function of the session, not {type(fn).__name__}")
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise InvalidArgumentError(f"run_in_transaction(retries=...) takes a whole number from 0 to {MAX_RETRIES}, not {retries!r}"[:200])
    for attempt in range(retries + 1):
        try:
            return _run_once(open_session, fn)
        except Exception as exc:
            if attempt == retries or not _retryable(exc):
                raise
            delay = backoff_delay(attempt)
            logger.warning("Transaction attempt %d failed (%s); retrying in %.3fs", attempt + 1, type(exc).__name__, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises


def _run_once(open_session: Callable[[], DatabaseSession], fn: Callable[[DatabaseSession], R]) -> R:
    db = open_session()
    try:
        with db.errors:
            result = fn(db)
        db.commit()
        return result
    except Exception:
        db.session.rollback()
        raise
    finally:
        db.close()


def _retryable(error: BaseException) -> bool:
    if isinstance(error, DatabaseCommitUnknownError):
        return False
    return isinstance(error, DatabaseConflictError | DatabaseConnectionError)
