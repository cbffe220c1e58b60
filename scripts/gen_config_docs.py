#!/usr/bin/env python3
"""Rewrite .env.example and the README configuration table from the settings tables.

Run after adding a variable: ``python scripts/gen_config_docs.py``. The unit tests fail
when either file is out of step with ``domain/config/settings.py`` or a module's ``modules/<name>/settings.py``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from modules.infrastructure.domain.config.integration_settings import FIELDS as INTEGRATION_FIELDS  # noqa: E402
from modules.infrastructure.domain.config.integration_settings import INTEGRATION_PREFIX  # noqa: E402
from modules.infrastructure.domain.config.parsers import Bounded  # noqa: E402
from modules.infrastructure.domain.config.settings import DEFAULT_DATABASE_URL, SETTINGS  # noqa: E402
from modules.infrastructure.infrastructure.config.module_discovery import discover_module_settings  # noqa: E402

BEGIN, END = "<!-- config-table:begin -->", "<!-- config-table:end -->"
INTEGRATION_GROUP = "integrations: one set per outside service, <NAME> in upper case (INTEGRATION_CRM_BASE_URL)"
FLAG_DOC = 'FEATURE_FLAG_<NAME>=true|false; read with InfrastructureService.is_feature_enabled("<name>")'


@dataclass(frozen=True)
class Row:
    """One documented variable, the infrastructure's or a module's (its group is the module's name)."""

    name: str
    default: str | None
    description: str
    group: str


def documented() -> list[Row]:
    """The infrastructure's variables, then each module's, in the order of their tables."""
    own = [Row(s.name, s.default, s.description, s.group) for s in SETTINGS]
    integrations = [Row(f"{INTEGRATION_PREFIX}<NAME>_{suffix}", default, _ranged(doc, parse), INTEGRATION_GROUP) for suffix, default, doc, parse in INTEGRATION_FIELDS]
    return own + integrations + [Row(s.name, s.default, s.documented, f"module {t.module}") for t in discover_module_settings() for s in t]


def _ranged(doc: str, parse: object) -> str:
    """A number's description ends with its range, as the settings table's do."""
    return f"{doc}; {parse.limits}" if isinstance(parse, Bounded) and parse.limits else doc


def env_example() -> str:
    lines = [
        "# Every variable the infrastructure module and the modules beside it read, with its safe development default.",
        "# Copy to .env and edit. Real environment variables win over this file; an empty value means unset.",
        "# With nothing set the module runs offline: SQLite, in-memory cache, outbox, embedded local model.",
    ]
    group = None
    for setting in documented():
        if setting.group != group:
            group = setting.group
            lines += ["", f"# --- {group} ---"]
        lines.append(f"# {setting.description}")
        if setting.name == "ENV_FILE":
            lines.append(f"# {setting.name}={setting.default}   (read from the real environment only)")
        elif setting.group == INTEGRATION_GROUP:
            lines.append(f"# {setting.name}={setting.default or ''}")
        else:
            lines.append(f"{setting.name}={setting.default or ''}")
    lines += ["", "# --- feature flags ---", f"# {FLAG_DOC}", "FEATURE_FLAG_NEW_UI=false", ""]
    return "\n".join(lines)


def config_table() -> str:
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for setting in documented():
        if setting.default:
            default = f"`{setting.default}`"
        elif setting.name == "DATABASE_URL":
            default = f"`{DEFAULT_DATABASE_URL}` (development)"
        else:
            default = "unset"
        rows.append(f"| `{setting.name}` | {default} | {setting.description} |")
    rows.append(
        "| `FEATURE_FLAG_<NAME>` | unset | `true`/`false` (also `1/0`, `yes/no`, `on/off`); "
        'read with `is_feature_enabled("<name>")` |'
    )
    return "\n".join(rows)


def main() -> int:
    (ROOT / ".env.example").write_text(env_example())
    readme = ROOT / "README.md"
    text = readme.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        print(f"README.md has no {BEGIN} ... {END} block", file=sys.stderr)
        return 1
    readme.write_text(pattern.sub(lambda _: f"{BEGIN}\n{config_table()}\n{END}", text))
    print("Wrote .env.example and the README configuration table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
