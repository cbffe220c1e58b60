"""An application that installs its own OpenTelemetry SDK gets the module's spans in its traces, with no OTEL_* set.

Run in a child process: OpenTelemetry's global provider can be set once per process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text

from modules.infrastructure.module_api import InfrastructureService

with InfrastructureService.get_database_session() as db:   # before the application's SDK: nothing recorded
    db.execute(text("SELECT 1"))
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
app = trace.get_tracer("app")
with app.start_as_current_span("GET /home"):
    with InfrastructureService.get_database_session() as db:
        db.execute(text("SELECT 1"))
spans = {span.name: span for span in exporter.get_finished_spans()}
assert sorted(spans) == ["GET /home", "database session"], sorted(spans)
assert spans["database session"].parent.span_id == spans["GET /home"].context.span_id
print("ok")
"""


def test_the_modules_spans_join_the_applications_own_provider(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("")
    environment = {"DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}", "PATH": "/usr/bin:/bin", "ENV_FILE": str(tmp_path / ".env"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"
