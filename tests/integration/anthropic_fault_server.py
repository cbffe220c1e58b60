"""A small server on 127.0.0.1 shaped like the Anthropic Messages API (``POST /v1/messages``), answering from a script.

    with ClaudeServer([Claude(529), Claude(text="Hi")]) as server:
        base_url = server.root_url   # ANTHROPIC_BASE_URL: http://127.0.0.1:<port>

Each request takes the next scripted answer (the last one repeats); ``server.requests`` keeps the path,
headers and JSON body of each (as ``FaultServer`` does). A request with ``"stream": true`` is answered with
the API's server-sent events: ``message_start``, a text block (one delta per word), the tool_use blocks
(their input in ``input_json_delta`` pieces), ``message_delta`` with the stop reason and usage, ``message_stop``.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.integration.fault_server import FaultServer, Seen, _head

CLAUDE_API_KEY = "sk-ant-integration-0000-secret"
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
               429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}


@dataclass(frozen=True)
class Claude:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    text: str = "Hello from Claude"
    tool_uses: tuple[tuple[str, str, Any], ...] = ()  # (id, name, input) of each tool_use block
    stop_reason: str = "end_turn"
    usage: tuple[int, int] = (11, 7)  # input and output tokens
    body: bytes | None = None  # sent as it is (a malformed answer)
    cut: bool = False  # a stream that stops before message_stop
    error_event: str | None = None  # a stream that sends an error event of this type after its first text
    delay: float = 0.0  # seconds before the answer (a stream: before each event)


class ClaudeServer(FaultServer):
    """``FaultServer``'s lifecycle and request log, with Messages API answers."""

    def __init__(self, answers: list[Claude]) -> None:
        super().__init__(answers)  # type: ignore[arg-type]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                answer: Any = server.next_answer(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()))
                try:
                    if body.get("stream") and answer.status == 200 and answer.body is None:
                        self.wfile.write(_head(answer, None, "text/event-stream"))
                        for event in _events(answer, body):
                            time.sleep(answer.delay)
                            self.wfile.write(event)
                            self.wfile.flush()
                    else:
                        time.sleep(answer.delay)
                        payload = _payload(answer, body)
                        self.wfile.write(_head(answer, len(payload), "application/json") + payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler


def _payload(answer: Claude, body: dict[str, Any]) -> bytes:
    if answer.body is not None:
        return answer.body
    if answer.status != 200:
        kind = ERROR_TYPES.get(answer.status, "api_error")
        return json.dumps({"type": "error", "error": {"type": kind, "message": f"scripted {answer.status}"}}).encode()
    content: list[dict[str, Any]] = [{"type": "text", "text": answer.text}] if answer.text else []
    content += [{"type": "tool_use", "id": i, "name": n, "input": value} for i, n, value in answer.tool_uses]
    message = {"id": "msg_fault", "type": "message", "role": "assistant", "model": body.get("model", "claude"), "content": content,
               "stop_reason": answer.stop_reason, "stop_sequence": None,
               "usage": {"input_tokens": answer.usage[0], "output_tokens": answer.usage[1], "cache_read_input_tokens": 0}}
    return json.dumps(message).encode()


def _events(answer: Claude, body: dict[str, Any]) -> list[bytes]:
    start = {"id": "msg_fault", "type": "message", "role": "assistant", "model": body.get("model", "claude"), "content": [],
             "stop_reason": None, "usage": {"input_tokens": answer.usage[0], "output_tokens": 1}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    if answer.text:
        events.append({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        words = re.findall(r"\S+\s*", answer.text)
        events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}} for word in words]
        events.append({"type": "content_block_stop", "index": 0})
    if answer.error_event:
        events.append({"type": "error", "error": {"type": answer.error_event, "message": "scripted error event"}})
    for index, (call_id, name, value) in enumerate(answer.tool_uses, start=1):
        events.append({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}}})
        text = json.dumps(value)
        pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
        events += [{"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": p}} for p in pieces]
        events.append({"type": "content_block_stop", "index": index})
    events.append({"type": "message_delta", "delta": {"stop_reason": answer.stop_reason, "stop_sequence": None}, "usage": {"output_tokens": answer.usage[1]}})
    if not answer.cut:
        events.append({"type": "message_stop"})
    return [f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode() for event in events]
