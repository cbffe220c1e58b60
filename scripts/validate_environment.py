#!/usr/bin/env python3
"""Start-up check: one line per component (config, database, cache, messaging, llm).

Exit status: 0 valid, 1 not valid, 2 usage error. ``--json`` prints the report as JSON.
Run from the repository root: ``python scripts/validate_environment.py [--json] [--timeout 5]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modules.infrastructure.module_api import EnvironmentStatus, InfrastructureService  # noqa: E402


def _positive(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds") from None
    if not 0 < value <= 300:
        raise argparse.ArgumentTypeError(f"{raw!r} must be greater than 0 and at most 300 seconds")
    return value


DESCRIPTION = "Check the infrastructure module's configuration and services, one line per component."


def parse_args(argv: list[str] | None, *, prog: str | None = None, description: str = DESCRIPTION) -> argparse.Namespace:
    """``--json`` and ``--timeout``; ``prog`` and ``description`` say which script is asking (``./scripts/run`` shares them)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--timeout", type=_positive, default=5.0, help="seconds allowed for each check (default 5)")
    return parser.parse_args(argv)


def render_text(status: EnvironmentStatus) -> str:
    verdict = "valid" if status.is_valid else "NOT VALID"
    lines = [f"Infrastructure start-up check: {verdict}"]
    for check in status:
        lines.append(f"  {check.name:<10} {check.status:<9} {check.detail}  ({check.elapsed_ms:.1f} ms)")
    for title, items in (("Errors", status.errors), ("Warnings", status.warnings)):
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  - {item}" for item in items)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # What the checks print (SQL with DB_ECHO=true, say) goes to stderr: stdout holds the report alone.
    with contextlib.redirect_stdout(sys.stderr):
        status = InfrastructureService.validate_environment(timeout=args.timeout)
    print(json.dumps(status.to_dict(), indent=2) if args.json else render_text(status))
    return 0 if status.is_valid else 1


if __name__ == "__main__":
    sys.exit(main())
