"""``WriteAwareSession``: the module's SQLAlchemy session, which notes a committed write for read-your-writes.

A session opened for a scope (``watch``) counts as having written when, in the transaction it
commits, an ORM flush sent changes (``after_flush`` fires only then) or ``execute()`` ran an
INSERT, UPDATE or DELETE (Core or ORM, bulk ``Query.update``/``delete`` included), DDL, or a
textual statement that does not start with a reading word (``is_write_sql``). A rolled-back
transaction counts for nothing. Statements run on ``session.connection()`` directly are not seen.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql.ddl import ExecutableDDLElement
from sqlalchemy.sql.elements import TextClause

from modules.infrastructure.domain.database.write_statements import is_write_sql
from modules.infrastructure.domain.policies.recent_writers import RecentWriters, Scope

_WATCH = "infrastructure.read_your_writes"  # Session.info: (RecentWriters, scopes) of a session that is watched
_WROTE = "infrastructure.read_your_writes.wrote"  # Session.info: the open transaction wrote


class WriteAwareSession(Session):
    """A ``Session`` whose listeners (on this class, so none is added per session) act only on watched sessions."""


def watch(session: Session, writers: RecentWriters, scopes: Sequence[Scope]) -> None:
    """Tell ``writers`` about ``scopes`` each time ``session`` commits a write."""
    session.info[_WATCH] = (writers, tuple(scopes))


def _mark(session: Session) -> None:
    if _WATCH in session.info:
        session.info[_WROTE] = True


@event.listens_for(WriteAwareSession, "after_flush")
def _flushed(session: Session, _flush: UOWTransaction) -> None:
    _mark(session)


@event.listens_for(WriteAwareSession, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if _WATCH not in state.session.info:
        return
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete or isinstance(statement, ExecutableDDLElement):
        _mark(state.session)
    elif isinstance(statement, TextClause) and is_write_sql(statement.text):
        _mark(state.session)


@event.listens_for(WriteAwareSession, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        writers, scopes = session.info[_WATCH]
        writers.wrote(scopes)


@event.listens_for(WriteAwareSession, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_WROTE, None)
