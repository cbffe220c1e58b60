"""``DatabaseSession``: a live SQLAlchemy session from the module's pool, with driver errors mapped."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from time import perf_counter
from types import TracebackType
from typing import TYPE_CHECKING, Any

from modules.infrastructure.domain.tracing.ports import NO_SPAN, NO_TRACING, Span, Tracer

if TYPE_CHECKING:
    from modules.infrastructure.infrastructure.database.error_mapping import DatabaseErrors


@dataclass
class DatabaseSession:
    """A pooled database session. Recommended: use it as a context manager.

    ``with InfrastructureService.get_database_session() as db:`` commits when the block ends,
    rolls back on an exception, and always closes (the connection goes back to the pool);
    a driver error leaving the block is raised as a ``DatabaseError`` subclass. Attribute
    access goes to the SQLAlchemy ``Session``: ``db.execute(text("SELECT 1")).scalar()``,
    ``db.query(Model)``. Without ``with``, call ``commit()`` and ``close()`` yourself; a
    failed statement still raises a ``DatabaseError`` subclass wherever it runs (``Query``
    methods and lazy loads included), and so do the ORM errors of ``execute``, ``scalar(s)``,
    ``get``, ``flush`` and ``commit``.
    """

    session: Any
    connection_id: str
    # The pool's error seam, which maps driver errors to ``DatabaseError`` subclasses.
    errors: DatabaseErrors = field(repr=False, compare=False)
    # Called once, with the seconds since ``opened_at`` (``perf_counter``), when the session closes: the metrics.
    on_close: Callable[[float], None] | None = field(default=None, repr=False, compare=False)
    opened_at: float = field(default=0.0, repr=False, compare=False)
    # Set when the session closes (its ``with`` block ended or ``close()``): writes through it would never commit.
    closed: bool = field(default=False, repr=False, compare=False)
    # A ``with`` block is one "database session" span: opened on entry, ended with the commit or rollback.
    span_attributes: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    tracer: Tracer = field(default=NO_TRACING, repr=False, compare=False)
    _scope: AbstractContextManager[Span] = field(default=NO_SPAN, repr=False, compare=False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["session"], name)

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        """``Session.execute``, with driver errors raised as ``DatabaseError`` subclasses."""
        return self._call(self.session.execute, args, kwargs)

    def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(self.session.scalar, args, kwargs)

    def scalars(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(self.session.scalars, args, kwargs)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(self.session.get, args, kwargs)

    def flush(self, *args: Any, **kwargs: Any) -> None:
        self._call(self.session.flush, args, kwargs)

    def commit(self) -> None:
        """Commit the transaction; raises a ``DatabaseError`` subclass on failure.

        A connection lost during the COMMIT itself raises ``DatabaseCommitUnknownError``: the server
        may have committed. Pending writes are flushed first, so a connection lost while sending them
        is a plain ``DatabaseConnectionError`` (nothing was committed).
        """
        session = self.session
        try:
            session.flush()
        except Exception as exc:
            self.errors.raise_mapped(exc)
        try:
            session.commit()
        except Exception as exc:
            self.errors.raise_commit_failure(exc)

    def close(self) -> None:
        """Roll back anything uncommitted and return the connection to the pool."""
        self.session.close()
        self._closed()

    def __enter__(self) -> DatabaseSession:
        # No outcome attribute: a span that ends failed rolled back, one that ends ok committed.
        scope = self.tracer.span("database session", "client", self.span_attributes)
        scope.__enter__()
        self._scope = scope
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        scope, self._scope = self._scope, NO_SPAN
        try:
            self._end(exc)
        except BaseException as failure:
            scope.__exit__(type(failure), failure, failure.__traceback__)
            raise
        scope.__exit__(exc_type, exc, tb)

    def _end(self, exc: BaseException | None) -> None:
        """Commit, or roll back after ``exc``; close either way."""
        try:
            if exc is None:
                self.commit()
            else:
                self.session.rollback()
                if isinstance(exc, Exception):
                    self.errors.raise_mapped(exc)  # a driver error leaves as its DatabaseError subclass
        finally:
            self.session.close()
            self._closed()

    def _closed(self) -> None:
        self.closed = True
        observe, self.on_close = self.on_close, None
        if observe is not None:
            observe(perf_counter() - self.opened_at)

    def _call(self, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            self.errors.raise_mapped(exc)
