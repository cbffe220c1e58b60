"""A TCP proxy on 127.0.0.1 that can forget its connections the way a NAT or a firewall does.

    with SilentDropProxy(postgres_url) as proxy:
        url = proxy.url            # the same database, through the proxy
        proxy.drop_silently()      # every relayed connection is cut on the server's side only

After ``drop_silently()`` the server sees each connection close; the client hears nothing, its socket
stays quiet and open, until it sends something: then it gets a reset. New connections are relayed
as before. Nothing is done to the server itself.
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass

from sqlalchemy.engine import make_url

from tests.integration.postgres_proxy import close_socket


@dataclass
class _Relayed:
    client: socket.socket
    upstream: socket.socket
    dropped: bool = False


class SilentDropProxy:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self._upstream = (parsed.host or "127.0.0.1", parsed.port or 5432)
        self._url = parsed
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._relayed: list[_Relayed] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self._url.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def __enter__(self) -> SilentDropProxy:
        threading.Thread(target=self._accept, name="silent-drop-accept", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        with self._lock:
            relayed, self._relayed = self._relayed, []
        for pair in relayed:
            for sock in (pair.client, pair.upstream):
                close_socket(sock)

    def drop_silently(self) -> None:
        """Close every relayed connection towards the server, and say nothing to the client."""
        with self._lock:
            relayed = list(self._relayed)
        for pair in relayed:
            pair.dropped = True
            close_socket(pair.upstream)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            pair = _Relayed(client, socket.create_connection(self._upstream, timeout=5))
            pair.upstream.settimeout(None)
            with self._lock:
                self._relayed.append(pair)
            threading.Thread(target=_to_server, args=(pair,), name="silent-drop-up", daemon=True).start()
            threading.Thread(target=_to_client, args=(pair,), name="silent-drop-down", daemon=True).start()


def _to_server(pair: _Relayed) -> None:
    """Client bytes to the server; once dropped, the first bytes get the client a reset (RST)."""
    try:
        while chunk := pair.client.recv(65536):
            if pair.dropped:
                pair.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                pair.client.close()  # with a zero linger: a reset, not an orderly end
                return
            pair.upstream.sendall(chunk)
    except OSError:
        pass
    close_socket(pair.client)
    close_socket(pair.upstream)


def _to_client(pair: _Relayed) -> None:
    """Server bytes to the client; the server's end is passed on only while the connection is not dropped."""
    try:
        while chunk := pair.upstream.recv(65536):
            pair.client.sendall(chunk)
    except OSError:
        pass
    if not pair.dropped:
        close_socket(pair.client)
