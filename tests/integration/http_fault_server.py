"""A scripted HTTP/1.1 server on 127.0.0.1 for the integration client's fault tests; every request recorded.

    with HttpFaultServer() as server:
        server.script("/orders", Reply(503, headers={"retry-after": "1"}), Reply(200, body=b'{"id": 1}'))
        server.url                 # http://127.0.0.1:<port>
        server.received("/orders") # what reached /orders, in order

Each path takes its next reply per request (the last one repeats); an unscripted path answers 200 ``{"ok": true}``.
A reply can wait, trickle its bytes, come chunked, or never come (the connection dropped). Leaving the block
stops every connection, waiting ones too.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

CHUNK = 256  # bytes per chunk of a chunked body


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: Mapping[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    delay: float = 0.0  # seconds before the status line (a server that does not answer: a long delay)
    byte_interval: float = 0.0  # seconds between the bytes of the body: a trickling server
    trickle_head: bool = False  # trickle the status line and headers too
    chunked: bool = False  # Transfer-Encoding: chunked, no Content-Length
    drop: bool = False  # close the connection without answering


@dataclass(frozen=True)
class Received:
    method: str
    path: str  # without the query
    query: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    at: float  # time.monotonic() when it arrived


class HttpFaultServer:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)  # quick to stop

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests to ``path`` with ``replies``, in order; the last one repeats."""
        with self._lock:
            self._scripts[path] = list(replies)

    def received(self, path: str | None = None) -> list[Received]:
        """The requests that arrived (at ``path`` only, when given), in order."""
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def __enter__(self) -> HttpFaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client closed it first
        self._server.server_close()
        self._thread.join(5)

    def _take(self, seen: Received) -> Reply:
        with self._lock:
            self.requests.append(seen)
            replies = self._scripts.get(seen.path)
            if not replies:
                return Reply()
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``; False when the server stops meanwhile."""
        return not self._stopping.wait(seconds) if seconds > 0 else not self._stopping.is_set()


def _handler(server: HttpFaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real services answer

        def setup(self) -> None:
            super().setup()
            server._track(self.connection, True)

        def handle(self) -> None:
            try:
                super().handle()
            except OSError:  # the client closed a kept-alive connection: fine
                pass

        def finish(self) -> None:
            server._track(self.connection, False)
            try:
                super().finish()
            except OSError:
                pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            headers = {name.lower(): value for name, value in self.headers.items()}
            body = self.rfile.read(length) if length else b""
            reply = server._take(Received(self.command, parts.path, parts.query, headers, body, time.monotonic()))
            if reply.drop or not server._pause(reply.delay):
                self.close_connection = True
                return
            try:
                self._write(_head(reply), reply.byte_interval if reply.trickle_head else 0)
                self._write(_chunked(reply.body) if reply.chunked else reply.body, reply.byte_interval)
            except OSError:  # the client gave up (a timeout, a body over its limit): fine
                self.close_connection = True

        def _write(self, data: bytes, interval: float) -> None:
            if not interval:
                self.wfile.write(data)
                return
            for index in range(len(data)):
                self.wfile.write(data[index : index + 1])
                if not server._pause(interval):
                    raise ConnectionAbortedError("the fault server is stopping")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


def _head(reply: Reply) -> bytes:
    headers = dict(reply.headers)
    if reply.chunked:
        headers["transfer-encoding"] = "chunked"
    else:
        headers["content-length"] = str(len(reply.body))
    lines = [f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _chunked(body: bytes) -> bytes:
    pieces = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def closed_port_url() -> str:
    """The URL of a port on 127.0.0.1 that nothing listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
