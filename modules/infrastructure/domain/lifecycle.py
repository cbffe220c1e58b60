"""What every component that holds connections, threads or servers declares on its port."""

from __future__ import annotations

from typing import Protocol


class Closeable(Protocol):
    """Something that holds an open resource until it is closed."""

    def close(self) -> None:
        """Release every connection, thread or server; safe to call twice."""
        ...


class Resource(Closeable, Protocol):
    """A long-lived component: closed at shutdown, and told when it finds itself in a forked child."""

    def after_fork(self) -> None:
        """In a forked child: drop what was inherited (sockets, threads, locks) without closing the parent's."""
        ...
