"""Shared test setup: each test is marked with its layer, and nothing leaks between tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from modules.infrastructure.domain.config.settings import FEATURE_FLAG_PREFIX, SETTINGS_BY_NAME
from modules.infrastructure.module_api import InfrastructureService

TESTS = Path(__file__).resolve().parent
LAYERS = ("unit", "service", "integration")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test ``unit``, ``service`` or ``integration`` from its folder, so ``-m`` selects layers."""
    for item in items:
        layer = Path(str(item.fspath)).resolve().relative_to(TESTS).parts[0]
        if layer in LAYERS:
            item.add_marker(layer)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No module variable from the shell or a ``.env`` reaches the test; the facade starts fresh.

    The working directory is an empty temporary folder (returned), so the embedded SQLite file
    and any ``.env`` a test writes stay there.
    """
    for name in list(os.environ):
        if name in SETTINGS_BY_NAME or name.startswith(FEATURE_FLAG_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    InfrastructureService.reset()
    yield tmp_path
    InfrastructureService.reset()
