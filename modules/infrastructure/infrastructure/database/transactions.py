"""``run_in_transaction``: run a unit of work, and run it again after a conflict or a lost connection."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import exc as sa_exc

from modules.infrastructure.domain.policies.backoff import backoff_delay
from modules.infrastructure.infrastructure.database.error_mapping import is_conflict
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

    Retried: serialization failures and deadlocks (SQLSTATE 40001, 40P01) wherever they
    happen, and a connection invalidated before the commit began. A connection lost during
    the commit is not retried (the commit may have happened). Anything else propagates at once.
    """
    if retries < 0:
        raise ValueError(f"retries must be 0 or more, not {retries}")
    for attempt in range(retries + 1):
        committing = False
        db = open_session()
        try:
            result = fn(db)
            committing = True
            db.session.commit()
            return result
        except Exception as exc:
            db.session.rollback()
            cause = _driver_error(exc)
            if attempt == retries or not _retryable(cause, committing):
                mapped = db.map_error(exc)
                if mapped is exc:
                    raise
                raise mapped from exc
            delay = backoff_delay(attempt)
            logger.warning("Transaction attempt %d failed (%s); retrying in %.3fs", attempt + 1, type(cause).__name__, delay)
            sleep(delay)
        finally:
            db.session.close()
    raise AssertionError("unreachable")  # the loop returns or raises


def _driver_error(exc: BaseException) -> BaseException:
    """The SQLAlchemy error behind ``exc``, looking through already-mapped errors."""
    while not isinstance(exc, sa_exc.SQLAlchemyError) and exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _retryable(exc: BaseException, committing: bool) -> bool:
    if is_conflict(exc):
        return True
    invalidated = isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
    return invalidated and not committing
