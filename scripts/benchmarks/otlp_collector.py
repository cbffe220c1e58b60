"""The tests' OTLP/HTTP receiver (``tests/integration/otlp_receiver.py``) in a process of its own, as a local collector.

    python -m scripts.benchmarks.otlp_collector    # prints its endpoint; each line read answers the counts so far

In the benchmark's process its threads would decode every export under the benchmark's GIL, a cost a
collector running beside the application does not put on it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any


class OtlpCollector:
    """``with OtlpCollector() as collector: collector.endpoint``; ``received()`` is what it has decoded so far."""

    module = "scripts.benchmarks.otlp_collector"

    def __enter__(self) -> OtlpCollector:
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.module], cwd=Path(__file__).resolve().parents[2], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        self.endpoint = self._process.stdout.readline().strip()
        return self

    def received(self) -> dict[str, Any]:
        """Export requests and spans received so far."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write("counts\n")
        self._process.stdin.flush()
        return dict(json.loads(self._process.stdout.readline()))

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.wait(10)


def serve() -> None:
    """Receive on a free port of 127.0.0.1, printing the endpoint first; answer the counts for each line read."""
    from tests.integration.otlp_receiver import OtlpReceiver

    with OtlpReceiver() as receiver:
        print(receiver.endpoint, flush=True)
        for _ in sys.stdin:
            print(json.dumps({"requests": receiver.requests, "spans": len(receiver.spans)}), flush=True)


if __name__ == "__main__":
    serve()
