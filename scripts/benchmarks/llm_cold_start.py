"""LLM cold start: a fresh process's first ``execute_prompt`` against the raw ``openai`` client's first call.

A process that only calls the LLM must load only the LLM's own drivers: the time from the first
import to the first answer and the process's peak memory are compared, in fresh interpreters,
alternating, against a local server that answers at once. ``ops`` is unused: one call a process.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from scripts.benchmarks.instant_llm import InstantServer

ROOT = Path(__file__).resolve().parents[2]
MAX_TIME_RATIO = 1.5
FIRST_CALL = {
    "raw_openai": (
        "import openai\n"
        "client = openai.OpenAI(base_url=BASE_URL, api_key='bench')\n"
        "client.chat.completions.create(model='gpt-4o-mini', messages=[{'role': 'user', 'content': 'hi'}], max_tokens=16)\n"
    ),
    "facade": (
        "from modules.infrastructure.module_api import InfrastructureService, Prompt\n"
        "InfrastructureService.execute_prompt(Prompt('hi', parameters={'max_tokens': 16}))\n"
    ),
}
PROBE = (
    "import json, resource, sys, time\n"
    "BASE_URL = sys.argv[1]\n"
    "started = time.perf_counter()\n"
    "{call}"
    "seconds = time.perf_counter() - started\n"
    "loaded = sorted({{m.split('.')[0] for m in sys.modules}} & {{'sqlalchemy', 'redis', 'pika', 'xllamacpp', 'alembic'}})\n"
    "print(json.dumps([seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, loaded]))\n"
)


def run(ops: int, rounds: int) -> dict[str, Any]:
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in FIRST_CALL}
    loaded: dict[str, list[str]] = {}
    with InstantServer() as server:
        for round_number in range(rounds):
            order = list(FIRST_CALL) if round_number % 2 == 0 else list(reversed(FIRST_CALL))
            for name in order:
                seconds, rss_mb, loaded[name] = _first_call(name, server.base_url)
                samples[name].append((seconds, rss_mb))
    results = {name: _summary(values, loaded[name]) for name, values in samples.items()}
    time_ratio = results["facade"]["median_s"] / results["raw_openai"]["median_s"]
    return {
        "benchmark": "llm_cold_start",
        "work": f"a fresh process: first import to first chat completion, {rounds} processes a variant, alternating",
        "results": results,
        "ratios": {
            "facade_first_call_time_vs_raw": round(time_ratio, 3),
            "facade_peak_rss_vs_raw": round(results["facade"]["median_rss_mb"] / results["raw_openai"]["median_rss_mb"], 3),
        },
        "target": {
            "facade_first_call_time_vs_raw": f"< {MAX_TIME_RATIO:g}, no database, cache or broker driver loaded",
            "met": time_ratio < MAX_TIME_RATIO and not results["facade"]["drivers_loaded"],
        },
    }


def _first_call(name: str, base_url: str) -> tuple[float, float, list[str]]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "LLM_PROVIDER": "openai", "OPENAI_API_KEY": "bench"}
    env |= {"OPENAI_BASE_URL": base_url, "OPENAI_MODEL": "gpt-4o-mini"}
    code = PROBE.format(call=FIRST_CALL[name])
    with tempfile.TemporaryDirectory() as nowhere:  # no .env of the project's folder is read
        done = subprocess.run([sys.executable, "-c", code, base_url], cwd=nowhere, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"the {name} cold-start process failed: {done.stderr.strip()[-400:]}")
    seconds, rss_mb, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    return float(seconds), float(rss_mb), list(loaded)


def _summary(values: list[tuple[float, float]], loaded: list[str]) -> dict[str, Any]:
    seconds = [s for s, _ in values]
    rss = [m for _, m in values]
    return {
        "median_s": round(statistics.median(seconds), 3),
        "range_s": [round(min(seconds), 3), round(max(seconds), 3)],
        "median_rss_mb": round(statistics.median(rss), 1),
        "range_rss_mb": [round(min(rss), 1), round(max(rss), 1)],
        "drivers_loaded": loaded,
    }
