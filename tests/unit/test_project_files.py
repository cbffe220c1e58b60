"""Project files stay in step with the code: the settings table, .env.example, README, requirements."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from modules.infrastructure.domain.config.integration_settings import FIELDS as INTEGRATION_FIELDS
from modules.infrastructure.domain.config.settings import SETTINGS
from modules.infrastructure.infrastructure.config.module_discovery import discover_module_settings
from scripts.gen_config_docs import BEGIN, END, config_table, env_example

ROOT = Path(__file__).resolve().parents[2]
MODULE_SETTINGS = [s for table in discover_module_settings() for s in table]
NAMES = {s.name for s in SETTINGS} | {s.name for s in MODULE_SETTINGS}


def test_env_example_lists_every_variable_with_a_parsable_default() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    assert NAMES <= listed
    assert listed - NAMES <= {"FEATURE_FLAG_NEW_UI"}
    for setting in [*SETTINGS, *MODULE_SETTINGS]:
        if setting.default:
            setting.parse(setting.default)


def test_the_docs_list_the_modules_own_variables() -> None:
    assert {"CONTENT_CREATION_MAX_IMAGE_BYTES", "CONTENT_CREATION_MAX_TOPIC_LENGTH"} <= {s.name for s in MODULE_SETTINGS}
    assert "# --- module content_creation ---\n" in env_example()


def test_readme_configuration_table_lists_every_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = set(re.findall(r"^\| `([A-Z][A-Z0-9_<>]+)` \|", readme, re.MULTILINE))
    assert NAMES <= rows
    assert "FEATURE_FLAG_<NAME>" in rows
    assert {f"INTEGRATION_<NAME>_{suffix}" for suffix, *_ in INTEGRATION_FIELDS} <= rows


def test_env_example_and_readme_table_are_what_the_settings_table_generates() -> None:
    # Each number's range is part of its description: the docs must show the current bounds.
    assert (ROOT / ".env.example").read_text() == env_example(), "run scripts/gen_config_docs.py"
    assert f"{BEGIN}\n{config_table()}\n{END}" in (ROOT / "README.md").read_text(), "run scripts/gen_config_docs.py"


def test_setup_cfg_requires_what_requirements_txt_pins() -> None:
    pinned = {
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    required = {line.strip() for line in cfg["options"]["install_requires"].splitlines() if line.strip()}
    assert required == pinned
