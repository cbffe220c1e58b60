"""``run_in_transaction``: run a unit of work, and run it again after a conflict or a lost connection."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from modules.infrastructure.domain.errors import DatabaseConflictError, DatabaseConnectionError
from modules.infrastructure.domain.policies.backoff import backoff_delay
from modules.infrastructure.infrastructure.database.session import DatabaseSession

logger = logging.getLogger(__name__)
R = TypeVar("R")


def run_in_transaction(
    open_session: Callable[[], DatabaseSession],
    fn: Callable[[DatabaseSession], R],
    retries: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> R:
    """``fn(session)`` in one transaction, committed; retried up to ``retries`` times with backoff.

    Retried: serialization failures and deadlocks (``DatabaseConflictError``, SQLSTATE 40001 and
    40P01) wherever they happen, and a connection lost before the commit began. A connection
    lost during the commit is not retried (the commit may have happened). Anything else
    propagates at once, driver errors as ``DatabaseError`` subclasses.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a whole number, 0 or more, not {retries!r}")
    for attempt in range(retries + 1):
        committing = False
        db = open_session()
        try:
            with db.errors:
                result = fn(db)
                committing = True
                db.commit()
            return result
        except Exception as exc:
            db.session.rollback()
            if attempt == retries or not _retryable(exc, committing):
                raise
            delay = backoff_delay(attempt)
            logger.warning("Transaction attempt %d failed (%s); retrying in %.3fs", attempt + 1, type(exc).__name__, delay)
            sleep(delay)
        finally:
            db.close()
    raise AssertionError("unreachable")  # the loop returns or raises


def _retryable(error: BaseException, committing: bool) -> bool:
    if isinstance(error, DatabaseConflictError):
        return True
    return isinstance(error, DatabaseConnectionError) and not committing
