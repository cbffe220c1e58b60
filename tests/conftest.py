"""Fixtures shared by the infrastructure's own tests (the layer marks come from the root ``conftest.py``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from modules.infrastructure.domain.config.settings import FEATURE_FLAG_PREFIX, SETTINGS_BY_NAME
from modules.infrastructure.infrastructure.config.module_discovery import discover_module_settings
from modules.infrastructure.domain.config.unknown_variables import known_names
from modules.infrastructure.module_api import InfrastructureService

TESTS = Path(__file__).resolve().parent
MODULE_VARIABLES = frozenset(s.name for table in discover_module_settings() for s in table)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No module variable from the shell or a ``.env`` reaches the test; the facade starts fresh.

    The working directory is an empty temporary folder (returned), so the embedded SQLite file
    and any ``.env`` a test writes stay there.
    """
    for name in list(os.environ):
        if name in SETTINGS_BY_NAME or name in MODULE_VARIABLES or name in known_names() or name.startswith(FEATURE_FLAG_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    InfrastructureService.reset()
    yield tmp_path
    InfrastructureService.reset()
