"""``scripts/trace_demo.py``: the main job's request as one trace, from the request to both listeners' reactions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_prints_one_tree_from_the_request_to_the_listeners_in_other_modules() -> None:
    done = subprocess.run([sys.executable, "scripts/trace_demo.py"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("trace ") and lines[1].startswith("- POST /questions [server")
    text = "\n".join(lines)
    for expected in (
        "  - content_creation create_question [internal",
        "    - chat SmolLM2-135M-Instruct [client",
        "      - create content_creation.events [producer",
        "        - process content.question_created [consumer, ",
        "handler learning.add_to_practice]",
        "handler content_creation.notify_webhook]",
        "          - POST [client",
    ):
        assert expected in text, text
