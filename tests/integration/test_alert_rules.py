"""The shipped Prometheus alerting rules: valid for promtool, unit-tested with promtool, and about series the module exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from modules.infrastructure.module_api import InfrastructureService
from modules.infrastructure.module_api.testing import fake_infrastructure
from tests.integration.services import services_required

ALERTS = Path(__file__).resolve().parents[2] / "modules" / "infrastructure" / "alerts"
RULES, RULE_TESTS = ALERTS / "infrastructure.rules.yml", ALERTS / "infrastructure.rules.test.yml"


def promtool() -> str:
    """promtool from Debian's prometheus package; skipped where it is not installed, failed under REQUIRE_SERVICES=1."""
    found = shutil.which("promtool")
    if found is None:
        reason = "promtool is not installed (Debian: apt-get install prometheus; .ci/run installs it)"
        if services_required():
            pytest.fail(f"{reason} [REQUIRE_SERVICES=1]", pytrace=False)
        pytest.skip(reason)
    return found


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *arguments], cwd=ALERTS, capture_output=True, text=True, timeout=120)


def test_promtool_finds_the_rules_valid() -> None:
    checked = run("check", "rules", RULES.name)
    assert checked.returncode == 0 and "SUCCESS: 12 rules found" in checked.stdout, checked.stdout + checked.stderr


def test_each_alert_fires_on_its_series_and_not_before() -> None:
    tested = run("test", "rules", RULE_TESTS.name)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


def test_every_series_the_rules_read_is_one_the_module_exports() -> None:
    used = set(re.findall(r"\b(infrastructure_[a-z_]+)", RULES.read_text()))
    with fake_infrastructure():
        exported = set(re.findall(r"^# TYPE (\S+) ", InfrastructureService.metrics_text(), re.MULTILINE))
    assert len(used) >= 10 and sorted(name for name in used if name not in exported) == []
