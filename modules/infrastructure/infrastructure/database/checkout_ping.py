"""The pool's liveness check: a connection leaving the pool is pinged only when it may be dead.

SQLAlchemy's ``pool_pre_ping`` pings on every checkout, a round trip per session. Here a
connection is pinged when its socket shows the server closed it or wrote to it unasked, when it
sat idle ``DB_POOL_PRE_PING_IDLE_SECONDS`` or longer, or when its driver has no socket to watch
(``must_ping``). A dead one is replaced, with every connection opened before it, as
``pool_pre_ping`` does (docs/adr/0015-a-liveness-check-without-a-round-trip.md).
"""

from __future__ import annotations

import select
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from modules.infrastructure.domain.policies.checkout_ping import must_ping

CHECKED_IN_AT = "checked_in_at"  # on the pool entry's info, which SQLAlchemy clears when the connection is replaced
_WATCHABLE = hasattr(select, "poll")  # poll(), not select(): select() fails on descriptors above 1023


def install_checkout_ping(engine: Engine, idle_limit: float) -> None:
    """Ping ``engine``'s pooled connections on checkout when ``must_ping`` says so; replace the dead ones."""
    dialect = engine.dialect

    def on_checkin(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info[CHECKED_IN_AT] = time.monotonic()

    def on_checkout(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, proxy: PoolProxiedConnection) -> None:
        checked_in_at = record.info.pop(CHECKED_IN_AT, None)
        if checked_in_at is None:  # opened for this checkout
            return
        if must_ping(time.monotonic() - checked_in_at, idle_limit, server_spoke(dbapi_connection)):
            try:
                dialect.do_ping(dbapi_connection)
            except dialect.loaded_dbapi.Error as exc:
                if dialect.is_disconnect(exc, dbapi_connection, None):
                    # The pool closes it, connects anew, and replaces every connection opened before it.
                    raise InvalidatePoolError(f"the pooled connection failed its ping: {type(exc).__name__}") from exc
                raise

    event.listen(engine, "checkin", on_checkin)
    event.listen(engine, "checkout", on_checkout)


def server_spoke(dbapi_connection: object) -> bool | None:
    """Whether the idle connection's socket is readable (bytes nobody asked for, or closed), without a round trip;
    ``None`` when the driver shows no socket."""
    fileno = getattr(dbapi_connection, "fileno", None)
    if fileno is None or not _WATCHABLE:
        return None
    try:
        descriptor = fileno()
    except Exception:  # psycopg2: "connection already closed"
        return True
    watcher = select.poll()
    watcher.register(descriptor, select.POLLIN | select.POLLPRI)
    return bool(watcher.poll(0))
