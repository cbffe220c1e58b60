"""A TCP proxy on 127.0.0.1 in front of the real PostgreSQL that misbehaves on request.

    with PostgresProxy(postgres_url, refuse_first=2) as proxy:
        url = proxy.url          # the same database, reached through the proxy
        ...                      # the first two connections are refused: "the database system is starting up"
    with PostgresProxy(postgres_url) as proxy:
        proxy.cut_at_next_commit(forward=True)   # the server commits, the client never hears it

It speaks just enough of the protocol: it answers SSL and GSS encryption requests with "no"
(the stream stays readable), refuses a connection the way a starting server does (an
ErrorResponse with SQLSTATE 57P03), and reads the client's messages to find a simple-query
COMMIT ('Q' "COMMIT"), which psycopg2 sends. Nothing is done to the shared server itself.
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.engine import make_url

_SSL_REQUEST, _GSSENC_REQUEST = 80877103, 80877104
_STARTING_UP = (b"SFATAL\0", b"VFATAL\0", b"C57P03\0", b"Mthe database system is starting up\0")
CutMode = Literal["before", "after"]


@dataclass
class ProxyLog:
    """What the proxy saw: connections accepted, refused, and COMMITs it cut."""

    connections: int = 0
    refused: int = 0
    commits_cut: list[CutMode] = field(default_factory=list)


class PostgresProxy:
    """Relays 127.0.0.1:<port> to ``url``'s server; ``refuse_first`` connections (``None``: all) are refused."""

    def __init__(self, url: str, *, refuse_first: int | None = 0) -> None:
        parsed = make_url(url)
        self._upstream = (parsed.host or "127.0.0.1", parsed.port or 5432)
        self._url = parsed
        self._refuse_first = refuse_first
        self._cut: CutMode | None = None
        self.log = ProxyLog()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()

    @property
    def url(self) -> str:
        """``url`` pointing at the proxy, as hosts print it (password kept)."""
        port = self._listener.getsockname()[1]
        return self._url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)

    def cut_at_next_commit(self, *, forward: bool) -> None:
        """Drop the next COMMIT's connection: before the server gets it, or (``forward``) after it has answered."""
        with self._lock:
            self._cut = "after" if forward else "before"

    def __enter__(self) -> PostgresProxy:
        threading.Thread(target=self._accept, name="pg-proxy", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                close_socket(sock)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.log.connections += 1
                refuse = self._refuse_first is None or self.log.connections <= self._refuse_first
                self._sockets.append(client)
            threading.Thread(target=self._serve, args=(client, refuse), daemon=True).start()

    def _serve(self, client: socket.socket, refuse: bool) -> None:
        try:
            startup = _read_startup(client)
            if refuse:
                with self._lock:
                    self.log.refused += 1
                body = b"".join(_STARTING_UP) + b"\0"
                client.sendall(b"E" + struct.pack("!I", len(body) + 4) + body)
                return
            server = socket.create_connection(self._upstream, timeout=10)
            server.settimeout(None)
            with self._lock:
                self._sockets.append(server)
            server.sendall(startup)
            cut = threading.Event()
            threading.Thread(target=self._to_client, args=(server, client, cut), daemon=True).start()
            self._to_server(client, server, cut)
        except OSError:
            pass
        finally:
            close_socket(client)

    def _to_server(self, client: socket.socket, server: socket.socket, cut: threading.Event) -> None:
        """Client messages to the server, one whole message at a time, watching for COMMIT."""
        while True:
            header = _read_exactly(client, 5)
            kind, length = header[:1], struct.unpack("!I", header[1:])[0]
            message = header + _read_exactly(client, length - 4)
            mode = self._take_cut() if kind == b"Q" and _is_commit(message) else None
            if mode == "before":
                close_socket(server)  # the server never sees the COMMIT: it rolls back
                return
            if mode == "after":
                cut.set()  # the reply is swallowed; _to_client drops the client once it arrives
            server.sendall(message)

    def _to_client(self, server: socket.socket, client: socket.socket, cut: threading.Event) -> None:
        try:
            while chunk := server.recv(65536):
                if cut.is_set():  # the COMMIT's reply: the server has committed, the client never learns it
                    break
                client.sendall(chunk)
        except OSError:
            pass
        finally:
            close_socket(client)
            close_socket(server)

    def _take_cut(self) -> CutMode | None:
        with self._lock:
            mode, self._cut = self._cut, None
            if mode is not None:
                self.log.commits_cut.append(mode)
            return mode


def _read_startup(client: socket.socket) -> bytes:
    """The StartupMessage, after answering "no" to any SSL or GSS encryption request."""
    while True:
        length = struct.unpack("!I", _read_exactly(client, 4))[0]
        body = _read_exactly(client, length - 4)
        if struct.unpack("!I", body[:4])[0] in (_SSL_REQUEST, _GSSENC_REQUEST):
            client.sendall(b"N")
            continue
        return struct.pack("!I", length) + body


def _is_commit(message: bytes) -> bool:
    return message[5:].rstrip(b"\0").strip().rstrip(b";").upper() == b"COMMIT"


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


def close_socket(sock: socket.socket) -> None:
    """An orderly end; shutdown() also wakes a thread blocked in recv() on it, which close() alone does not."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
