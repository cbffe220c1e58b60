#!/usr/bin/env python3
"""The module's main job on whatever is configured (embedded defaults when nothing is):
migrate the database, then print the start-up report.

Run through ``./scripts/run``; exit status as ``validate_environment.py`` (0 valid, 1 not).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modules.infrastructure.module_api import InfrastructureError, InfrastructureService  # noqa: E402
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    migrated = migrate(sys.stderr if args.json else sys.stdout)
    status = InfrastructureService.validate_environment(timeout=args.timeout)
    print(json.dumps(status.to_dict(), indent=2) if args.json else render_text(status))
    return 0 if status.is_valid and migrated else 1


if __name__ == "__main__":
    sys.exit(main())
