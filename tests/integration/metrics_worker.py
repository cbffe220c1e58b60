"""A worker process of the multi-process metrics tests, run as ``python -m tests.integration.metrics_worker``.

``work N``: N database sessions with an event each, N cache reads, a sibling's counter and gauges moved by N, one session
held open; prints ``ready <pid>`` and waits for a line on stdin before it ends. ``breaker``: one failed call to the
integration ``crm`` (configured by the environment to open its breaker at once), then as ``work``. ``scrape``: prints the metrics as
``metrics_text()`` and ``get_metrics_app()`` serve them, as JSON. ``dead PID``: ``mark_metrics_process_dead(PID)``.
Each prints ``error <class>: <message>`` and exits 1 on an ``InfrastructureError``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from sqlalchemy import text

from modules.infrastructure.module_api import InfrastructureError, InfrastructureService, IntegrationError

SIBLING = "billing"


def work(amount: int) -> None:
    metrics = InfrastructureService.get_metrics(SIBLING)
    metrics.counter("invoices_sent", "Invoices sent").inc(amount)
    metrics.gauge("invoices_in_progress", "Invoices being rendered", multiprocess_mode="livesum").inc(amount)
    metrics.gauge("render_queue", "Invoices this worker has queued").set(amount)  # liveall: one series per worker
    for number in range(amount):
        with InfrastructureService.get_database_session() as db:
            InfrastructureService.publish_event("billing", {"number": number}, event_type="billing.invoice_sent", source=SIBLING, session=db)
        InfrastructureService.get_cache("invoices").get(f"invoice-{number}")
    with InfrastructureService.get_database_session() as held:  # one connection checked out while the scrapes run
        held.execute(text("SELECT 1"))
        print(f"ready {os.getpid()}", flush=True)
        sys.stdin.readline()


def open_breaker() -> None:
    try:
        InfrastructureService.get_http_client("crm").get("/health")
    except IntegrationError:
        pass  # expected: nothing listens there, and the breaker opens
    print(f"ready {os.getpid()}", flush=True)
    sys.stdin.readline()


def scrape() -> None:
    served: list[Any] = []
    body = InfrastructureService.get_metrics_app()({"PATH_INFO": "/metrics", "REQUEST_METHOD": "GET"}, lambda status, headers: served.append(status))
    print(json.dumps({"text": InfrastructureService.metrics_text(), "app": b"".join(body).decode(), "status": served[0]}))


def main(argv: list[str]) -> int:
    try:
        if argv[0] == "work":
            work(int(argv[1]))
        elif argv[0] == "breaker":
            open_breaker()
        elif argv[0] == "scrape":
            scrape()
        elif argv[0] == "dead":
            InfrastructureService.mark_metrics_process_dead(int(argv[1]))
            print("marked", flush=True)
        elif argv[0] == "migrate":
            InfrastructureService.migrate()
    except InfrastructureError as exc:
        print(f"error {type(exc).__name__}: {exc}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
