#!/usr/bin/env python3
"""The module's main job on whatever is configured (embedded defaults when nothing is):
migrate the database, run a sample prompt (the embedded model by default), then print the start-up report.

Run through ``./scripts/run``; exit status as ``validate_environment.py`` (0 valid, 1 not).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modules.infrastructure.module_api import (  # noqa: E402
    InfrastructureError,
    InfrastructureService,
    Prompt,
    PromptContext,
)
from scripts.validate_environment import parse_args, render_text  # noqa: E402


def migrate(out: TextIO) -> bool:
    """Bring the primary database to the newest migrations; False (with the reason) when it cannot."""
    try:
        status = InfrastructureService.migrate()
    except InfrastructureError as exc:
        print(f"Migrations not applied: {exc}", file=out)
        return False
    print(f"Database migrated: at {', '.join(status.current) or 'base (no migrations yet)'}", file=out)
    return True


SAMPLE = Prompt("Name three {things}.", name="sample", version="1", parameters={"max_tokens": 24, "temperature": 0})


def sample_prompt(out: TextIO) -> None:
    """Run one prompt through the facade and print the answer, its token usage and latency."""
    try:
        response = InfrastructureService.execute_prompt(SAMPLE, PromptContext({"things": "colors"}, module="main", use_cache=False))
    except InfrastructureError as exc:
        print(f"Sample prompt failed: {exc}", file=out)
        return
    meta, usage = response.metadata, response.usage_stats
    print(f"Sample prompt on {meta['provider']} ({meta['model']}): {SAMPLE.template.format(things='colors')!r}", file=out)
    for line in response.content.strip().splitlines():
        print(f"  | {line}", file=out)
    cost = "unknown" if usage.cost_usd is None else f"${usage.cost_usd:.6f}"
    print(
        f"  tokens {usage.prompt_tokens} in + {usage.completion_tokens} out, "
        f"latency {meta['latency_ms']:.0f} ms, {meta['attempts']} attempt(s), cost {cost}",
        file=out,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    migrated = migrate(sys.stderr if args.json else sys.stdout)
    sample_prompt(sys.stderr if args.json else sys.stdout)
    status = InfrastructureService.validate_environment(timeout=args.timeout)
    print(json.dumps(status.to_dict(), indent=2) if args.json else render_text(status))
    return 0 if status.is_valid and migrated else 1


if __name__ == "__main__":
    sys.exit(main())
