"""An OTLP/HTTP trace receiver of the test's own on 127.0.0.1: it decodes every export and keeps the spans.

    with OtlpReceiver() as receiver:                 # receiver.endpoint: http://127.0.0.1:<port>
        ...                                          # OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint
        receiver.wait_for(lambda spans: any(s.name == "create lessons" for s in spans))
        print(receiver.tree(trace_id))

``status`` makes it answer every export with that HTTP status instead (a collector that refuses).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from modules.infrastructure.infrastructure.fakes.tracing import span_tree

_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as the collector got it: ids in hex, attributes decoded, the resource's service name."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: str
    attributes: Mapping[str, Any]
    status: int  # 0 unset, 1 ok, 2 error
    start: int  # nanoseconds since the epoch
    end: int
    service: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)


class OtlpReceiver:
    """A threading HTTP server answering ``POST /v1/traces`` like an OpenTelemetry collector."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received(self.path, body, dict(self.headers))
                answer = ExportTraceServiceResponse().SerializeToString() if receiver.status == 200 else b""
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def received(self, path: str, body: bytes, headers: Mapping[str, str]) -> None:
        spans = decode(body, headers) if path == "/v1/traces" and self.status == 200 else []
        with self._changed:
            self.requests += 1
            self.spans.extend(spans)
            self._changed.notify_all()

    def wait_for(self, done: Callable[[list[ReceivedSpan]], bool], timeout: float = 10.0) -> list[ReceivedSpan]:
        """The spans once ``done(spans)`` holds; ``AssertionError`` with what arrived when it does not within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done(self.spans):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the spans received did not arrive as expected: {[s.name for s in self.spans]}")
                self._changed.wait(left)
            return list(self.spans)

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [span for span in self.spans if span.trace_id == trace_id]

    def tree(self, trace_id: str) -> str:
        """The trace as an indented tree, children in start order."""
        return f"trace {trace_id}\n" + span_tree(self.trace(trace_id))


def decode(body: bytes, headers: Mapping[str, str]) -> list[ReceivedSpan]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex(),
                        kind=_KINDS.get(span.kind, str(span.kind)),
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        status=span.status.code,
                        start=span.start_time_unix_nano,
                        end=span.end_time_unix_nano,
                        service=str(resource.get("service.name", "")),
                        headers=dict(headers),
                    )
                )
    return spans


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None
