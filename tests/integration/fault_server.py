"""A small OpenAI-compatible server on 127.0.0.1 that answers from a script: errors, Retry-After, delays,
malformed bodies, trickled bytes and slow streams.

    with FaultServer([Answer(503), Answer(200)]) as server:
        base_url = server.base_url   # http://127.0.0.1:<port>/v1

Each request takes the next scripted answer (the last one repeats); ``server.requests`` keeps
the path, headers and JSON body of each. A request with ``"stream": true`` is answered with
server-sent events: one per word of ``content``, ``chunk_interval`` seconds apart. ``/embeddings``
answers one ``text_vector`` per input and ``/moderations`` a classification flagging texts with "attack".
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


FAULT_API_KEY = "sk-integration-0000-secret"  # the key tests configure; it must never show in an error


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content: str | None = "Hello from the fault server"  # None: "content": null
    code: str | None = None
    body: bytes | None = None  # sent as it is instead of a completion (a malformed answer)
    byte_interval: float = 0.0  # seconds between the bytes of the body: a trickling server
    trickle_headers: bool = False  # trickle the status line and headers too
    chunk_interval: float = 0.0  # seconds before each event of a stream
    finish_reason: str | None = "stop"  # None: a stream that ends without one (cut short)
    tool_calls: tuple[tuple[str, str, str], ...] = ()  # (id, name, arguments as JSON text); streamed in pieces


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float


class FaultServer:
    def __init__(self, answers: list[Answer]) -> None:
        self.answers = list(answers)
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def next_answer(self, seen: Seen) -> Answer:
        with self._lock:
            self.requests.append(seen)
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                answer = server.next_answer(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()))
                time.sleep(answer.delay)
                streamed = bool(body.get("stream")) and answer.status == 200 and answer.body is None
                try:
                    if streamed:
                        self._send(_head(answer, None, "text/event-stream"), answer.byte_interval if answer.trickle_headers else 0)
                        for event in _events(answer, body):
                            time.sleep(answer.chunk_interval)
                            self._send(event, answer.byte_interval)
                    else:
                        payload = _payload(answer, body, self.path)
                        self._send(_head(answer, len(payload), "application/json"), answer.byte_interval if answer.trickle_headers else 0)
                        self._send(payload, answer.byte_interval)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): fine
                    pass

            def _send(self, data: bytes, interval: float) -> None:
                if not interval:
                    self.wfile.write(data)
                    return
                for index in range(len(data)):
                    self.wfile.write(data[index : index + 1])
                    time.sleep(interval)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler


def _head(answer: Answer, length: int | None, content_type: str) -> bytes:
    """Status line and headers of an HTTP/1.0 answer (the connection closes after it)."""
    headers = {"content-type": content_type, **answer.headers}
    if length is not None:
        headers["content-length"] = str(length)
    lines = [f"HTTP/1.0 {answer.status} {HTTPStatus(answer.status).phrase}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _payload(answer: Answer, body: dict[str, Any], path: str = "/v1/chat/completions") -> bytes:
    if answer.body is not None:
        return answer.body
    if answer.status != 200:
        error = {"message": f"scripted {answer.status}", "type": "scripted", "code": answer.code}
        return json.dumps({"error": error}).encode()
    if path.endswith("/embeddings"):
        return _embeddings(body)
    if path.endswith("/moderations"):
        return _moderation(body)
    completion = {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "m"),
        "choices": [{"index": 0, "message": _message(answer), "finish_reason": answer.finish_reason}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }
    return json.dumps(completion).encode()


def _message(answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if answer.tool_calls:
        message["tool_calls"] = [{"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in answer.tool_calls]
    return message


def _events(answer: Answer, body: dict[str, Any]) -> list[bytes]:
    """One event per word of the content (the last with the finish reason unless tool calls follow), the tool
    calls in pieces of five characters, the usage, then ``[DONE]``."""
    words = re.findall(r"\S+\s*", answer.content or "")
    base = {"id": "chatcmpl-fault", "object": "chat.completion.chunk", "created": 0, "model": body.get("model", "m")}
    last = None if answer.tool_calls else answer.finish_reason
    events = [
        {**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": last if i == len(words) - 1 else None}]}
        for i, word in enumerate(words)
    ]
    for index, (call_id, name, arguments) in enumerate(answer.tool_calls):
        pieces = [arguments[i : i + 5] for i in range(0, len(arguments), 5)] or [""]
        for number, piece in enumerate(pieces):
            head = {"id": call_id, "type": "function", "function": {"name": name, "arguments": piece}} if number == 0 else {"function": {"arguments": piece}}
            events.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": index, **head}]}, "finish_reason": None}]})
    if answer.tool_calls and answer.finish_reason:
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": answer.finish_reason}]})
    events.append({**base, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": len(words), "total_tokens": 3 + len(words)}})
    return [f"data: {json.dumps(event)}\n\n".encode() for event in events] + [b"data: [DONE]\n\n"]


def text_vector(text: str) -> list[float]:
    """The fault server's embedding of ``text``: four numbers from its sha256, the same in every process."""
    digest = hashlib.sha256(text.encode()).digest()
    return [b / 255 for b in digest[:4]]


def _embeddings(body: dict[str, Any]) -> bytes:
    texts = body.get("input") or []
    data = [{"object": "embedding", "index": i, "embedding": text_vector(t)} for i, t in enumerate(texts)]
    tokens = sum(len(t.split()) for t in texts)
    answer = {"object": "list", "data": data, "model": body.get("model", "m"), "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    return json.dumps(answer).encode()


def _moderation(body: dict[str, Any]) -> bytes:
    flagged = "attack" in str(body.get("input"))
    result = {"flagged": flagged, "categories": {"violence": flagged, "hate": False}, "category_scores": {"violence": 0.9 if flagged else 0.01, "hate": 0.0}}
    return json.dumps({"id": "modr-fault", "model": body.get("model", "m"), "results": [result]}).encode()
