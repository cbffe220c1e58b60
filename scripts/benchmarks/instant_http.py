"""An HTTP/1.1 server on 127.0.0.1 that answers every request at once with a small JSON body, with keep-alive.

    python -m scripts.benchmarks.instant_http    # prints its port, serves until terminated

Raw sockets, one thread per connection, one write per answer and TCP_NODELAY: a few microseconds a request,
so the client being timed dominates. ``http.server`` parses headers into an email message and costs more.
"""

from __future__ import annotations

import json
import socket
import threading

from scripts.benchmarks.instant_llm import InstantServer

BODY = json.dumps({"id": 42, "name": "Ada Lovelace", "email": "ada@example.com", "active": True}).encode()
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(BODY), BODY)
END_OF_HEAD = b"\r\n\r\n"


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def _serve_connection(connection: socket.socket) -> None:
    """Answer each request on ``connection`` (its body read and dropped) until the client closes it."""
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buffer = b""
    with connection:
        while True:
            end = buffer.find(END_OF_HEAD)
            if end < 0:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                continue
            request_end = end + len(END_OF_HEAD) + _content_length(buffer[:end])
            while len(buffer) < request_end:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            buffer = buffer[request_end:]
            connection.sendall(ANSWER)


class InstantHttpServer(InstantServer):
    """``with InstantHttpServer() as server: server.base_url``: the server runs in a process of its own, so its
    threads do not take the GIL from the client being timed."""

    module = "scripts.benchmarks.instant_http"
    base_path = ""


def serve() -> None:
    """Serve on a free port of 127.0.0.1, printing the port first, until terminated."""
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=_serve_connection, args=(connection,), daemon=True).start()


if __name__ == "__main__":
    serve()
