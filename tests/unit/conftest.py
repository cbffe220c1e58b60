"""Fixtures shared by the unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, so ``.env`` means a file the test writes (or none from elsewhere)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
