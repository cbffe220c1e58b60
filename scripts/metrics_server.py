#!/usr/bin/env python3
"""Serve this process's metrics for Prometheus, and the liveness and readiness probes for an orchestrator.

    python scripts/metrics_server.py                         # http://127.0.0.1:9464/metrics, /livez, /readyz until Ctrl-C
    python scripts/metrics_server.py --host 0.0.0.0 --port 9100

The application is ``InfrastructureService.get_metrics_app()``, on prometheus_client's threading WSGI server:
a slow readiness check does not hold up a scrape.

Run on its own it exports what is visible from any process: the outbox's pending and failed events
and its own pools. An application exports its own calls (LLM, sessions, cache) by calling
``start_in_thread()`` from this file in its process. With ``PROMETHEUS_MULTIPROC_DIR`` set (a server
of several worker processes), run on its own beside them it exports every worker's figures, merged.
Exit status: 0 stopped, 2 usage error.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.exposition import ThreadingWSGIServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modules.infrastructure.module_api import InfrastructureService  # noqa: E402
from scripts.sighup import reload_on_sighup  # noqa: E402

class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        """No access line per scrape on stderr."""


def serve(host: str = "127.0.0.1", port: int = 9464) -> WSGIServer:
    """A server bound to ``host:port`` (0: a free port, see ``server.server_port``); call ``serve_forever()``."""
    return make_server(host, port, InfrastructureService.get_metrics_app(), server_class=ThreadingWSGIServer, handler_class=_QuietHandler)


def start_in_thread(host: str = "127.0.0.1", port: int = 9464) -> WSGIServer:
    """Serve this process's metrics from a daemon thread; ``server.shutdown()`` stops it."""
    server = serve(host, port)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server


def _stop_on_signals(server: WSGIServer) -> None:
    """Ctrl-C and SIGTERM end ``serve_forever`` between requests: as a KeyboardInterrupt they could land
    inside a response, where wsgiref's handler catches everything and the server would go on."""

    def stop(*_: object) -> None:
        threading.Thread(target=server.shutdown, name="metrics-server-stop", daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the module's Prometheus metrics.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9464, help="port to listen on; 0 picks a free one (default 9464)")
    args = parser.parse_args(argv)
    try:
        server = serve(args.host, args.port)
    except OSError as exc:
        parser.exit(2, f"cannot listen on {args.host}:{args.port} ({exc}); pick another --port\n")
    _stop_on_signals(server)
    reload_on_sighup()
    print(f"Serving metrics on http://{args.host}:{server.server_port}/metrics (probes: /livez, /readyz; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        InfrastructureService.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
