"""``LocalWebhook``: a tiny receiver on 127.0.0.1 that stands in for the "webhook" integration in ``./scripts/run``.

It records each POST (path, headers, body) for the script to show, answers ``204``, and answers a GET (the
start-up check's ``INTEGRATION_WEBHOOK_HEALTH_PATH``) with ``200``. A port of its own, a daemon thread.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 1024 * 1024  # bytes of a POST kept; a notification is a few hundred


@dataclass(frozen=True)
class ReceivedPost:
    """One POST as it arrived: its path, headers (names in lower case) and body."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Recorder(BaseHTTPRequestHandler):
    server: _RecordingServer

    def do_POST(self) -> None:
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        body = self.rfile.read(length)
        self.server.posts.put(ReceivedPost(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self._answer(204)

    def do_GET(self) -> None:
        self._answer(200)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the script prints what arrived."""


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Recorder)
        self.posts: queue.Queue[ReceivedPost] = queue.Queue()


class LocalWebhook:
    """The receiver, serving from a daemon thread once built; ``OSError`` when it cannot listen."""

    def __init__(self) -> None:
        self._server = _RecordingServer()
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-webhook", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def next_post(self, timeout: float) -> ReceivedPost | None:
        """The next POST received, waiting up to ``timeout`` seconds; ``None`` when none came."""
        try:
            return self._server.posts.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
