#!/usr/bin/env python3
"""One trace of the main job, printed as a tree: a request to content_creation, its LLM call, the question stored
and announced, learning's listener and content_creation's webhook reacting to the event.

A local OTLP/HTTP receiver on 127.0.0.1 stands in for the collector (``OTEL_EXPORTER_OTLP_ENDPOINT`` points at it);
everything else runs on the embedded defaults, in a scratch folder. ``.venv/bin/python scripts/trace_demo.py``
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.otlp_receiver import OtlpReceiver  # noqa: E402

REQUEST = "POST /questions"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="trace-demo-") as scratch, OtlpReceiver() as receiver:
        (Path(scratch) / ".env").write_text("")  # the demo's settings only, not the checkout's .env
        os.environ.update(
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_SERVICE_NAME="learning-platform", OTEL_BSP_SCHEDULE_DELAY="200",
            DATABASE_URL=f"sqlite:///{scratch}/demo.db", STORAGE_URL=f"{scratch}/storage", ENV_FILE=f"{scratch}/.env",
        )
        from modules.content_creation.module_api import QuestionService
        from modules.infrastructure.module_api import InfrastructureService
        from modules.learning.module_api import PracticePool
        from scripts.main import listen, migrate
        from scripts.webhook_demo import stand_in_webhook, webhook_delivery

        webhook = stand_in_webhook()
        trace = None
        try:
            ok = migrate(sys.stderr) and listen(sys.stderr)
            print("Asking the embedded model for a question (its first call starts it)...", file=sys.stderr, flush=True)
            with InfrastructureService.trace(REQUEST, kind="server", attributes={"http.request.method": "POST", "http.route": "/questions"}) as span:
                trace = span.trace_context
                created = QuestionService.create_question("the solar system")
            deadline = time.monotonic() + 15
            while PracticePool.entry_for(created.question_id) is None and time.monotonic() < deadline:
                time.sleep(0.05)  # learning's listener runs on its worker thread after the commit
            print(webhook_delivery(webhook, created.event_id), file=sys.stderr)
        finally:
            if webhook is not None:
                webhook.close()
            InfrastructureService.shutdown()  # sends the spans still waiting
        if not ok or trace is None:
            print("The flow did not complete; no trace to show", file=sys.stderr)
            return 1
        receiver.wait_for(lambda spans: any(s.trace_id == trace.trace_id and s.name == REQUEST for s in spans))
        print(receiver.tree(trace.trace_id))
    return 0


if __name__ == "__main__":
    sys.exit(main())
