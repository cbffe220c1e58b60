"""When a pooled connection is pinged on checkout: the rule, and the socket check that costs no round trip."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from modules.infrastructure.domain.policies.checkout_ping import must_ping
from modules.infrastructure.infrastructure.database.checkout_ping import server_spoke


@pytest.mark.parametrize(
    ("idle", "limit", "spoke", "ping"),
    [
        (0.001, 10, False, False),  # busy and quiet: the common case costs nothing
        (9.9, 10, False, False),
        (10.0, 10, False, True),  # idle long enough for the network to have dropped it silently
        (0.001, 10, True, True),  # the server closed it or wrote to it: a restart, a terminated backend
        (0.001, 10, None, True),  # no socket to watch (SQLite): ping as pool_pre_ping does
        (0.0, 0, False, True),  # DB_POOL_PRE_PING_IDLE_SECONDS=0: every checkout
    ],
)
def test_a_connection_is_pinged_only_when_it_may_be_dead(idle: float, limit: float, spoke: bool | None, ping: bool) -> None:
    assert must_ping(idle, limit, spoke) is ping


class SocketConnection:
    """A DBAPI connection as the check sees it: something with ``fileno()``."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def fileno(self) -> int:
        return self._sock.fileno()


class ClosedConnection:
    def fileno(self) -> int:
        raise RuntimeError("connection already closed")  # psycopg2 raises InterfaceError


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, server = socket.socketpair()
    yield ours, server
    ours.close()
    server.close()


def test_a_quiet_socket_says_nothing(pair: tuple[socket.socket, socket.socket]) -> None:
    assert server_spoke(SocketConnection(pair[0])) is False


def test_bytes_nobody_asked_for_say_the_server_spoke(pair: tuple[socket.socket, socket.socket]) -> None:
    pair[1].sendall(b"E...57P01 terminating connection due to administrator command")
    assert server_spoke(SocketConnection(pair[0])) is True


def test_a_socket_the_server_closed_says_it_spoke(pair: tuple[socket.socket, socket.socket]) -> None:
    pair[1].close()
    assert server_spoke(SocketConnection(pair[0])) is True


def test_a_closed_connection_or_one_without_a_socket() -> None:
    assert server_spoke(ClosedConnection()) is True
    assert server_spoke(object()) is None  # sqlite3: nothing to watch, so it is pinged
