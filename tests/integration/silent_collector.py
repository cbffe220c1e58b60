"""A TCP server on 127.0.0.1 that accepts connections and never answers: a collector hung behind a load balancer.

    with SilentCollector() as collector:     # collector.endpoint: http://127.0.0.1:<port>
        ...                                  # every request waits until the client gives up
    collector.connections                    # how many connections it was sent
"""

from __future__ import annotations

import socket
import threading
from typing import Self


class SilentCollector:
    """Accepts and reads every connection, answers none, and closes them all when stopped."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._accepted: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-collector", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    @property
    def connections(self) -> int:
        return len(self._accepted)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopped.set()
        self._listener.close()
        self._thread.join(5)
        for connection in self._accepted:
            connection.close()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by __exit__
                return
            self._accepted.append(connection)  # held open, never read from: the request waits for an answer
