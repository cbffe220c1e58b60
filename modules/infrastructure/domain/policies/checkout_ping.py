"""When a connection leaving the pool is pinged: only when it may be dead, as a ping costs a round trip."""

from __future__ import annotations


def must_ping(idle_seconds: float, idle_limit: float, server_spoke: bool | None) -> bool:
    """Whether to ping a pooled connection, idle ``idle_seconds``, as it is checked out.

    ``server_spoke``: its socket has unread bytes or is closed (a server that shuts down, restarts,
    crashes or ends the session sends an error and closes, so it always says so); ``None``: the
    driver's socket cannot be watched, so every checkout pings. A connection the network dropped
    silently says nothing: it is pinged once it sat idle ``idle_limit`` seconds or longer.
    """
    return server_spoke is not False or idle_seconds >= idle_limit
