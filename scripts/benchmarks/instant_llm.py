"""An OpenAI-compatible server on 127.0.0.1 that answers every chat completion at once, with keep-alive;
a request that declares tools is answered with a tool call, an embeddings request with one 1536-number vector.

    python -m scripts.benchmarks.instant_llm    # prints its port, serves until terminated
"""

from __future__ import annotations

import json
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ANSWER = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "1. Red 2. Blue 3. Green"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
    }
).encode()


TOOL_CALL = {"id": "call_bench", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}}
TOOL_ANSWER = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52},
    }
).encode()

EMBEDDING_DIMENSIONS = 1536  # text-embedding-3-small's
EMBEDDING = json.dumps(
    {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [round(0.001 * (i % 997) - 0.5, 6) for i in range(EMBEDDING_DIMENSIONS)]}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }
).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path.endswith("/embeddings"):
            answer = EMBEDDING  # one text's vector, whatever was sent
        else:
            answer = TOOL_ANSWER if b'"tools"' in body else ANSWER
        # One write: headers and body in separate segments meet delayed ACKs (40 ms a request).
        head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(answer)}\r\n\r\n"
        self.wfile.write(head.encode() + answer)

    def log_message(self, *args: object) -> None:
        pass


class InstantServer:
    """``with InstantServer() as server: server.base_url``: the server runs in a process of its own.

    In the benchmark's process its threads would take the GIL from the client being timed, and
    the noise would be larger than the facade's overhead that the benchmark is there to show.
    """

    module = "scripts.benchmarks.instant_llm"  # run with -m; prints its port first
    base_path = "/v1"

    def __enter__(self) -> InstantServer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.module],
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        port = int(self._process.stdout.readline())
        self.base_url = f"http://127.0.0.1:{port}{self.base_path}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.wait(10)


def serve() -> None:
    """Serve on a free port of 127.0.0.1, printing the port first, until terminated."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve()
