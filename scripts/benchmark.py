#!/usr/bin/env python3
"""Measure each facade path against the raw library doing the same work, in the same run.

    python scripts/benchmark.py database [--json] [--ops 500] [--rounds 15]
    python scripts/benchmark.py http          # the HTTP integration client against a bare httpx2.Client()
    python scripts/benchmark.py repository_pages --rows 1000000   # benchmarks that fill a table take --rows

Prints operations per second per variant (median of interleaved rounds) and the ratios the
targets are stated in. Integration services are read from TEST_DATABASE_URL etc.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCHMARKS = ("database", "messaging", "outbox_latency", "outbox_batch", "listeners", "cache", "llm", "llm_chat", "llm_cold_start", "embed", "storage_local", "storage_s3", "storage_s3_memory", "http", "tracing", "repository_pages", "repository_bulk", "cache_stampede", "cache_cluster")


def render(report: dict[str, Any]) -> str:
    lines = [f"{report['benchmark']}: {report['work']}"]
    for name, result in report["results"].items():
        if "ops_per_second" in result:
            lines.append(f"  {name:<30} {result['ops_per_second']:>10,.0f} ops/s    {result['per_op_us']:>9.1f} us/op")
        elif "p50_ms" in result:
            lines.append(f"  {name:<30} p50 {result['p50_ms']:>8.2f} ms    p99 {result['p99_ms']:>8.2f} ms")
        elif "events_per_second" in result:
            lines.append(f"  {name:<30} {result['events_per_second']:>10,.0f} events/s")
        else:
            low, high = result["range_s"]
            lines.append(f"  {name:<30} {result['median_s']:>10.3f} s ({low:.3f}-{high:.3f})  {result['median_rss_mb']:>6.1f} MB")
    for name, value in report["ratios"].items():
        lines.append(f"  {name:<30} {value:>10.3f}")
    for name, spread in report.get("overhead_us_spread", {}).items():
        lines.append(f"  overhead per round, {name:<17} median {spread['median']:.1f} us (p25 {spread['p25']:.1f}, p75 {spread['p75']:.1f}, "
                     f"min {spread['min']:.1f}, max {spread['max']:.1f})")
    for note in report.get("notes", []):
        lines.append(f"  {note}")
    load = report.get("load_average")
    if load:
        lines.append(f"  load average before {load['before']}, after {load['after']} on {load['cpus']} CPUs")
    target = report.get("target")
    if target:
        wanted = ", ".join(f"{k} {v}" for k, v in target.items() if k != "met")
        lines.append(f"  target: {wanted} -> {'met' if target['met'] else 'NOT met'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark", choices=BENCHMARKS)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--ops", type=int, default=500, help="operations per variant per round")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds")
    parser.add_argument("--rows", type=int, help="table size, for the benchmarks that fill a table (repository_pages, repository_bulk)")
    args = parser.parse_args(argv)
    module = importlib.import_module(f"scripts.benchmarks.{args.benchmark}")
    extra = {} if args.rows is None else {"rows": args.rows}
    if extra and "rows" not in inspect.signature(module.run).parameters:
        parser.error(f"{args.benchmark} takes no --rows")
    report = module.run(args.ops, args.rounds, **extra)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
