"""The WSGI application of the metrics server: ``/metrics`` for Prometheus, ``/livez`` and ``/readyz`` for an orchestrator.

``/metrics`` is prometheus_client's own application (content negotiation, gzip, ``name[]`` filters) over the
module's registries, read at each scrape. ``/livez`` answers 200 while the process serves requests; ``/readyz``
200 when the checks ``HEALTH_READY_COMPONENTS`` names pass, else 503, each as JSON.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.metrics_core import Metric

from modules.infrastructure.domain.errors import InfrastructureError
from modules.infrastructure.domain.health.values import Readiness
from modules.infrastructure.infrastructure.metrics.exposition import MetricsExposition

Respond = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], Respond], Iterable[bytes]]
LIVENESS = ("/livez", "/healthz")
READINESS = "/readyz"
METRICS = ("/", "/metrics")
READINESS_REUSE_SECONDS = 1.0  # probes within a second share one check: a burst of requests runs the checks once


class _CurrentExposition:
    """A collector that yields the families of the exposition in use at each scrape (after a reset, the new one)."""

    def __init__(self, exposition: Callable[[], MetricsExposition]) -> None:
        self._exposition = exposition

    def collect(self) -> Iterator[Metric]:
        yield from self._exposition().collect()


def probes_app(exposition: Callable[[], MetricsExposition], readiness: Callable[[], Readiness]) -> WSGIApp:
    """The application; ``exposition`` and ``readiness`` are looked up per request, so an override or reset is followed."""
    registry = CollectorRegistry(auto_describe=False, support_collectors_without_names=True)  # name[] filters reach it
    registry.register(_CurrentExposition(exposition))
    metrics = make_wsgi_app(registry)
    started = time.monotonic()
    shared_readiness = _Shared(readiness, READINESS_REUSE_SECONDS)

    def app(environ: dict[str, Any], start_response: Respond) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path in (*LIVENESS, READINESS) and environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _text(start_response, "405 Method Not Allowed", "The probes answer GET\n")
        if path in LIVENESS:
            alive = {"status": "alive", "pid": os.getpid(), "uptime_seconds": round(time.monotonic() - started, 1), "threads": threading.active_count()}
            return _json(start_response, "200 OK", alive)
        if path == READINESS:
            answer = shared_readiness()
            return _json(start_response, "200 OK" if answer.ready else "503 Service Unavailable", answer.to_dict())
        if path in METRICS:
            try:
                exposition()
            except InfrastructureError as exc:  # e.g. a malformed configuration; the message holds no secret
                return _text(start_response, "500 Internal Server Error", f"metrics unavailable: {exc}\n")
            served: Iterable[bytes] = metrics(environ, start_response)
            return served
        return _text(start_response, "404 Not Found", f"Not found: {', '.join((*METRICS[1:], *LIVENESS, READINESS))} are served\n")

    return app


class _Shared:
    """``compute()``'s answer, computed by one caller at a time and reused for ``max_age`` seconds."""

    def __init__(self, compute: Callable[[], Readiness], max_age: float) -> None:
        self._compute, self._max_age = compute, max_age
        self._lock = threading.Lock()
        self._last: tuple[float, Readiness] | None = None

    def __call__(self) -> Readiness:
        with self._lock:
            if self._last is None or time.monotonic() - self._last[0] >= self._max_age:
                self._last = (time.monotonic(), self._compute())
            return self._last[1]


def _json(start_response: Respond, status: str, data: dict[str, Any]) -> list[bytes]:
    body = json.dumps(data).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")])
    return [body]


def _text(start_response: Respond, status: str, text: str) -> list[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
